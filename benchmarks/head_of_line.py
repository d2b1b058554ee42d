"""Head-of-line blocking: what a second client waits while others keep the server busy.

    .venv/bin/python benchmarks/head_of_line.py [--slow 200] [--rows 1000000] [--samples 50]

Against a real `nlsql serve` process on loopback (a fresh one per scenario), with a temporary
SQLite database generated on the fly (`--rows` rows × 5 columns):

1. `--slow` clients (one WebSocket each) start a query that counts for minutes; meanwhile a
   second client calls `ping` and `schema.tables`, one after the other, and times each;
2. one client pulls the whole table (`--rows` rows) as one `sql.run`, as JSON, then (on a
   fresh server) as Arrow (`arrow: true`); meanwhile a second client pings every 10 ms.

Prints p50 / p99 / max per call (ms). Goals (issue 13): `ping` p99 ≤ 50 ms, `schema.tables`
p99 ≤ 100 ms. Run it with another checkout's code on `PYTHONPATH` for its "before" figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from benchmarks.transport import serving

SLOW_SQL = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000000) "
    "SELECT COUNT(*) FROM c"
)


def make_database(directory: Path, rows: int) -> Path:
    """`big.sqlite`: one table `facts(id, region, product, amount, day)` of `rows` rows."""
    path = directory / "big.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE facts (id INTEGER PRIMARY KEY, region TEXT, product TEXT, "
            "amount REAL, day TEXT)"
        )
        db.execute(
            "INSERT INTO facts WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c "
            f"WHERE n < {rows}) SELECT n, 'region ' || (n % 7), 'product ' || (n % 101), "
            "(n % 1000) * 1.25, date('2024-01-01', '+' || (n % 365) || ' days') FROM c"
        )
    config = directory / "databases.toml"
    config.write_text(f'[databases.big]\nurl = "sqlite:///{path}"\n')
    return config


@asynccontextmanager
async def server(config: Path, rows: int, log: Path) -> AsyncIterator[str]:
    """A fresh `nlsql serve` on a free port serving `config`: its WebSocket URL."""
    env = {
        "NLSQL_DATABASES": str(config),
        "NLSQL_SAMPLES": "false",
        "NLSQL_QUERY_TIMEOUT": "20",  # the slow queries end by their time limit
        "NLSQL_ROW_LIMIT": str(rows),
    }
    with serving(log, env) as (url, _):  # its start blocks the loop: nothing else runs yet
        yield url.replace("http://", "ws://") + "/ws"


class Client:
    """One WebSocket with a reader task that hands each response to its caller."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.next_id = 0
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):  # closed at the end of a scenario
            async for text in self.ws:
                message = json.loads(text)
                future = self.waiting.pop(message.get("id"), None)
                if future is not None and not future.done():
                    future.set_result(message)

    async def call(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = future
        body = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params or {}}
        await self.ws.send(json.dumps(body))
        return await future

    def start(self, method: str, params: dict[str, Any]) -> asyncio.Task[dict[str, Any]]:
        return asyncio.ensure_future(self.call(method, params))


#: Seconds a probe waits for one answer; a call that gets none counts as this long, and the
#: probe stops there (the server is not answering that kind of call at all).
PATIENCE = 60.0


async def timed(client: Client, method: str, params: dict[str, Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        try:
            reply = await asyncio.wait_for(client.call(method, params), timeout=PATIENCE)
        except TimeoutError:
            return [*out, PATIENCE * 1000]
        out.append((time.perf_counter() - started) * 1000)
        if "error" in reply:
            raise SystemExit(f"{method} failed: {reply['error']}")
    return out


def _code(reply: dict[str, Any]) -> str | None:
    return reply.get("error", {}).get("data", {}).get("code")


def figures(name: str, ms: list[float]) -> str:
    ordered = sorted(ms)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return (
        f"{name:<52} {statistics.median(ordered):>9.1f} {p99:>9.1f} {ordered[-1]:>9.1f}"
        f" {len(ordered):>6}"
    )


async def slow_queries(url: str, slow: int, samples: int) -> list[str]:
    async with AsyncExitStack() as stack:
        busy = [
            Client(await stack.enter_async_context(connect(url, ping_interval=None)))
            for _ in range(slow)
        ]
        running = [c.start("sql.run", {"database": "big", "sql": SLOW_SQL}) for c in busy]
        await asyncio.sleep(1.0)  # let them reach the database
        probe = Client(await stack.enter_async_context(connect(url, ping_interval=None)))
        pings = await timed(probe, "ping", {}, samples)
        tables = await timed(probe, "schema.tables", {"database": "big"}, samples)
        refused = sum(1 for task in running if task.done() and _code(task.result()) == "too_busy")
        for task in running:
            task.cancel()
    return [
        figures(f"ping, {slow} slow queries running", pings),
        figures(f"schema.tables, {slow} slow queries running", tables),
        f"  (slow queries refused as too_busy: {refused})",
    ]


def pull(url: str, arrow: bool) -> None:
    """Pull the whole table and print its row count (run in a process of its own, so that
    decoding the answer does not hold up the probe's pings); `arrow`: as an Arrow stream."""
    from websockets.sync.client import connect as connect_sync

    with connect_sync(url, max_size=None, ping_interval=None) as ws:
        body = {"database": "big", "sql": "SELECT * FROM facts", "arrow": arrow}
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "sql.run", "params": body}))
        result = json.loads(ws.recv(timeout=600))["result"]
        frames = (result.get("arrow") or {}).get("frames") or 0
        received = sum(len(ws.recv(timeout=600)) for _ in range(frames))
        arrived = f" in {frames} Arrow frames ({received:,} bytes)" * bool(frames)
        print(f"{result['row_count']} rows{arrived}")


async def large_result(url: str, rows: int, arrow: bool) -> list[str]:
    async with connect(url, ping_interval=None) as probe_ws:
        probe = Client(probe_ws)
        await probe.call("ping")
        started = time.perf_counter()
        command = [__file__, "--pull", url] + ["--arrow"] * arrow
        puller = await asyncio.create_subprocess_exec(
            sys.executable, *command, stdout=asyncio.subprocess.PIPE
        )
        done = asyncio.ensure_future(puller.communicate())
        pings: list[float] = []
        while not done.done():
            before = time.perf_counter()
            await asyncio.wait_for(probe.call("ping"), timeout=PATIENCE)
            pings.append((time.perf_counter() - before) * 1000)
            await asyncio.sleep(0.01)
        seconds = time.perf_counter() - started
        got = (await done)[0].decode().strip()
    how = "as Arrow" if arrow else "as JSON"
    return [
        figures(f"ping while another pulls {rows:,} rows {how}", pings),
        f"  (the pull: {got}, {seconds:.1f} s with its client's start and decoding)",
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--pull", help=argparse.SUPPRESS)
    parser.add_argument("--arrow", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pull:
        return pull(args.pull, args.arrow)
    with tempfile.TemporaryDirectory(prefix="nlsql-hol-") as tmp:
        directory = Path(tmp)
        config = make_database(directory, args.rows)
        log = directory / "serve.log"
        print(f"{'call (ms)':<52} {'p50':>9} {'p99':>9} {'max':>9} {'n':>6}")
        async with server(config, args.rows, log) as url:
            for line in await slow_queries(url, args.slow, args.samples):
                print(line, flush=True)
        for arrow in (False, True):
            async with server(config, args.rows, log) as url:
                for line in await large_result(url, args.rows, arrow):
                    print(line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
