"""The ask pipeline: question → linked schema → SQL → safety check → rows → chart.

Each stage reports progress through an async callback, so `/ws` can stream it while the
question runs. Blocking work (SQLite, schema reads, the engine) runs in worker threads.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from anyio import to_thread

from . import __version__
from .agents import data, viz
from .databases import safety
from .databases.base import QueryResult
from .engines.base import Generated, PriorTurn
from .exceptions import EmptyQuestion, InvalidParams
from .provenance import schema_provenance
from .services import Services
from .sessions import Session, Turn

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
) -> dict[str, Any]:
    """Answer one question. Raises an `NlsqlError` a user can act on when it cannot."""
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
    row_limit = _row_limit(services, limit)
    session = None
    if session_id:
        session = await services.sessions.open(session_id, services.registry.default_name())
    name = database or (session.database if session else None) or services.registry.default_name()
    if name is None:
        raise InvalidParams("No database is configured.")

    await stage("linking", f"Reading the schema of {name}")
    db = await to_thread.run_sync(services.registry.get, name)
    context = await to_thread.run_sync(services.contexts.get, db, services.registry.glossary(name))
    if session is not None:
        context = replace(context, history=_prior_turns(session, name))
    done("linking")

    async def run(generated: Generated) -> QueryResult | None:
        """Check, then (unless a dry run) execute one engine's SQL; the agent retries on error."""
        done("generating")
        await stage("validating", "Checking that the SQL only reads")
        safety.check(generated.sql, db.dialect)
        done("validating")
        if not execute:
            return None
        await stage("executing", f"Running the query on {name}")
        result = await to_thread.run_sync(db.execute, generated.sql, row_limit)
        done("executing")
        return result

    async def retrying(error: str) -> None:
        await stage("generating", f"Asking the model again: {error}")

    await stage("generating", "Writing SQL")
    answered = await services.nlp.answer(question, context, engine, run, retrying)
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
        kinds = viz.column_kinds(result.columns, result.rows)
        answer.update(result.to_dict(), column_types=kinds)
        answer["chart"] = viz.choose_chart(
            result.columns,
            kinds,
            result.rows,
            title=question,
            kind=chart,
            money_columns=viz.money_columns(context.glossary),
        )
        done("charting")
    answer["timings"] = timings | {"total": round((time.perf_counter() - started) * 1000, 2)}
    if session is not None:
        session.record(
            Turn(
                question,
                generated.sql,
                generated.engine,
                answer["row_count"],
                name,
                understood=dict(generated.understood),
            )
        )
        await services.sessions.save(session)
    return answer


async def run_sql(
    services: Services, database: str, sql: str, limit: int | None = None
) -> dict[str, Any]:
    """Run one checked read-only statement (the `sql.run` method and `nlsql sql`)."""
    db = await to_thread.run_sync(services.registry.get, database)
    result = await to_thread.run_sync(data.run, db, sql, _row_limit(services, limit))
    return result.to_dict() | {"column_types": viz.column_kinds(result.columns, result.rows)}


def _prior_turns(session: Session, database: str) -> tuple[PriorTurn, ...]:
    """The session's earlier turns on `database`: what a follow-up question refines."""
    return tuple(
        PriorTurn(t.question, t.sql, t.engine, t.understood)
        for t in session.history
        if t.database == database
    )


def _row_limit(services: Services, limit: int | None) -> int:
    if limit is None:
        return services.settings.row_limit
    if not isinstance(limit, int) or limit < 1:
        raise InvalidParams("`limit` must be a positive whole number.", limit=limit)
    return min(limit, services.settings.row_limit)
