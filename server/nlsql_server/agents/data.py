"""The data agent: everything the pipeline learns from a database, checked and cached.

It is the only code that runs SQL. A statement must first pass `check` (the safety module),
which hands back a `CheckedSql`; `execute` runs nothing else. So the pipeline can report
"validating" and "executing" as two stages (and stop after the first on a dry run) without a
way to run unchecked SQL. The MCP tools (`tools.py`) reach databases through here too.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlglot

from ..databases import safety
from ..databases.base import Database, DatabaseSchema, QueryResult
from ..engines.base import EngineContext
from ..engines.offline.words import name_words
from ..exceptions import InvalidParams
from ..glossary import Glossary

#: A text column with at most this many distinct values is indexed for value matching.
MAX_INDEXED_VALUES = 200
#: Words of date columns that hold planned days, not events: they do not fix "today".
_ISO_DATE = re.compile(r"\d{4}-\d{2}")
_PLANNED = {"due", "deadline", "expiry", "expires", "expiration", "planned", "until", "end"}


@dataclass(frozen=True)
class CheckedSql:
    """A statement the safety module accepted for one dialect: what `execute` runs."""

    sql: str
    dialect: str


def check(sql: str, dialect: str) -> CheckedSql:
    """Accept `sql` if it is exactly one read-only statement in `dialect`; else raise `UnsafeSql`."""
    safety.check(sql, dialect)
    return CheckedSql(sql, dialect)


def execute(database: Database, checked: CheckedSql, limit: int) -> QueryResult:
    """Run a checked statement with a row limit (blocking: call it from a worker thread)."""
    if checked.dialect != database.dialect:
        raise ValueError(f"SQL checked for {checked.dialect} cannot run on {database.dialect}")
    return database.execute(checked.sql, limit)


def run(database: Database, sql: str, limit: int) -> QueryResult:
    """Check `sql` for `database`'s dialect, then run it with a row limit."""
    return execute(database, check(sql, database.dialect), limit)


def row_limit(limit: int | None, most: int) -> int:
    """The rows one result may carry: `limit` when given (a positive whole number), never more
    than `most` (the server's `row_limit`)."""
    if limit is None:
        return most
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidParams("`limit` must be a positive whole number.", limit=limit)
    return min(limit, most)


def _quote(identifier: str, dialect: str) -> str:
    return sqlglot.exp.to_identifier(identifier, quoted=True).sql(dialect=dialect)


class ContextCache:
    """Engine contexts per database, rebuilt when the database's schema object or its glossary
    changes (an edited glossary file reaches the next question)."""

    def __init__(self, reference_date: date | None = None, min_confidence: float = 0.5) -> None:
        self._cache: dict[str, tuple[DatabaseSchema, EngineContext]] = {}
        self._lock = threading.Lock()
        self.reference_date = reference_date
        self.min_confidence = min_confidence

    def get(self, database: Database, glossary: Glossary) -> EngineContext:
        schema = database.schema()
        with self._lock:
            cached = self._cache.get(database.name)
            if cached is not None and cached[0] is schema and cached[1].glossary == glossary:
                return cached[1]
        context = build_context(
            database, schema, glossary, self.reference_date, self.min_confidence
        )
        with self._lock:
            self._cache[database.name] = (schema, context)
        return context


def build_context(
    database: Database,
    schema: DatabaseSchema,
    glossary: Glossary,
    reference_date: date | None = None,
    min_confidence: float = 0.5,
) -> EngineContext:
    """Schema, glossary, distinct values of categorical text columns and of 0/1 flags, the span
    of years, and the reference date (given, else the latest event date in the data)."""
    values: dict[tuple[str, str], list[str]] = {}
    first_year: int | None = None
    last_year: int | None = None
    latest: str | None = None
    dialect = database.dialect
    for table in schema.tables:
        if not table.row_count:
            continue
        tname = _quote(table.name, dialect)
        keys = {fk.column for fk in table.foreign_keys}
        for column in table.columns:
            cname = _quote(column.name, dialect)
            if column.kind == "text" and not column.primary_key:
                count = _scalar(database, f"SELECT COUNT(DISTINCT {cname}) FROM {tname}")
                if count and count <= MAX_INDEXED_VALUES:
                    found = database.distinct_values(table.name, column.name, MAX_INDEXED_VALUES)
                    values[(table.name, column.name)] = [str(v) for v in found]
            elif column.kind == "integer" and not column.primary_key and column.name not in keys:
                low, high = _row(database, f"SELECT MIN({cname}), MAX({cname}) FROM {tname}")
                if low in (0, 1) and high in (0, 1):
                    values[(table.name, column.name)] = ["0", "1"]  # a flag: "discontinued"
            elif column.kind == "date":
                low, high = _row(database, f"SELECT MIN({cname}), MAX({cname}) FROM {tname}")
                # Only ISO dates ('2005-04-12…') tell years; '04/12/2005' in a DATE column
                # (SQLite stores whatever it is given) is left out, not misread.
                if _ISO_DATE.match(str(low or "")) and _ISO_DATE.match(str(high or "")):
                    first_year = min(first_year or 9999, int(str(low)[:4]))
                    last_year = max(last_year or 0, int(str(high)[:4]))
                    if not _PLANNED & set(name_words(column.name)):
                        latest = max(latest or "", str(high)[:10])
    years = (first_year, last_year) if first_year and last_year else None
    if reference_date is None and latest:
        reference_date = date.fromisoformat(latest)
    return EngineContext(
        schema=schema,
        dialect=dialect,
        glossary=glossary,
        values=values,
        years=years,
        reference_date=reference_date,
        min_confidence=min_confidence,
    )


def _row(database: Database, sql: str) -> tuple[Any, ...]:
    rows = database.execute(sql, 1).rows
    return tuple(rows[0]) if rows else (None, None)


def _scalar(database: Database, sql: str) -> Any:
    rows = database.execute(sql, 1).rows
    return rows[0][0] if rows else None
