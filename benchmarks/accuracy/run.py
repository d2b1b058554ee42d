"""Ask every question of the set through the server's pipeline and score each answer.

    python -m benchmarks.accuracy --engine offline [--engine llm --engine auto]
        [--db retail] [--shape anti] [--split dev] [--set fresh_retail] [--id r01]
        [--data-dir DIR] [--quiet]

Each engine answers through `pipeline.ask` exactly as the server does (linking, engine, safety
check, execution); the gold SQL runs on the same database, and the two result sets are compared
(`compare.py`). Every answer gets one verdict:

- right: the result agrees with the gold result, or the engine declined a question the
  database cannot answer (`expect = "decline"`), or the result is the gold result plus columns
  of its own (same rows, each gold column among the answer's: an id, the measure ranked by);
  those are counted apart (`+cols %`) so the strict figure is acc % minus +cols %;
- wrong (confidently wrong): the engine answered with SQL and the result differs from gold, or
  it answered a question it should have declined: the worst outcome, a plausible wrong table;
- declined: the engine said it cannot answer (`cannot_answer`) a question that has an answer;
- error: any other error (the engine's SQL was refused or failed, the database was missing).

Prints, per engine and per split, set (question file), database and shape: accuracy, the
confidently-wrong and declined rates, and the median seconds per question; then the misses;
with several engines, one side-by-side table per set, and the model calls and prompt tokens a
question cost each engine that asks a model (retries included: on a local model the tokens are
the latency, on a hosted one the bill).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nlsql_server import pipeline
from nlsql_server.exceptions import CannotAnswer, NlsqlError
from nlsql_server.services import Services
from nlsql_server.settings import Settings

from . import clinic, plain_prompt
from .compare import EXTRA_COLUMNS, judge
from .questions import Question, load

#: Rows an answer may hold: listings ("orders above 8000") are compared whole.
ROW_LIMIT = 1_000_000
VERDICTS = ("right", "wrong", "declined", "error")


@dataclass(frozen=True)
class Outcome:
    question: Question
    engine: str
    #: One of `VERDICTS`.
    verdict: str
    reason: str = ""
    sql: str = ""
    answered_by: str = ""
    seconds: float = 0.0
    #: Model calls made for the answer and the prompt tokens they sent (0 for the offline
    #: engine): retries show in `calls`, the prompt's size in `prompt_tokens`.
    calls: int = 0
    prompt_tokens: int = 0

    @property
    def correct(self) -> bool:
        return self.verdict == "right"

    @property
    def extra_columns(self) -> bool:
        """Right, with columns the gold result does not have."""
        return self.correct and self.reason.startswith(EXTRA_COLUMNS)


def services_for(data_dir: Path | None, questions: Iterable[Question] = ()) -> Services:
    """The server's services over the samples, the generated `clinic` database and every
    database file the `questions` name by `path` (registered under their `database`)."""
    settings = Settings(row_limit=ROW_LIMIT)
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    services = Services.from_settings(settings)
    services.registry.add_sqlite("clinic", clinic.ensure(settings.data_dir))
    files: dict[str, Path] = {}
    for q in questions:
        file = q.file()
        if file is None or files.get(q.database) == file:
            continue
        if q.database in files or q.database in services.registry.names():
            raise ValueError(f"{q.id}: database {q.database!r} is already registered elsewhere")
        files[q.database] = file
        services.registry.add_sqlite(q.database, file)
    return services


async def answer(services: Services, q: Question, engine: str) -> Outcome:
    """One question through the pipeline, judged against its gold result."""
    db = services.registry.get(q.database)
    expected = [] if q.declines else db.execute(q.gold_sql, ROW_LIMIT).rows
    before = replace(services.nlp.llm.usage)
    started = time.perf_counter()
    got: dict[str, Any] = {"sql": "", "engine": ""}
    try:
        got = await pipeline.ask(services, q.question, database=q.database, engine=engine)
    except CannotAnswer as exc:
        verdict = "right" if q.declines else "declined"
        reason = f"{exc.code}: {exc.message}"
    except NlsqlError as exc:
        verdict, reason = "error", f"{exc.code}: {exc.message}"
    seconds = time.perf_counter() - started
    if "rows" in got:
        verdict, reason = judge(got["rows"], expected, q.ordered, q.declines)
    spent = services.nlp.llm.usage.since(before)
    return Outcome(
        q,
        engine,
        verdict,
        reason,
        got["sql"],
        got["engine"],
        seconds,
        spent.calls,
        spent.prompt_tokens,
    )


def _share(outcomes: list[Outcome], verdict: str) -> float:
    return 100 * sum(o.verdict == verdict for o in outcomes) / len(outcomes) if outcomes else 0.0


HEADER = "  " + " " * 22 + "     right  acc %  wrong %  decl %  err %  med s  +cols %"


def _line(label: str, outcomes: list[Outcome]) -> str:
    """Accuracy, confidently-wrong, declined and error rates, and median seconds per question."""
    right = sum(o.correct for o in outcomes)
    median = statistics.median(o.seconds for o in outcomes) if outcomes else 0.0
    return (
        f"  {label:<22} {right:>4}/{len(outcomes):<4} {_share(outcomes, 'right'):6.1f}"
        f" {_share(outcomes, 'wrong'):8.1f} {_share(outcomes, 'declined'):7.1f}"
        f" {_share(outcomes, 'error'):6.1f} {median:6.2f} {_extra_share(outcomes):8.1f}"
    )


def _extra_share(outcomes: list[Outcome]) -> float:
    """The share scored right only because extra columns are allowed (`compare`)."""
    return 100 * sum(o.extra_columns for o in outcomes) / len(outcomes) if outcomes else 0.0


def _groups(outcomes: list[Outcome], key: str) -> dict[str, list[Outcome]]:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[getattr(o.question, key)].append(o)
    return groups


def report(outcomes: list[Outcome], show_misses: bool) -> None:
    """Print the figures per engine and per split, set, database and shape, then the misses."""
    by_engine: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_engine[o.engine].append(o)
    for engine, done in by_engine.items():
        print(f"\nengine {engine}  (wrong = confidently wrong: answered, and not the gold result)")
        print(HEADER)
        print(_line("all", done))
        for key, title in (
            ("split", "split"),
            ("set_name", "set"),
            ("database", "database"),
            ("shape", "shape"),
        ):
            groups = _groups(done, key)
            print(f" per {title}")
            for name in sorted(groups):
                print(_line(name, groups[name]))
        answered: dict[str, list[Outcome]] = defaultdict(list)
        for o in done:
            answered[o.answered_by or "none"].append(o)
        if len(answered) > 1:
            print(" answered by")
            for name in sorted(answered):
                print(_line(name, answered[name]))
        extra = sum(o.extra_columns for o in done)
        if extra:
            right = sum(o.correct for o in done)
            print(f" of the {right} right, {extra} hold the gold result plus columns (+cols %)")
        misses = [o for o in done if not o.correct]
        if show_misses and misses:
            print(f" misses ({len(misses)}), confidently wrong first")
            for o in sorted(misses, key=lambda o: VERDICTS.index(o.verdict)):
                q = o.question
                print(f"  {o.verdict:<8} {q.id} [{q.split}/{q.shape}] {q.question!r}: {o.reason}")
                if o.sql:
                    print("      " + " ".join(o.sql.split()))


def _suites(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    """The rows of the side-by-side table: each question file, and the held-out split whole."""
    suites: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        suites[o.question.set_name].append(o)
        if o.question.split == "test":
            suites["held-out (test)"].append(o)
    return suites


def side_by_side(outcomes: list[Outcome]) -> None:
    """One table of every engine per set (right % / confidently wrong % / median s), then how far
    the LLM pipeline is ahead of the plain prompt: points, and its median latency as a ratio."""
    engines = list(dict.fromkeys(o.engine for o in outcomes))
    if len(engines) < 2:
        return
    print("\nside by side: right % / confidently wrong % / median s per question")
    print(f"  {'set':<22} {'n':>4}" + "".join(f" {e:>20}" for e in engines), end="")
    ahead = "llm" in engines and plain_prompt.ENGINE in engines
    print("   llm-plain pts  llm/plain s" if ahead else "")
    for name, done in sorted(_suites(outcomes).items()):
        per_engine = {e: [o for o in done if o.engine == e] for e in engines}
        cells = []
        for e in engines:
            got = per_engine[e]
            median = statistics.median(o.seconds for o in got)
            cells.append(f"{_share(got, 'right'):5.1f} /{_share(got, 'wrong'):5.1f} /{median:5.2f}")
        line = f"  {name:<22} {len(per_engine[engines[0]]):>4}" + "".join(
            f" {c:>20}" for c in cells
        )
        if ahead:
            llm, plain = per_engine["llm"], per_engine[plain_prompt.ENGINE]
            points = _share(llm, "right") - _share(plain, "right")
            ratio = statistics.median(o.seconds for o in llm) / max(
                statistics.median(o.seconds for o in plain), 1e-9
            )
            line += f"   {points:+13.1f}  {ratio:10.2f}x"
        print(line)
    models = [e for e in engines if any(o.calls for o in outcomes if o.engine == e)]
    if models:
        print("\nmodel calls / prompt tokens per question (mean; retries included)")
        print(f"  {'set':<22} {'n':>4}" + "".join(f" {e:>20}" for e in models))
        for name, done in sorted(_suites(outcomes).items()):
            cells = []
            for e in models:
                got = [o for o in done if o.engine == e]
                calls = statistics.mean(o.calls for o in got)
                tokens = statistics.mean(o.prompt_tokens for o in got)
                cells.append(f"{calls:5.2f} / {tokens:7.0f}")
            print(
                f"  {name:<22} {len(done) // len(engines):>4}" + "".join(f" {c:>20}" for c in cells)
            )


def select(questions: list[Question], args: argparse.Namespace) -> list[Question]:
    """The questions the command line's filters keep."""
    return [
        q
        for q in questions
        if (not args.db or q.database in args.db)
        and (not args.shape or q.shape in args.shape)
        and (not args.split or q.split in args.split)
        and (not args.set or q.set_name in args.set)
        and (not args.id or q.id in args.id)
    ]


async def run(args: argparse.Namespace) -> list[Outcome]:
    chosen = select(load(), args)
    services = services_for(args.data_dir, chosen)
    engines = args.engine or ["offline"]
    outcomes = []
    seconds: dict[str, float] = defaultdict(float)
    try:
        # Engines take turns question by question, so a machine that gets busier (or quieter)
        # during the run weighs on each engine alike and their median ratio stays fair.
        for q in chosen:
            for engine in engines:
                ask = plain_prompt.answer if engine == plain_prompt.ENGINE else answer
                outcome = await ask(services, q, engine)
                seconds[engine] += outcome.seconds
                outcomes.append(outcome)
    finally:
        services.close()
    for engine in engines:
        print(f"{engine}: {len(chosen)} questions in {seconds[engine]:.1f} s", file=sys.stderr)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.accuracy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--engine", action="append", help="offline, llm or auto (repeatable)")
    parser.add_argument("--db", action="append", help="only this database (repeatable)")
    parser.add_argument("--shape", action="append", help="only this shape (repeatable)")
    parser.add_argument(
        "--split", action="append", help="only this split: dev, test or fresh (repeatable)"
    )
    parser.add_argument(
        "--set", action="append", help="only this question file, e.g. fresh_retail (repeatable)"
    )
    parser.add_argument("--id", action="append", help="only this question id (repeatable)")
    parser.add_argument("--data-dir", type=Path, help="where the databases are generated")
    parser.add_argument("--quiet", action="store_true", help="figures only, no list of misses")
    args = parser.parse_args(argv)
    outcomes = asyncio.run(run(args))
    report(outcomes, show_misses=not args.quiet)
    side_by_side(outcomes)
    return 0
