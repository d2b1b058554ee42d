"""The data agent: everything the pipeline learns from a database, checked and cached.

It is the only code that runs SQL: `run` checks every statement with `safety` first.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlglot

from ..databases import safety
from ..databases.base import Database, DatabaseSchema, QueryResult
from ..engines.base import EngineContext
from ..glossary import Glossary

#: A text column with at most this many distinct values is indexed for value matching.
MAX_INDEXED_VALUES = 200


def run(database: Database, sql: str, limit: int) -> QueryResult:
    """Check `sql` with the safety module, then run it with a row limit."""
    safety.check(sql, database.dialect)
    return database.execute(sql, limit)


def _quote(identifier: str, dialect: str) -> str:
    return sqlglot.exp.to_identifier(identifier, quoted=True).sql(dialect=dialect)


class ContextCache:
    """Engine contexts per database, rebuilt when the database's schema object changes."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[DatabaseSchema, EngineContext]] = {}
        self._lock = threading.Lock()

    def get(self, database: Database, glossary: Glossary) -> EngineContext:
        schema = database.schema()
        with self._lock:
            cached = self._cache.get(database.name)
            if cached is not None and cached[0] is schema:
                return cached[1]
        context = build_context(database, schema, glossary)
        with self._lock:
            self._cache[database.name] = (schema, context)
        return context


def build_context(database: Database, schema: DatabaseSchema, glossary: Glossary) -> EngineContext:
    """Schema, glossary, distinct values of categorical text columns, and the span of years."""
    values: dict[tuple[str, str], list[str]] = {}
    first_year: int | None = None
    last_year: int | None = None
    dialect = database.dialect
    for table in schema.tables:
        if not table.row_count:
            continue
        tname = _quote(table.name, dialect)
        for column in table.columns:
            cname = _quote(column.name, dialect)
            if column.kind == "text" and not column.primary_key:
                count = _scalar(database, f"SELECT COUNT(DISTINCT {cname}) FROM {tname}")
                if count and count <= MAX_INDEXED_VALUES:
                    found = database.distinct_values(table.name, column.name, MAX_INDEXED_VALUES)
                    values[(table.name, column.name)] = [str(v) for v in found]
            elif column.kind == "date":
                low = _scalar(database, f"SELECT MIN({cname}) FROM {tname}")
                high = _scalar(database, f"SELECT MAX({cname}) FROM {tname}")
                if low and high:
                    first_year = min(first_year or 9999, int(str(low)[:4]))
                    last_year = max(last_year or 0, int(str(high)[:4]))
    years = (first_year, last_year) if first_year and last_year else None
    return EngineContext(
        schema=schema, dialect=dialect, glossary=glossary, values=values, years=years
    )


def _scalar(database: Database, sql: str) -> Any:
    rows = database.execute(sql, 1).rows
    return rows[0][0] if rows else None
