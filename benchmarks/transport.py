"""Transport figures against a real `nlsql serve` process on loopback.

    .venv/bin/python benchmarks/transport.py [--pings 1000] [--runs 300]

Prints one table: median and p99 round trip of `ping` and of a small `sql.run` over the
WebSocket and over HTTP (each through `HybridClient`, as the kernel uses it); how long a call
takes to fail while the circuit breaker is open; and, across a crash and restart of the server
on the same port, the time from the new server answering `/health` (and from its spawn) to the
first successful `ask`, with the client's default breaker and backoff.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from nlsql_jupyter.client import ClientConfig, HybridClient
from nlsql_jupyter.exceptions import CircuitOpen, NlsqlError, ServerUnavailable

REPO = Path(__file__).resolve().parent.parent
QUESTION = "Show me the top 5 customers by total purchase amount"
SMALL_RUN = {
    "database": "retail",
    "sql": "SELECT customer_id, first_name FROM customers ORDER BY customer_id LIMIT 5",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(port: int, log: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`nlsql serve` on `port` (offline engine unless told), output to `log`; `env` adds to
    the environment (`NLSQL_*` settings)."""
    merged = {**os.environ, "NLSQL_ENGINE": os.environ.get("NLSQL_ENGINE", "offline")}
    command = [sys.executable, "-m", "nlsql_server", "serve", "--port", str(port)]
    with log.open("ab") as out:
        return subprocess.Popen(
            [*command, "--log-level", "warning"],
            env=merged | dict(env or {}),
            stdout=out,
            stderr=out,
        )


@contextmanager
def serving(log: Path, env: Mapping[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """A fresh `nlsql serve` on a free port, healthy: (its URL, its pid); stopped (SIGTERM,
    then kill) on the way out."""
    port = free_port()
    process = spawn(port, log, env)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def health(url: str) -> bool:
    try:
        return httpx.get(url + "/health", timeout=0.5, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while not health(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the server at {url} did not start")
        time.sleep(0.005)
    return time.perf_counter()


def timed(call: Callable[[], object], n: int) -> list[float]:
    """Milliseconds of `n` calls after a short warm-up."""
    for _ in range(min(20, n)):
        call()
    out = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def fail_fast_times(url: str, n: int) -> tuple[list[float], int]:
    """ms per call while the breaker is open against a dead port, and attempts made then."""
    client = HybridClient(ClientConfig(url, breaker_threshold=1, breaker_cooldown=3600))
    with contextlib.suppress(ServerUnavailable):
        client.ping()  # the one failure that opens the breaker
    before = sum(s["attempts"] for s in (client.stats()["websocket"], client.stats()["http"]))
    times = []
    for _ in range(n):
        started = time.perf_counter()
        try:
            client.ping()
        except CircuitOpen:
            times.append((time.perf_counter() - started) * 1000)
    stats = client.stats()
    client.close()
    return times, stats["websocket"]["attempts"] + stats["http"]["attempts"] - before


def restart_to_first_ask(url: str, port: int, log: Path, process: subprocess.Popen[bytes]):
    """Kill the server, restart it on the same port while a client keeps asking."""
    client = HybridClient(url)  # default config: what a notebook gets
    client.ask(QUESTION, database="retail")
    process.send_signal(signal.SIGKILL)
    process.wait()
    failures = 0
    stop = threading.Event()
    spawned_at = healthy_at = 0.0
    holder: dict[str, subprocess.Popen[bytes]] = {}

    def restart() -> None:
        nonlocal spawned_at, healthy_at
        time.sleep(2.0)  # down for a while: the client's breaker opens meanwhile
        spawned_at = time.perf_counter()
        holder["p"] = spawn(port, log)
        healthy_at = wait_healthy(url, holder["p"])
        stop.set()

    threading.Thread(target=restart, daemon=True).start()
    while True:
        try:
            asked_at = time.perf_counter()
            client.ask(QUESTION, database="retail")
            answered_at = time.perf_counter()
            if stop.is_set():
                break
        except NlsqlError:
            failures += 1
        time.sleep(0.01)
    transport = "websocket" if client.stats()["websocket"]["state"] == "connected" else "http"
    stats = client.stats()
    client.close()
    return {
        "from_health_ms": (answered_at - healthy_at) * 1000,
        "from_spawn_ms": (answered_at - spawned_at) * 1000,
        "sent_after_health_ms": (asked_at - healthy_at) * 1000,
        "cold_ask_ms": (answered_at - asked_at) * 1000,
        "failed_asks": failures,
        "rejected": stats["http"]["rejected"],
        "transport": transport,
    }, holder["p"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pings", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"nlsql-bench-{port}.log"
    process = spawn(port, log)
    wait_healthy(url, process)
    rows = []
    try:
        for name, websocket in (("WebSocket", True), ("HTTP", False)):
            with HybridClient(ClientConfig(url, websocket=websocket)) as client:
                ping = timed(client.ping, args.pings)
                run = timed(lambda c=client: c.call("sql.run", SMALL_RUN), args.runs)
            rows.append((f"ping, {name}", ping))
            rows.append((f"sql.run (5 rows), {name}", run))
        fast, attempts = fail_fast_times(f"http://127.0.0.1:{free_port()}", 1000)
        rows.append((f"call while breaker open ({attempts} connection attempts)", fast))
        restart, process = restart_to_first_ask(url, port, log, process)
    finally:
        process.terminate()
        process.wait(timeout=10)

    print(f"{'measure':<52} {'n':>5} {'median ms':>10} {'p99 ms':>9}")
    for label, values in rows:
        print(
            f"{label:<52} {len(values):>5} {statistics.median(values):>10.3f} {p(values, 99):>9.3f}"
        )
    print()
    print(
        "server killed, down 2 s, restarted on the same port, client asking every 10 ms:\n"
        f"  first ask answered {restart['from_health_ms']:.0f} ms after /health answered "
        f"({restart['from_spawn_ms']:.0f} ms after the new process was spawned), "
        f"over {restart['transport']}: it was sent {restart['sent_after_health_ms']:.0f} ms "
        f"after /health (breaker cool-down) and took {restart['cold_ask_ms']:.0f} ms on the cold "
        f"server; {restart['failed_asks']} asks failed meanwhile, "
        f"{restart['rejected']} of them by the open breaker without a connection attempt"
    )


if __name__ == "__main__":
    main()
