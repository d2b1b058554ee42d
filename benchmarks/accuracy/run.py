"""Ask every question of the set through the server's pipeline and print execution accuracy.

    python -m benchmarks.accuracy --engine offline [--engine llm --engine auto]
        [--db retail] [--shape anti] [--split dev] [--data-dir DIR] [--quiet]

Each engine answers through `pipeline.ask` exactly as the server does (linking, engine, safety
check, execution); the gold SQL runs on the same database, and the two result sets are compared
(`compare.py`). Prints accuracy per split, per shape and per database, then the misses.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from nlsql_server import pipeline
from nlsql_server.exceptions import NlsqlError
from nlsql_server.services import Services
from nlsql_server.settings import Settings

from . import clinic
from .compare import same_result
from .questions import Question, load

#: Rows an answer may hold: listings ("orders above 8000") are compared whole.
ROW_LIMIT = 1_000_000


@dataclass(frozen=True)
class Outcome:
    question: Question
    engine: str
    correct: bool
    reason: str = ""
    sql: str = ""
    answered_by: str = ""


def services_for(data_dir: Path | None) -> Services:
    """The server's services over the samples plus the generated `clinic` database."""
    settings = Settings(row_limit=ROW_LIMIT)
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    services = Services.from_settings(settings)
    services.registry.add_sqlite("clinic", clinic.ensure(settings.data_dir))
    return services


async def answer(services: Services, q: Question, engine: str) -> Outcome:
    """One question through the pipeline, judged against its gold result."""
    db = services.registry.get(q.database)
    expected = db.execute(q.gold_sql, ROW_LIMIT).rows
    try:
        got = await pipeline.ask(services, q.question, database=q.database, engine=engine)
    except NlsqlError as exc:
        return Outcome(q, engine, False, f"{exc.code}: {exc.message}")
    reason = same_result(got["rows"], expected, q.ordered)
    return Outcome(q, engine, reason is None, reason or "", got["sql"], got["engine"])


def _line(label: str, outcomes: list[Outcome]) -> str:
    right = sum(o.correct for o in outcomes)
    share = 100 * right / len(outcomes) if outcomes else 0.0
    return f"  {label:<22} {right:>4}/{len(outcomes):<4} {share:6.1f} %"


def report(outcomes: list[Outcome], show_misses: bool) -> None:
    by_engine: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_engine[o.engine].append(o)
    for engine, done in by_engine.items():
        print(f"\nengine {engine}")
        print(_line("all", done))
        for key in ("split", "database", "shape"):
            groups: dict[str, list[Outcome]] = defaultdict(list)
            for o in done:
                groups[getattr(o.question, key)].append(o)
            print(f" per {key}")
            for name in sorted(groups):
                print(_line(name, groups[name]))
        answered: dict[str, list[Outcome]] = defaultdict(list)
        for o in done:
            answered[o.answered_by or "none"].append(o)
        if len(answered) > 1:
            print(" answered by")
            for name in sorted(answered):
                print(_line(name, answered[name]))
        misses = [o for o in done if not o.correct]
        if show_misses and misses:
            print(f" misses ({len(misses)})")
            for o in misses:
                q = o.question
                print(f"  {q.id} [{q.split}/{q.shape}] {q.question!r}: {o.reason}")
                if o.sql:
                    print("      " + " ".join(o.sql.split()))


async def run(args: argparse.Namespace) -> list[Outcome]:
    services = services_for(args.data_dir)
    chosen = [
        q
        for q in load()
        if (not args.db or q.database in args.db)
        and (not args.shape or q.shape in args.shape)
        and (not args.split or q.split == args.split)
        and (not args.id or q.id in args.id)
    ]
    outcomes = []
    try:
        for engine in args.engine or ["offline"]:
            started = time.perf_counter()
            for q in chosen:
                outcomes.append(await answer(services, q, engine))
            seconds = time.perf_counter() - started
            print(f"{engine}: {len(chosen)} questions in {seconds:.1f} s", file=sys.stderr)
    finally:
        services.close()
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy", description=__doc__)
    parser.add_argument("--engine", action="append", help="offline, llm or auto (repeatable)")
    parser.add_argument("--db", action="append", help="only this database (repeatable)")
    parser.add_argument("--shape", action="append", help="only this shape (repeatable)")
    parser.add_argument("--split", choices=("dev", "test"), help="only this split")
    parser.add_argument("--id", action="append", help="only this question id (repeatable)")
    parser.add_argument("--data-dir", type=Path, help="where the databases are generated")
    parser.add_argument("--quiet", action="store_true", help="figures only, no list of misses")
    args = parser.parse_args(argv)
    report(asyncio.run(run(args)), show_misses=not args.quiet)
    return 0
