"""Many clients at once, and a soak: throughput, latency, errors and the server's memory.

    .venv/bin/python -m benchmarks.load [--clients 100] [--asks 20] [--soak-minutes 10]

Against a real `nlsql serve` process on loopback (the sample databases, the offline engine):

1. load: `--clients` WebSocket clients at once, each with its own session, send `--asks`
   requests one at a time: the dev questions of the samples' question sets, every other one as
   `ask` and the rest as `sql.run` of the question's gold SQL. Prints throughput (requests/s),
   p50 / p99 / max latency per method and the errors by code. A client never has more than one
   request out, so its share (`NLSQL_CLIENT_QUERIES`) is never reached: any `too_busy` is a
   defect.
2. soak: `--soak-clients` clients ask continuously with a short pause for `--soak-minutes`
   after a warm-up of `--warmup-minutes`; each opens a new WebSocket every 50 requests (as a
   reconnecting kernel would) and keeps its session. The server's RSS is sampled every few
   seconds; printed at the start (after the warm-up), at the end, at its peak, and the change
   (goal: within 10 %), with the requests done and the errors.

Both run on one machine with the server: the clients' own work competes with it for the cores,
so read the load average printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from websockets.asyncio.client import connect
from websockets.exceptions import WebSocketException

from benchmarks.accuracy.questions import load as load_questions
from benchmarks.head_of_line import Client, figures
from benchmarks.transport import free_port, spawn, wait_healthy

#: The sample databases `nlsql serve` generates (the question sets of the same names).
SAMPLES = ("retail", "finance")
#: Seconds a request may take before it counts as the error `timeout`.
PATIENCE = 60.0
#: Requests a soak client sends over one WebSocket before it opens a new one.
PER_CONNECTION = 50
#: The requests clients take turns at: (method, params).
Work = list[tuple[str, dict[str, Any]]]


@dataclass
class Tally:
    """What the clients saw: milliseconds per method, errors by code, requests done."""

    ms: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    done: int = 0


def requests() -> Work:
    """The dev questions on the samples, alternately as `ask` and as `sql.run` of the gold SQL."""
    chosen = [
        q
        for q in load_questions(quiet=True)
        if q.set_name in SAMPLES and q.split == "dev" and not q.declines
    ]
    return [
        ("ask", {"question": q.question, "database": q.database})
        if i % 2 == 0
        else ("sql.run", {"sql": q.gold_sql, "database": q.database})
        for i, q in enumerate(chosen)
    ]


def error_code(reply: dict[str, Any]) -> str | None:
    """The error's stable `data.code`, else its JSON-RPC code; None for a result."""
    error = reply.get("error")
    if error is None:
        return None
    return str((error.get("data") or {}).get("code") or error.get("code"))


async def send(
    client: Client, method: str, params: dict[str, Any], session: str, tally: Tally
) -> bool:
    """One request, timed into `tally`; False when the connection is gone."""
    if method == "ask":
        params = {**params, "session_id": session}
    started = time.perf_counter()
    try:
        reply = await asyncio.wait_for(client.call(method, params), timeout=PATIENCE)
    except TimeoutError:
        tally.errors["timeout"] += 1
        return False
    except WebSocketException as exc:
        tally.errors[type(exc).__name__] += 1
        return False
    tally.ms.setdefault(method, []).append((time.perf_counter() - started) * 1000)
    tally.done += 1
    code = error_code(reply)
    if code is not None:
        tally.errors[code] += 1
    return True


async def session_of(client: Client) -> str:
    reply = await client.call("session.open")
    return str(reply["result"]["session_id"])


async def load_client(url: str, n: int, offset: int, work: Work, tally: Tally) -> None:
    async with connect(url, ping_interval=None, max_size=None) as ws:
        client = Client(ws)
        session = await session_of(client)
        for i in range(n):
            method, params = work[(offset + i) % len(work)]
            if not await send(client, method, params, session, tally):
                return


async def soak_client(
    url: str, offset: int, work: Work, until: float, pause: float, tally: Tally
) -> None:
    session = ""
    i = offset
    while time.monotonic() < until:
        async with connect(url, ping_interval=None, max_size=None) as ws:
            client = Client(ws)
            session = session or await session_of(client)
            for _ in range(PER_CONNECTION):
                if time.monotonic() >= until:
                    return
                method, params = work[i % len(work)]
                i += 1
                if not await send(client, method, params, session, tally):
                    break
                await asyncio.sleep(pause)


def rss_mb(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def errors_text(errors: Counter[str]) -> str:
    return ", ".join(f"{code} {n}" for code, n in errors.most_common()) or "none"


def print_tally(tally: Tally, seconds: float) -> None:
    print(f"{'request (ms)':<44} {'p50':>9} {'p99':>9} {'max':>9} {'n':>6}")
    for method, ms in sorted(tally.ms.items()):
        print(figures(method, ms))
    print(figures("all", [x for ms in tally.ms.values() for x in ms]))
    print(f"throughput: {tally.done / seconds:.1f} requests/s ({tally.done} in {seconds:.1f} s)")
    print(f"errors by code: {errors_text(tally.errors)}")


async def run_load(url: str, clients: int, asks: int, work: Work) -> None:
    tally = Tally()
    started = time.perf_counter()
    await asyncio.gather(*(load_client(url, asks, c * 7, work, tally) for c in range(clients)))
    seconds = time.perf_counter() - started
    print(f"\nload: {clients} clients x {asks} requests (load average {load_average()})")
    print_tally(tally, seconds)


async def run_soak(url: str, server: psutil.Process, args: argparse.Namespace, work: Work) -> None:
    tally = Tally()
    warm_until = time.monotonic() + args.warmup_minutes * 60
    until = warm_until + args.soak_minutes * 60
    clients = [
        asyncio.ensure_future(soak_client(url, c * 7, work, until, args.pause, tally))
        for c in range(args.soak_clients)
    ]
    await asyncio.sleep(max(0.0, warm_until - time.monotonic()))
    done_at_start, errors_at_start = tally.done, sum(tally.errors.values())
    samples = [rss_mb(server)]
    while time.monotonic() < until:
        await asyncio.sleep(min(args.sample_seconds, max(0.0, until - time.monotonic())))
        samples.append(rss_mb(server))
    await asyncio.gather(*clients)
    start, end = samples[0], samples[-1]
    print(
        f"\nsoak: {args.soak_clients} clients, {args.pause:.2f} s pause, {args.soak_minutes} min "
        f"after {args.warmup_minutes} min warm-up (load average {load_average()})"
    )
    print(f"{'server RSS (MB)':<24} {'start':>9} {'end':>9} {'peak':>9} {'change':>9}")
    change = 100 * (end / start - 1)
    print(f"{'':<24} {start:>9.1f} {end:>9.1f} {max(samples):>9.1f} {change:>8.1f}%")
    print(
        f"requests during the soak: {tally.done - done_at_start}, errors "
        f"{sum(tally.errors.values()) - errors_at_start} (whole run, by code: {errors_text(tally.errors)});"
        f" RSS samples: {len(samples)}"
    )


async def warm(url: str, work: Work) -> None:
    """Each request once, so the figures are of a warm server (engine contexts built)."""
    tally = Tally()
    await load_client(url, len(work), 0, work, tally)
    if tally.errors:
        print(f"warm-up errors by code: {errors_text(tally.errors)}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--asks", type=int, default=20)
    parser.add_argument("--soak-minutes", type=float, default=10)
    parser.add_argument("--warmup-minutes", type=float, default=1)
    parser.add_argument("--soak-clients", type=int, default=10)
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between a client's asks")
    parser.add_argument("--sample-seconds", type=float, default=5)
    parser.add_argument("--only", choices=("load", "soak"))
    args = parser.parse_args()
    work = requests()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="nlsql-load-") as tmp:
        log = Path(tmp) / "serve.log"
        process = spawn(port, log)
        try:
            await asyncio.to_thread(wait_healthy, f"http://127.0.0.1:{port}", process)
            url = f"ws://127.0.0.1:{port}/ws"
            await warm(url, work)
            print(f"{len(work)} distinct requests from the dev questions of {', '.join(SAMPLES)}")
            if args.only != "soak":
                await run_load(url, args.clients, args.asks, work)
            if args.only != "load":
                await run_soak(url, psutil.Process(process.pid), args, work)
        finally:
            process.terminate()
            process.wait(timeout=10)
            if process.returncode not in (0, -15):
                print(log.read_text()[-2000:])


if __name__ == "__main__":
    asyncio.run(main())
