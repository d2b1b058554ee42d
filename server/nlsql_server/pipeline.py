"""The ask pipeline: question → linked schema → SQL → safety check → rows → chart.

Each stage reports progress through an async callback, so `/ws` can stream it while the
question runs. The NLP agent decides who writes the SQL; the data agent checks and runs it
(the only code that runs SQL); this module owns the LLM's execution-guided retry loop between
the two: SQL that is refused or fails goes back to the model with the error. Blocking work
(SQLite, schema reads, the engines) runs in worker threads.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from . import __version__, workers
from .agents import data, viz
from .databases.base import QueryResult
from .engines.base import EngineContext, Generated, PriorTurn
from .engines.llm import Attempt
from .exceptions import (
    CannotAnswer,
    EmptyQuestion,
    InvalidParams,
    NeedsClarification,
    NeedsConfirmation,
    NlsqlError,
    QueryFailed,
    UnsafeSql,
)
from .glossary import Glossary
from .overlay import parse_term
from .provenance import schema_provenance
from .sessions import Session, Turn

if TYPE_CHECKING:
    from .services import Services

Progress = Callable[[str, str, float], Awaitable[None]]


async def _no_progress(stage: str, message: str, elapsed_ms: float) -> None:
    return None


async def ask(
    services: Services,
    question: str,
    *,
    database: str | None = None,
    session_id: str | None = None,
    engine: str | None = None,
    limit: int | None = None,
    execute: bool = True,
    chart: viz.ChartKind | None = None,
    progress: Progress = _no_progress,
    arrow: bool = False,
    choice: dict[str, Any] | None = None,
    confirm: bool = False,
) -> dict[str, Any]:
    """Answer one question. Raises an `NlsqlError` a user can act on when it cannot. With
    `arrow`, a large result's rows come as Arrow (`QueryResult.arrow`). `choice`: the glossary
    term of the option chosen when the question asked for clarification, laid over the
    glossary for this question and, in a session, for the questions after it there ("what
    about April?" keeps the reading). SQL whose plan is over the cost budget runs only with
    `confirm` (else `NeedsConfirmation`, with the question)."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    mark = started

    async def stage(name: str, message: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        await progress(name, message, round((now - started) * 1000, 2))
        mark = now

    def done(name: str) -> None:
        timings[name] = round((time.perf_counter() - mark) * 1000, 2)

    question = (question or "").strip()
    if not question:
        raise EmptyQuestion("The question is empty: type a question in plain English.")
    longest = services.settings.max_question_chars
    if len(question) > longest:
        raise InvalidParams(
            f"The question is too long ({len(question)} characters; at most {longest}): ask "
            "it in fewer words.",
            param="question",
            limit=longest,
        )
    rows_at_most = data.row_limit(limit, services.settings.row_limit)
    session = None
    if session_id:
        session = await services.sessions.open(session_id, services.registry.default_name())
    name = database or (session.database if session else None) or services.registry.default_name()
    if name is None:
        raise InvalidParams("No database is configured.")

    await stage("linking", f"Reading the schema of {name}")
    db = await workers.run_cheap(services.registry.get, name)
    context = await workers.run_query(services.contexts.get, db, services.registry.glossary(name))
    if session is not None:
        context = replace(context, history=_prior_turns(session, name))
    # the readings chosen earlier in this conversation, then this question's
    chosen = [t.understood["choice"] for t in context.history if "choice" in t.understood]
    for term in [*chosen, *([choice] if choice is not None else [])]:
        glossary = Glossary((parse_term(term),), context.glossary.dialect)
        context = replace(context, glossary=context.glossary.merged(glossary))
    done("linking")

    async def run(generated: Generated) -> QueryResult | None:
        """Check, then (unless a dry run) execute one engine's SQL through the data agent."""
        done("generating")
        await stage("validating", "Checking that the SQL only reads")
        checked = data.check(generated.sql, db.dialect)
        done("validating")
        if not execute:
            return None
        await stage("executing", f"Running the query on {name}")
        arrow_after = services.settings.arrow_min_rows if arrow else None
        budget = 0 if confirm else services.settings.cost_budget_rows
        try:
            result = await workers.run_query(
                data.execute, db, checked, rows_at_most, arrow_after, budget
            )
        except NeedsConfirmation as exc:
            exc.data.update(
                question=question, explanation=generated.explanation, engine=generated.engine
            )
            raise
        done("executing")
        return result

    async def retrying(error: str) -> None:
        await stage("generating", f"Asking the model again: {error}")

    await stage("generating", "Writing SQL")
    try:
        answered = await _write_and_run(services, question, context, engine, run, retrying)
    except NeedsClarification as exc:
        exc.data["database"] = name  # where a chosen reading is remembered
        raise
    generated, result = answered.generated, answered.result

    answer: dict[str, Any] = {
        "question": question,
        "database": name,
        "sql": generated.sql,
        "explanation": generated.explanation,
        "engine": generated.engine,
        "confidence": generated.confidence,
        "understood": generated.understood,
        "columns": [],
        "column_types": [],
        "rows": [],
        "row_count": 0,
        "truncated": False,
        "chart": None,
        "executed": execute,
        "attempts": [{"sql": a.sql, "error": a.error} for a in answered.attempts],
        "schema": schema_provenance(generated.sql, db.dialect, context.schema),
        "server_version": __version__,
    }
    if result is not None:
        await stage("charting", "Choosing a chart")
        kinds = await workers.run_result(viz.result_kinds, result)
        answer.update(result.to_dict(), column_types=kinds)
        answer["chart"] = viz.choose_chart(
            result.columns,
            kinds,
            viz.chart_rows(result),
            title=question,
            kind=chart,
            money_columns=viz.money_columns(context.glossary),
        )
        done("charting")
    answer["timings"] = timings | {"total": round((time.perf_counter() - started) * 1000, 2)}
    if session is not None:
        turn = Turn(
            question,
            generated.sql,
            generated.engine,
            answer["row_count"],
            name,
            understood=dict(generated.understood) | ({"choice": choice} if choice else {}),
        )
        await services.sessions.append_turn(session.session_id, turn)
    return answer


Run = Callable[[Generated], Awaitable[QueryResult | None]]
Retrying = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Answered:
    """The SQL that ran, what running it gave, and the failed LLM attempts before it."""

    generated: Generated
    result: QueryResult | None
    attempts: list[Attempt] = field(default_factory=list)


async def _write_and_run(
    services: Services,
    question: str,
    context: EngineContext,
    engine: str | None,
    run: Run,
    retrying: Retrying,
) -> Answered:
    """Have the chosen engine write SQL and `run` it; the LLM's failures are retried."""
    draft = await services.nlp.draft(question, context, engine)
    if not draft.ask_llm:
        assert draft.offline is not None
        return Answered(draft.offline, await run(draft.offline))
    try:
        return await _llm_until_it_runs(services, question, context, run, retrying)
    except NeedsConfirmation:
        raise  # the LLM's SQL is fine, only dear: the user decides
    except NlsqlError:
        if draft.offline is None:
            raise
        # The LLM failed (unreachable, or none of its SQL ran): a doubtful answer beats none.
        return Answered(draft.offline, await run(draft.offline))


async def _llm_until_it_runs(
    services: Services, question: str, context: EngineContext, run: Run, retrying: Retrying
) -> Answered:
    """The execution-guided loop: each refused or failing SQL goes back to the model with its
    error, at most `retries` more times."""
    attempts: list[Attempt] = []
    while True:
        try:
            generated = await services.nlp.generate_llm(question, context, tuple(attempts))
        except (CannotAnswer, UnsafeSql) as exc:
            if "reply" not in exc.data:
                raise
            _retry_or_raise(services.nlp.retries, exc, attempts, exc.data["reply"])
            await retrying(exc.message)
            continue
        try:
            return Answered(generated, await run(generated), attempts)
        except (UnsafeSql, QueryFailed) as exc:
            _retry_or_raise(services.nlp.retries, exc, attempts, generated.sql)
            await retrying(exc.message)


def _retry_or_raise(retries: int, exc: NlsqlError, attempts: list[Attempt], sql: str) -> None:
    """Record the failed try, or raise `exc` (with the tries) when no retry is left."""
    if len(attempts) >= retries:
        exc.data["attempts"] = [{"sql": a.sql, "error": a.error} for a in attempts] + [
            {"sql": sql, "error": exc.message}
        ]
        raise exc
    attempts.append(Attempt(sql, exc.message))


def _prior_turns(session: Session, database: str) -> tuple[PriorTurn, ...]:
    """The session's earlier turns on `database`: what a follow-up question refines."""
    return tuple(
        PriorTurn(t.question, t.sql, t.engine, t.understood)
        for t in session.history
        if t.database == database
    )
