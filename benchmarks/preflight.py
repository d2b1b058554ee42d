"""The pre-flight cost check: what it costs ordinary questions, and that a dear query stops.

1. The check itself, in-process: for every question of the accuracy benchmark's `retail` and
   `finance` files, the offline engine's SQL (asked with `execute: false`), then
   `Database.estimate(sql)` timed again and again (a first call parses aliases once):
   median and p95 ms per question, their spread over the questions, and the largest estimate
   (no ordinary question may come near the budget).
2. `ask` latency through two real `nlsql serve` processes, the check on (default budget) and off
   (`NLSQL_COST_BUDGET_ROWS=0`), the same questions interleaved over keep-alive HTTP: medians,
   their ratio, and the median difference of each question's on/off pair.
3. On the 1,000,000-row table of `benchmarks/head_of_line.make_database`: an ordinary aggregate
   runs (timed with the check on and off), a self-join and a cartesian join stop with their
   estimates.

    python -m benchmarks.preflight [--repeat 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from nlsql_server import pipeline
from nlsql_server.services import Services
from nlsql_server.settings import Settings

from benchmarks.accuracy.questions import load
from benchmarks.head_of_line import make_database
from benchmarks.transport import serving

BIG_ORDINARY = "SELECT region, SUM(amount) AS total FROM facts GROUP BY region"
BIG_DEAR = {
    "self-join on product": (
        "SELECT a.region, COUNT(*) AS n FROM facts a JOIN facts b ON a.product = b.product "
        "GROUP BY a.region"
    ),
    "cartesian join": "SELECT COUNT(*) AS n FROM facts a, facts b WHERE a.amount > b.amount",
}


def ms(seconds: list[float]) -> tuple[float, float]:
    """Median and p95 of timings, in ms."""
    ordered = sorted(seconds)
    return statistics.median(ordered) * 1000, ordered[int(0.95 * (len(ordered) - 1))] * 1000


def timed(call: Callable[[], Any], repeat: int) -> list[float]:
    call()  # warm: imports, the alias cache, the page cache
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        out.append(time.perf_counter() - start)
    return out


def the_check(repeat: int) -> list[tuple[str, str]]:
    """Part 1; returns the (database, question) pairs the offline engine answered."""
    services = Services.from_settings(Settings())
    questions = [q for q in load(quiet=True) if q.database in ("retail", "finance")]
    medians, p95s, answered = [], [], []
    largest: tuple[int, str, str] = (0, "", "")
    for q in questions:
        try:
            sql = asyncio.run(
                pipeline.ask(services, q.question, database=q.database, execute=False)
            )["sql"]
        except Exception:  # declined: nothing would run
            continue
        db = services.registry.get(q.database)
        estimate = db.estimate(sql)
        assert estimate is not None
        median, p95 = ms(timed(lambda db=db, sql=sql: db.estimate(sql), repeat))
        medians.append(median)
        p95s.append(p95)
        answered.append((q.database, q.question))
        if estimate.rows > largest[0]:
            largest = (estimate.rows, str(estimate.kind), q.question)
    budget = Settings().cost_budget_rows
    print(f"\n1. the check itself (Database.estimate), {len(answered)} answered questions")
    print(f"{'':<34} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}")
    print(
        f"{'per-question median':<34} {statistics.median(medians):>10.3f} "
        f"{sorted(medians)[int(0.95 * (len(medians) - 1))]:>8.3f} {max(medians):>8.3f}"
    )
    print(
        f"{'per-question p95':<34} {statistics.median(p95s):>10.3f} "
        f"{sorted(p95s)[int(0.95 * (len(p95s) - 1))]:>8.3f} {max(p95s):>8.3f}"
    )
    print(
        f"largest estimate: {largest[0]:,} rows ({largest[1]}) for {largest[2]!r}; "
        f"budget {budget:,} ({largest[0] / budget:.1%} of it)"
    )
    return answered


def ask_latency(answered: list[tuple[str, str]], rounds: int, log: Path) -> None:
    """Part 2."""
    with serving(log) as (on_url, _), serving(log, {"NLSQL_COST_BUDGET_ROWS": "0"}) as (off_url, _):
        times: dict[str, list[float]] = {"on": [], "off": []}
        with httpx.Client(timeout=60, trust_env=False) as client:

            def ask(url: str, database: str, question: str) -> float:
                body = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "ask",
                    "params": {"question": question, "database": database, "chart": "none"},
                }
                start = time.perf_counter()
                reply = client.post(url + "/rpc", json=body).json()
                took = time.perf_counter() - start
                assert "result" in reply, reply
                return took

            for database, question in answered:  # warm both: contexts, imports
                ask(on_url, database, question)
                ask(off_url, database, question)
            for turn in range(rounds):
                for database, question in answered:
                    order = (("on", on_url), ("off", off_url))
                    for name, url in order if turn % 2 == 0 else order[::-1]:
                        times[name].append(ask(url, database, question))
    on, off = ms(times["on"]), ms(times["off"])
    paired = statistics.median(a - b for a, b in zip(times["on"], times["off"], strict=True))
    print(f"\n2. ask over HTTP, {len(times['on'])} asks each, interleaved")
    print(f"{'check':<34} {'median ms':>10} {'p95 ms':>8}")
    print(f"{'on (default budget)':<34} {on[0]:>10.2f} {on[1]:>8.2f}")
    print(f"{'off (NLSQL_COST_BUDGET_ROWS=0)':<34} {off[0]:>10.2f} {off[1]:>8.2f}")
    print(f"{'ratio on / off':<34} {on[0] / off[0]:>10.3f} {on[1] / off[1]:>8.3f}")
    print(f"{'same question, on minus off':<34} {paired * 1000:>10.2f}")


def million_rows(repeat: int, log: Path, directory: Path) -> None:
    """Part 3."""
    config = make_database(directory, 1_000_000)
    env = {"NLSQL_DATABASES": str(config), "NLSQL_SAMPLES": "false"}
    with (
        serving(log, env) as (on_url, _),
        serving(log, env | {"NLSQL_COST_BUDGET_ROWS": "0"}) as (off_url, _),
        httpx.Client(timeout=300, trust_env=False) as client,
    ):

        def run(url: str, sql: str) -> dict[str, Any]:
            body = {"jsonrpc": "2.0", "id": 1, "method": "sql.run"}
            reply: dict[str, Any] = client.post(
                url + "/rpc", json=body | {"params": {"database": "big", "sql": sql}}
            ).json()
            return reply

        times: dict[str, list[float]] = {"on": [], "off": []}
        for turn in range(repeat + 1):
            order = (("on", on_url), ("off", off_url))
            for name, url in order if turn % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                reply = run(url, BIG_ORDINARY)
                if turn:  # the first round warms the page cache
                    times[name].append(time.perf_counter() - start)
                assert "result" in reply, reply
        print("\n3. 1,000,000 rows (facts), default budget")
        on, off = ms(times["on"]), ms(times["off"])
        print(
            f"ordinary aggregate (full scan) runs: median {on[0]:.1f} ms with the check, "
            f"{off[0]:.1f} ms without (ratio {on[0] / off[0]:.3f})"
        )
        for label, sql in BIG_DEAR.items():
            start = time.perf_counter()
            reply = run(on_url, sql)
            took = (time.perf_counter() - start) * 1000
            data = reply["error"]["data"]
            assert data["code"] == "needs_confirmation", reply
            estimate = data["estimate"]
            print(
                f"{label}: stopped in {took:.1f} ms, needs confirmation: about "
                f"{estimate['rows']:,} rows ({estimate['kind']}): {estimate['words']}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="timings per question")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of asks")
    args = parser.parse_args()
    answered = the_check(args.repeat)
    with tempfile.TemporaryDirectory(prefix="nlsql-preflight-") as tmp:
        log = Path(tmp) / "serve.log"
        ask_latency(answered, args.rounds, log)
        million_rows(args.repeat // 4 or 1, log, Path(tmp))


if __name__ == "__main__":
    main()
