"""The first answer in a fresh kernel, beside JupySQL and pandas, then warm cells.

    .venv/bin/pip install -e '.[bench]'        # JupySQL, the peer measured against
    .venv/bin/python -m benchmarks.first_answer [--trials 5] [--warm 10]

Each trial starts three fresh IPython kernels (jupyter_client, as JupyterLab does; the kernel
start itself is not counted) and times, from the first execute request to the kernel going idle:

- nlsql-jupyter: `%load_ext nlsql_jupyter`, then the first `%%ask --db retail` (on its embedded
  default: the cell starts the bundled server, the engine and the chart renderer as needed);
- JupySQL: `%load_ext sql`, then the first `%%sql sqlite:///…` with the SQL `%%ask` writes;
- pandas: `import sqlite3, pandas`, then `pd.read_sql` of that SQL, shown as a DataFrame.

The sample databases are generated beforehand (as after a first use). `--pause` waits that many
seconds between the two cells, as a user writing the question does (default 0: "Run All"). "shown" is until the
answer is on screen (the last new output; later in-place updates such as a chart's static SVG
not counted), "done" until the cell is idle. Then each kernel, now warm, runs the same cell
`--warm` more times, interleaved, for p50/p95. Trials are interleaved too (ask, sql, pandas,
ask, …) so load on the machine hits all alike. Ratios are of medians, to JupySQL's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.manager import start_new_kernel
from nlsql_server.samples import ensure_sample
from nlsql_server.settings import Settings

from benchmarks.notebook_latency import REPO, CellTime, check, percentile, run_cell

QUESTION = "Show me the top 5 customers by total purchase amount"


@dataclass(frozen=True)
class Contender:
    """What a user of one tool runs: the set-up cell, then the cell that answers."""

    label: str
    setup: str
    cell: str


@dataclass
class Timings:
    """One contender's figures over all trials (seconds)."""

    setup: list[float] = field(default_factory=list)
    first: list[CellTime] = field(default_factory=list)
    warm: list[CellTime] = field(default_factory=list)

    def first_shown(self) -> list[float]:
        return [s + f.shown for s, f in zip(self.setup, self.first, strict=True)]

    def first_done(self) -> list[float]:
        return [s + f.idle for s, f in zip(self.setup, self.first, strict=True)]


def written_sql(question: str) -> str:
    """The SQL `%%ask` writes for `question` (the offline engine is deterministic), asked
    through the CLI in a separate process so this one imports nothing of the server's."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "nlsql_server",
            "ask",
            "--db",
            "retail",
            "--format",
            "json",
            question,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return str(json.loads(out)["sql"])


def contenders(sql: str, path: str) -> dict[str, Contender]:
    return {
        "ask": Contender(
            "nlsql-jupyter %%ask", "%load_ext nlsql_jupyter", f"%%ask --db retail\n{QUESTION}"
        ),
        "sql": Contender(
            "JupySQL %%sql, same SQL", "%load_ext sql", f"%%sql sqlite:///{path}\n{sql}"
        ),
        "pandas": Contender(
            "pandas.read_sql, same SQL",
            f"import sqlite3, pandas as pd\nconnection = sqlite3.connect({path!r})",
            f"pd.read_sql({sql!r}, connection)",
        ),
    }


def trial(
    cells: dict[str, Contender], timings: dict[str, Timings], warm: int, pause: float
) -> None:
    """Fresh kernels, first cells timed one kernel after the other, then warm rounds."""
    kernels: dict[str, tuple[Any, Any]] = {}
    try:
        for name, contender in cells.items():
            manager, client = start_new_kernel(kernel_name="python3", cwd=str(REPO))
            kernels[name] = (manager, client)
            setup, _ = run_cell(client, contender.setup)
            time.sleep(pause)
            first, outputs = run_cell(client, contender.cell)
            check(contender.label, outputs)
            timings[name].setup.append(setup.idle)
            timings[name].first.append(first)
        for _ in range(warm):
            for name, contender in cells.items():
                timings[name].warm.append(run_cell(kernels[name][1], contender.cell)[0])
    finally:
        for manager, client in kernels.values():
            client.stop_channels()
            manager.shutdown_kernel(now=True)


def report(cells: dict[str, Contender], timings: dict[str, Timings], args: Any) -> None:
    med = statistics.median
    base = timings["sql"]
    print(
        f"{args.trials} trials, fresh kernels each (kernel start not counted), "
        f"then {args.warm} warm cells per kernel; {args.pause:g} s pause before the first; "
        "ms, ratios of medians to JupySQL's"
    )
    print(
        "first = the set-up cell + the first answering cell (median); shown: the answer on "
        "screen; done: the cell idle"
    )
    print(
        f"{'cell':<28}{'setup':>7}{'first shown':>13}{'÷':>6}{'first done':>12}{'÷':>6}"
        f"{'warm shown':>12}{'warm done':>11}{'p95':>7}{'÷':>6}"
    )
    base_warm = med(w.idle for w in base.warm) if base.warm else float("nan")
    for name, contender in cells.items():
        t = timings[name]
        shown, done = med(t.first_shown()), med(t.first_done())
        warm_shown = [w.shown for w in t.warm] or [float("nan")]
        warm_done = [w.idle for w in t.warm] or [float("nan")]
        print(
            f"{contender.label:<28}{med(t.setup) * 1000:>7.0f}"
            f"{shown * 1000:>13.0f}{shown / med(base.first_shown()):>6.2f}"
            f"{done * 1000:>12.0f}{done / med(base.first_done()):>6.2f}"
            f"{med(warm_shown) * 1000:>12.1f}{med(warm_done) * 1000:>11.1f}"
            f"{percentile(warm_done, 95) * 1000:>7.1f}{med(warm_done) / base_warm:>6.2f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5, help="fresh kernels per contender")
    parser.add_argument("--warm", type=int, default=10, help="warm cells per kernel and trial")
    parser.add_argument(
        "--pause", type=float, default=0.0, help="seconds between the set-up and the first cell"
    )
    args = parser.parse_args()

    path = str(ensure_sample("retail", Settings().data_dir))
    cells = contenders(written_sql(QUESTION), path)
    timings = {name: Timings() for name in cells}
    started = time.perf_counter()
    for _ in range(args.trials):
        trial(cells, timings, args.warm, args.pause)
    report(cells, timings, args)
    print(f"({time.perf_counter() - started:.0f} s, {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
