"""The baseline the LLM engine must beat: the same model asked with one plain message.

    python -m benchmarks.accuracy.local_llm --engine plain --engine llm --split fresh

The message is the database's DDL as SQLite stores it (`CREATE TABLE ...` from `sqlite_master`),
the question, and "answer with one SQLite query". Same endpoint, model, temperature and token
budget as the engine (`LlmConfig` from the same `NLSQL_LLM_*` settings); the SQL is taken from
the reply as the engine takes it, run once, never retried. Whatever the pipeline adds (schema
linking, keys, values, rules, checks, retries) is measured against this, side by side.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from nlsql_server.engines.llm.chat import ChatClient
from nlsql_server.engines.llm.config import LlmConfig
from nlsql_server.engines.llm.reply import extract
from nlsql_server.exceptions import NlsqlError
from nlsql_server.services import Services
from nlsql_server.settings import Settings

from .compare import judge
from .questions import Question

if TYPE_CHECKING:
    from .run import Outcome

__all__ = ["ENGINE", "answer", "prompt"]

#: The name `--engine` selects this baseline by.
ENGINE = "plain"


def prompt(ddl: str, question: str) -> str:
    """The one user message: schema, question, and what to answer with."""
    return (
        f"{ddl}\n\n-- Using valid SQLite, answer the following question for the tables "
        f"provided above.\n-- {question}\n\nAnswer with one SQLite query."
    )


@cache
def _ddl(path: Path) -> str:
    """Every table's `CREATE TABLE` statement, as the database file stores it."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND sql IS NOT NULL "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        ).fetchall()
    finally:
        conn.close()
    return "\n\n".join(r[0].strip() + ";" for r in rows)


@cache
def _client() -> ChatClient:
    return ChatClient(LlmConfig.from_settings(Settings()))


def _file(services: Services, q: Question) -> Path:
    db = services.registry.get(q.database)
    path = getattr(db, "path", None)
    if path is None:
        raise ValueError(f"{q.database} is not a SQLite file: the plain baseline reads its DDL")
    return Path(path)


async def answer(services: Services, q: Question, engine: str = ENGINE) -> Outcome:
    """One question asked plainly, judged like `run.answer` judges the engines."""
    from .run import ROW_LIMIT, Outcome

    db = services.registry.get(q.database)
    expected = [] if q.declines else db.execute(q.gold_sql, ROW_LIMIT).rows
    client = _client()
    before = replace(client.usage)
    started = time.perf_counter()
    sql, rows = "", None
    try:
        reply = client.complete(
            [{"role": "user", "content": prompt(_ddl(_file(services, q)), q.question)}]
        )
        sql = extract(reply)
        rows = db.execute(sql, ROW_LIMIT).rows
    except NlsqlError as exc:
        verdict, reason = "error", f"{exc.code}: {exc.message}"
    seconds = time.perf_counter() - started
    if rows is not None:
        verdict, reason = judge(rows, expected, q.ordered, q.declines)
    spent = client.usage.since(before)
    return Outcome(
        q, engine, verdict, reason, sql, engine, seconds, spent.calls, spent.prompt_tokens
    )
