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

from ..databases import safety
from ..databases.base import (
    Column,
    Database,
    DatabaseSchema,
    QueryResult,
    Table,
    quote_identifier,
)
from ..databases.cost import Estimate, count
from ..engines.base import EngineContext
from ..engines.offline.words import name_words
from ..exceptions import InvalidParams, NeedsConfirmation
from ..glossary import Glossary

#: A text column with at most this many distinct values is indexed for value matching.
MAX_INDEXED_VALUES = 200
#: Words of date columns that hold planned days, not events: they do not fix "today".
_ISO_DATE = re.compile(r"\d{4}-\d{2}")
_PLANNED = {"due", "deadline", "expiry", "expires", "expiration", "planned", "until", "end"}
#: Columns one statement of statistics reads at most (SQLite allows 2,000 result columns).
_PER_STATEMENT = 500
#: A column whose statistics the context reads, and what it may be: `text`, `flag` or `date`.
Probe = tuple[Column, str]


@dataclass(frozen=True)
class CheckedSql:
    """A statement the safety module accepted for one dialect: what `execute` runs."""

    sql: str
    dialect: str


def check(sql: str, dialect: str) -> CheckedSql:
    """Accept `sql` if it is exactly one read-only statement in `dialect`; else raise `UnsafeSql`."""
    safety.check(sql, dialect)
    return CheckedSql(sql, dialect)


def preflight(database: Database, checked: CheckedSql, budget: int) -> Estimate | None:
    """The plan's estimate of a checked statement; raise `NeedsConfirmation` when it reads more
    than `budget` rows (0: no budget, nothing is asked of the database)."""
    if budget <= 0:
        return None
    estimate = database.estimate(checked.sql)
    if estimate is not None and estimate.rows > budget:
        raise NeedsConfirmation(
            f"This query would read about {count(estimate.rows)} rows ({estimate.kind}), more "
            f"than the {count(budget)} the server runs without asking (NLSQL_COST_BUDGET_ROWS). "
            f"Plan: {estimate.words} Run it anyway with `confirm: true`.",
            database=database.name,
            sql=checked.sql,
            budget=budget,
            estimate=estimate.to_dict(),
        )
    return estimate


def execute(
    database: Database,
    checked: CheckedSql,
    limit: int,
    arrow_after: int | None = None,
    budget: int = 0,
) -> QueryResult:
    """Run a checked statement with a row limit, as Arrow past `arrow_after` rows, unless its
    plan reads more than `budget` rows (`preflight`). Blocking: call it from a worker thread."""
    if checked.dialect != database.dialect:
        raise ValueError(f"SQL checked for {checked.dialect} cannot run on {database.dialect}")
    preflight(database, checked, budget)
    return database.execute(checked.sql, limit, arrow_after)


def run(
    database: Database, sql: str, limit: int, arrow_after: int | None = None, budget: int = 0
) -> QueryResult:
    """Check `sql` for `database`'s dialect, then run it with a row limit within `budget`."""
    return execute(database, check(sql, database.dialect), limit, arrow_after, budget)


def row_limit(limit: int | None, most: int) -> int:
    """The rows one result may carry: `limit` when given (a positive whole number), never more
    than `most` (the server's `row_limit`)."""
    if limit is None:
        return most
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidParams("`limit` must be a positive whole number.", limit=limit)
    return min(limit, most)


class ContextCache:
    """Engine contexts per database, rebuilt when the database's schema object or its glossary
    changes (an edited glossary file reaches the next question).

    A rebuilt context equal to the kept one (a write that changed no table, column, key, row
    count or indexed value) is dropped for the kept one, so the engines' schema index built for
    it (`index_for`, costly on a wide schema) is kept too.
    """

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
            kept = self._cache.get(database.name)
            if kept is not None and kept[1] == context:
                context = kept[1]
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
    of years, and the reference date (given, else the latest event date in the data).

    The data is read in two batches (`Database.read_many`): one statement of statistics per
    table, then the values of the text columns found categorical.
    """
    probes = _probes(schema, database.dialect)
    statements = [sql for _, _, sql in probes]
    found: dict[tuple[str, str], list[str] | None] = {}
    categorical: list[tuple[str, str]] = []
    first_year: int | None = None
    last_year: int | None = None
    latest: str | None = None
    for (table, chunk, _), rows in zip(probes, database.read_many(statements, 1), strict=True):
        cells = iter(rows[0])
        for column, what in chunk:
            key = (table.name, column.name)
            if what == "text":
                count = next(cells)
                if count and count <= MAX_INDEXED_VALUES:
                    found[key] = None  # filled below, in this order
                    categorical.append(key)
                continue
            low, high = next(cells), next(cells)
            if what == "flag" and low in (0, 1) and high in (0, 1):
                found[key] = ["0", "1"]  # a flag: "discontinued"
            elif (
                what == "date"
                and _ISO_DATE.match(str(low or ""))
                and _ISO_DATE.match(str(high or ""))
            ):
                # Only ISO dates ('2005-04-12…') tell years; '04/12/2005' in a DATE column
                # (SQLite stores whatever it is given) is left out, not misread.
                first_year = min(first_year or 9999, int(str(low)[:4]))
                last_year = max(last_year or 0, int(str(high)[:4]))
                if not _PLANNED & set(name_words(column.name)):
                    latest = max(latest or "", str(high)[:10])
    for key, distinct in zip(
        categorical, database.distinct_values_of(categorical, MAX_INDEXED_VALUES), strict=True
    ):
        found[key] = [str(v) for v in distinct]
    values = {key: known for key, known in found.items() if known is not None}
    years = (first_year, last_year) if first_year and last_year else None
    if reference_date is None and latest:
        reference_date = date.fromisoformat(latest)
    return EngineContext(
        schema=schema,
        dialect=database.dialect,
        glossary=glossary,
        values=values,
        years=years,
        reference_date=reference_date,
        min_confidence=min_confidence,
    )


def _probes(schema: DatabaseSchema, dialect: str) -> list[tuple[Table, list[Probe], str]]:
    """Per table with rows, the columns worth reading and one statement of their statistics:
    the distinct count of text columns, the lowest and highest integer (a 0/1 flag?) and date."""
    out = []
    for table in schema.tables:
        if not table.row_count:
            continue
        keys = {fk.column for fk in table.foreign_keys}
        probed: list[Probe] = []
        for column in table.columns:
            if column.kind == "text" and not column.primary_key:
                probed.append((column, "text"))
            elif column.kind == "integer" and not column.primary_key and column.name not in keys:
                probed.append((column, "flag"))
            elif column.kind == "date":
                probed.append((column, "date"))
        for start in range(0, len(probed), _PER_STATEMENT):
            chunk = probed[start : start + _PER_STATEMENT]
            parts = []
            for column, what in chunk:
                name = quote_identifier(column.name, dialect)
                parts += (
                    [f"COUNT(DISTINCT {name})"]
                    if what == "text"
                    else [f"MIN({name})", f"MAX({name})"]
                )
            out.append(
                (
                    table,
                    chunk,
                    f"SELECT {', '.join(parts)} FROM {quote_identifier(table.name, dialect)}",
                )
            )
    return out
