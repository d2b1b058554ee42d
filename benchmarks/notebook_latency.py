"""`%%ask` beside what an analyst would use instead, in one real kernel, interleaved.

    .venv/bin/pip install -e '.[bench]'        # JupySQL, the peer measured against
    .venv/bin/python benchmarks/notebook_latency.py [--runs 30]

Starts one real IPython kernel (jupyter_client, as JupyterLab does), loads nlsql-jupyter on
its embedded default and JupySQL on the same SQLite file, then times whole cells, from the
execute request to the kernel going idle with every output received:

- `%%ask` with its chart (Vega-Lite + the static SVG for exports), and with `--no-chart`;
- JupySQL's `%%sql` with the SQL that `%%ask` wrote (same query, same file);
- `pandas.read_sql` of that SQL over a `sqlite3` connection, shown as a DataFrame.

Rounds are interleaved (ask, sql, pandas, ask, …) so load on the machine hits all alike. Prints,
for each, the median time until the answer is on screen and until the cell is done (p90 too),
and each median as a ratio to JupySQL's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.manager import start_new_kernel
from nlsql_server.samples import ensure_sample
from nlsql_server.settings import Settings

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = (
    "Show me the top 5 customers by total purchase amount",
    "What is the average order value per month for 2024?",
    "revenue by category",
)


@dataclass(frozen=True)
class CellTime:
    """Seconds from the execute request until the last new output arrived (the answer is on
    screen; later in-place updates, such as a chart's static copy, not counted) and until the
    kernel was idle again."""

    shown: float
    idle: float


def run_cell(
    client: Any, code: str, timeout: float = 120.0
) -> tuple[CellTime, list[dict[str, Any]]]:
    """Execute `code`; return its `CellTime` and its outputs."""
    started = time.perf_counter()
    shown = started
    msg_id = client.execute(code, store_history=True)
    outputs: list[dict[str, Any]] = []
    deadline = started + timeout
    while True:
        try:
            msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.perf_counter()))
        except Empty:
            raise TimeoutError(f"no answer in {timeout} s to {code!r}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            idle = time.perf_counter()
            break
        if kind == "error":
            raise RuntimeError("\n".join(msg["content"]["traceback"]))
        if kind in ("display_data", "execute_result", "stream"):
            shown = time.perf_counter()
            outputs.append(msg["content"])
    client.get_shell_msg(timeout=timeout)  # the execute_reply
    return CellTime(shown - started, idle - started), outputs


def check(name: str, outputs: list[dict[str, Any]]) -> None:
    """Each contender must really show the result table: a benchmark of an error is none."""
    texts = [str(o.get("text", "")) for o in outputs]
    htmls = [str(o.get("data", {}).get("text/html", "")) for o in outputs]
    if any("Error" in text for text in texts) or not any("<table" in h for h in htmls):
        raise RuntimeError(f"{name} did not show a result table: {texts or htmls}")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="rounds per question")
    args = parser.parse_args()

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(REPO))
    try:
        path = ensure_sample("retail", Settings().data_dir)
        run_cell(client, "%load_ext nlsql_jupyter")
        run_cell(
            client, f"import sqlite3, pandas as pd\nconnection = sqlite3.connect({str(path)!r})"
        )
        run_cell(client, "%load_ext sql")
        run_cell(client, "%config SqlMagic.displaylimit = 20\n%config SqlMagic.feedback = 0")
        run_cell(client, f"%sql sqlite:///{path}")
        timings: dict[str, list[CellTime]] = {
            "ask": [],
            "ask_no_chart": [],
            "sql": [],
            "pandas": [],
        }
        for question in QUESTIONS:
            # warm: the first answer starts the embedded server and the chart renderer
            run_cell(client, f"%%ask --db retail --out warm\n{question}")
            run_cell(client, "open('.tmp/bench-sql.txt', 'w').write(warm.sql)")
            sql = (REPO / ".tmp" / "bench-sql.txt").read_text()
            cells = {
                "ask": f"%%ask --db retail\n{question}",
                "ask_no_chart": f"%%ask --db retail --no-chart\n{question}",
                "sql": f"%%sql\n{sql}",
                "pandas": f"pd.read_sql({sql!r}, connection)",
            }
            for name, cell in cells.items():
                check(name, run_cell(client, cell)[1])
            for _ in range(args.runs):
                for name, cell in cells.items():
                    timings[name].append(run_cell(client, cell)[0])
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    base = {
        "shown": statistics.median(t.shown for t in timings["sql"]),
        "idle": statistics.median(t.idle for t in timings["sql"]),
    }
    print(f"{len(QUESTIONS)} questions × {args.runs} interleaved rounds, one real kernel")
    print("shown: the answer on screen; idle: the cell done (for %%ask, the chart's static copy)")
    print(
        f"{'cell':<30}{'shown p50':>10}{'÷ %%sql':>9}{'idle p50':>10}{'idle p90':>10}{'÷ %%sql':>9}"
    )
    labels = {
        "ask": "%%ask (chart + static SVG)",
        "ask_no_chart": "%%ask --no-chart",
        "sql": "JupySQL %%sql, same SQL",
        "pandas": "pandas.read_sql, same SQL",
    }
    for name, label in labels.items():
        shown = statistics.median(t.shown for t in timings[name])
        idle = [t.idle for t in timings[name]]
        print(
            f"{label:<30}{shown * 1000:>10.1f}{shown / base['shown']:>9.2f}"
            f"{statistics.median(idle) * 1000:>10.1f}{percentile(idle, 90) * 1000:>10.1f}"
            f"{statistics.median(idle) / base['idle']:>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
