"""Large results into a DataFrame: nlsql (Arrow, and JSON forced) beside `pandas.read_sql`.

    .venv/bin/python -m benchmarks.big_results [--rows 180000 1000000] [--trials 5]

A temporary SQLite file `facts(id, region, product, amount, day)` of the largest `--rows` rows
(as benchmarks/head_of_line.py makes it) is served by real `nlsql serve` processes on loopback,
one per way of receiving so each server's peak memory is its own. Two kinds of trial, each in
a fresh process that imports pandas and pyarrow first (not timed):

- in a client process, until the whole result is a DataFrame: `pandas.read_sql` (`sqlite3` +
  `pd.read_sql("SELECT * FROM facts ORDER BY id LIMIT N")`); `nlsql arrow`:
  `HybridClient.call("sql.run", …)` over the WebSocket (Arrow frames) + `Answer.df`; `nlsql
  json`: the same with `ClientConfig(arrow=False)`, the rows as JSON, as before Arrow;
- in a real IPython kernel (jupyter_client, as JupyterLab runs it; its start not counted), a
  cell from execute to idle: `df = pd.read_sql(…); df` beside `%%ask --db big --limit N` /
  `list all facts` (the offline engine writes the same SELECT; the cell shows the SQL and the
  first 20 rows, `_.df` holds them all), with Arrow and with `%config AskMagics.arrow = False`;
  after the same cell for 10 rows (not timed: a kernel's first answer, its imports, session and
  connection, is what benchmarks/first_answer.py measures).

After one untimed warm-up trial each (the page cache, a server's first imports), trials are
interleaved (pandas, arrow, json, pandas, …) so load on the machine hits all alike;
ratios are of medians, to pandas' of the same kind. Peak memory is the client process's or
kernel's peak RSS (`ru_maxrss`, its imports included) and the server's (`VmHWM`). Goals
(issue 13): Arrow ≤ 1.5× pandas' time, ≤ 1.3× its peak memory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.head_of_line import make_database
from benchmarks.transport import serving

#: (kind, receiving): kind `process` or `kernel`; receiving `pandas`, `arrow` or `json`.
CONTENDERS = tuple(
    (kind, how) for kind in ("process", "kernel") for how in ("pandas", "arrow", "json")
)
REPO = Path(__file__).resolve().parent.parent
_PEAK = "import resource; print(len(_df), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"


def query(rows: int) -> str:
    return f"SELECT * FROM facts ORDER BY id LIMIT {rows}"


def kernel_trial(how: str, target: str, rows: int) -> dict[str, Any]:
    """One cell in a fresh kernel: seconds from execute to idle, and the kernel's peak."""
    from jupyter_client.manager import start_new_kernel

    from benchmarks.notebook_latency import run_cell

    if how == "pandas":
        setup = "import sqlite3\nimport pandas as pd\nimport pyarrow\n"
        cell = f"df = pd.read_sql({query(rows)!r}, sqlite3.connect({target!r}))\ndf"
        warm = cell.replace(str(rows), "10")
        frame = "df"
    else:
        setup = f"import pandas, pyarrow\n%load_ext nlsql_jupyter\n%nlsql connect {target}\n"
        setup += "%config AskMagics.arrow = False\n" * (how == "json")
        cell = f"%%ask --db big --limit {rows}\nlist all facts"
        warm = cell.replace(str(rows), "10")
        frame = "_.df"
    manager, kernel = start_new_kernel(
        kernel_name="python3", cwd=str(REPO), stderr=subprocess.DEVNULL
    )
    try:
        run_cell(kernel, setup)
        run_cell(kernel, warm)  # the first cell's costs are benchmarks/first_answer.py's
        timed, _ = run_cell(kernel, cell, timeout=600)
        _, outputs = run_cell(kernel, f"_df = {frame}\n{_PEAK}")
    finally:
        kernel.stop_channels()
        manager.shutdown_kernel(now=True)
    got, peak_kb = outputs[-1]["text"].split()
    return {"seconds": timed.idle, "rows": int(got), "peak_mb": int(peak_kb) / 1024}


def client(contender: str, target: str, rows: int) -> dict[str, Any]:
    """One trial, in this (fresh) process: seconds to a DataFrame, and the process's peak."""
    import resource
    import sqlite3

    import pandas as pd
    import pyarrow  # noqa: F401  (imported by every contender alike, before the clock)

    from nlsql_jupyter.answer import Answer
    from nlsql_jupyter.client import ClientConfig, HybridClient

    started = time.perf_counter()
    if contender == "pandas":
        with sqlite3.connect(target) as db:
            frame = pd.read_sql(query(rows), db)
    else:
        config = ClientConfig(target, arrow=contender == "arrow", ask_timeout=600, timeout=600)
        with HybridClient(config) as nlsql:
            result = nlsql.call("sql.run", {"database": "big", "sql": query(rows)})
            frame = Answer.from_result(result | {"question": "", "sql": ""}).df
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "rows": len(frame), "peak_mb": peak_kb / 1024}


def trial(contender: tuple[str, str], target: str, rows: int) -> dict[str, Any]:
    kind, how = contender
    if kind == "kernel":
        figures = kernel_trial(how, target, rows)
    else:
        figures = process_trial(how, target, rows)
    if figures["rows"] != rows:
        raise SystemExit(f"{kind} {how} got {figures['rows']} rows, not {rows}")
    return figures


def process_trial(contender: str, target: str, rows: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.big_results", "--client", contender, target, str(rows)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    figures: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return figures


def server(config: Path, rows: int, log: Path) -> Any:
    """A fresh `nlsql serve` on a free port serving `config`: (its URL, its pid)."""
    return serving(
        log,
        {
            "NLSQL_DATABASES": str(config),
            "NLSQL_SAMPLES": "false",
            "NLSQL_ROW_LIMIT": str(rows),
            "NLSQL_MAX_RESULT_BYTES": str(1 << 30),
            "NLSQL_QUERY_TIMEOUT": "300",
        },
    )


def peak_mb(pid: int) -> float:
    """A process's peak resident memory (`VmHWM`), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[180_000, 1_000_000])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--client", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        contender, target, rows = args.client
        print(json.dumps(client(contender, target, int(rows))))
        return
    with tempfile.TemporaryDirectory(prefix="nlsql-big-") as tmp:
        directory = Path(tmp)
        config = make_database(directory, max(args.rows))
        path = str(directory / "big.sqlite")
        log = directory / "serve.log"
        print(
            f"{'rows':>9} {'contender':<26} {'median s':>9} {'x pandas':>9} "
            f"{'peak MB':>8} {'x pandas':>9} {'server MB':>10} {'n':>3}",
            flush=True,
        )
        for rows in args.rows:
            with (
                server(config, rows, log) as arrow_server,
                server(config, rows, log) as json_server,
            ):
                urls = {"pandas": path, "arrow": arrow_server[0], "json": json_server[0]}
                for contender in CONTENDERS:  # warm: page cache, the server's first imports
                    trial(contender, urls[contender[1]], rows)
                runs: dict[tuple[str, str], list[dict[str, Any]]] = {c: [] for c in CONTENDERS}
                for _ in range(args.trials):
                    for contender in CONTENDERS:
                        runs[contender].append(trial(contender, urls[contender[1]], rows))
                servers = {"arrow": peak_mb(arrow_server[1]), "json": peak_mb(json_server[1])}
            seconds = {c: statistics.median(r["seconds"] for r in runs[c]) for c in CONTENDERS}
            memory = {c: statistics.median(r["peak_mb"] for r in runs[c]) for c in CONTENDERS}
            for kind, how in CONTENDERS:
                base = (kind, "pandas")
                label = (
                    f"{kind}: "
                    + {
                        "pandas": "pandas.read_sql",
                        "arrow": "nlsql, Arrow",
                        "json": "nlsql, JSON",
                    }[how]
                )
                server_mb = f"{servers[how]:>10.0f}" if how in servers else f"{'—':>10}"
                print(
                    f"{rows:>9,} {label:<26} {seconds[kind, how]:>9.2f} "
                    f"{seconds[kind, how] / seconds[base]:>9.2f} {memory[kind, how]:>8.0f} "
                    f"{memory[kind, how] / memory[base]:>9.2f} {server_mb} {args.trials:>3}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
