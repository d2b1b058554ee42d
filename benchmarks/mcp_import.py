"""What the lazy MCP SDK saves a server's start, in fresh interpreters.

    .venv/bin/python benchmarks/mcp_import.py [--runs 7]

Each run starts a new Python that imports `nlsql_server.app` and builds the app (what the
kernel's embedded server does before its first answer), then imports the MCP SDK as the first
`/mcp` request or `tools.list` would. Prints the median and spread of both, and whether the
SDK was loaded before it was needed (it must not be).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

_PROBE = """
import json, sys, time
started = time.perf_counter()
from nlsql_server.app import create_app
from nlsql_server.settings import Settings
create_app(Settings())
built = time.perf_counter()
loaded = "mcp" in sys.modules
import mcp.server.mcpserver
print(json.dumps({"app": built - started, "sdk": time.perf_counter() - built, "early": loaded}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    seen = [
        json.loads(
            subprocess.run(
                [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    print(
        f"{'fresh interpreter, ' + str(runs) + ' runs':<44} {'median s':>9} {'min s':>7} {'max s':>7}"
    )
    for key, label in (
        ("app", "import nlsql_server.app + create_app"),
        ("sdk", "then import the MCP SDK (saved until used)"),
    ):
        values = [s[key] for s in seen]
        print(
            f"{label:<44} {statistics.median(values):>9.3f} {min(values):>7.3f} {max(values):>7.3f}"
        )
    print(f"SDK loaded before it was needed: {sum(s['early'] for s in seen)} of {runs} runs")


if __name__ == "__main__":
    main()
