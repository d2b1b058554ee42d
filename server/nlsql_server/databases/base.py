"""What every database backend offers, and the schema and result models they share.

The models are frozen dataclasses: plain data that the engines, the tools and the protocol read,
and that turn into JSON with `to_dict()`.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cache, cached_property
from typing import Any

import sqlglot

from ..exceptions import UnknownTable
from .arrow import ROWS_PER_BATCH, ArrowBuilder, ArrowRows
from .cost import Estimate


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False

    @property
    def kind(self) -> str:
        """A coarse type: `integer`, `number`, `date`, `text` or `other` (for engines and charts)."""
        return column_kind(self.type)


@dataclass(frozen=True)
class ForeignKey:
    column: str
    ref_table: str
    ref_column: str


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    row_count: int | None = None

    def column(self, name: str) -> Column | None:
        """The column called `name` (case-insensitive), or None."""
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    @property
    def primary_key(self) -> list[str]:
        return [c.name for c in self.columns if c.primary_key]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "columns": [asdict(c) | {"kind": c.kind} for c in self.columns],
            "foreign_keys": [asdict(fk) for fk in self.foreign_keys],
            "rows": self.row_count,
        }


@dataclass(frozen=True)
class DatabaseSchema:
    """Everything the engines know about a database's structure."""

    tables: tuple[Table, ...]

    def table(self, name: str) -> Table | None:
        """The table called `name` (case-insensitive), or None."""
        return self._by_name.get(name.lower())

    @cached_property
    def _by_name(self) -> dict[str, Table]:
        """Tables by lower-cased name: a lookup per foreign key stays cheap at 1,000 tables."""
        by_name: dict[str, Table] = {}
        for table in self.tables:
            by_name.setdefault(table.name.lower(), table)
        return by_name

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False
    #: Why the rows are fewer or shorter than the query's, when a size cap (not the row limit)
    #: cut them.
    note: str | None = None
    #: The rows as Arrow instead of `rows` (then empty): a large result for a client that asked.
    arrow: ArrowRows | None = None

    @property
    def row_count(self) -> int:
        return len(self.rows) if self.arrow is None else self.arrow.num_rows

    def to_dict(self) -> dict[str, Any]:
        result = {
            "columns": self.columns,
            "rows": self.rows,
            "row_count": self.row_count,
            "truncated": self.truncated,
        }
        if self.note is not None:
            result["note"] = self.note
        if self.arrow is not None:
            result["arrow"] = self.arrow
        return result


@dataclass(frozen=True)
class ResultLimits:
    """How much of a result one answer carries besides its row limit: never a 100 MB response.

    Sizes count characters of text, bytes of blobs and 8 per other value: about the JSON size.
    """

    max_bytes: int = 64 << 20
    max_cell_bytes: int = 1 << 20


#: Rows fetched from a cursor at a time.
FETCH_BATCH = 1000
_SIZED = (str, bytes, bytearray)


def fetch_bounded(
    cursor: Any, limit: int, limits: ResultLimits, arrow_after: int | None = None
) -> QueryResult:
    """The rows of an executed DB-API cursor, within `limit` rows and `limits`.

    Rows past a cap are never fetched; a cell longer than `max_cell_bytes` is cut to it. Either
    sets `truncated`, with a `note` saying which cap and how to raise it. With `arrow_after`,
    a result of more rows than that is built as Arrow as it is fetched (`QueryResult.arrow`),
    never held as Python rows all at once.
    """
    columns = [d[0] for d in cursor.description or ()]
    rows: list[list[Any]] = []
    builder: ArrowBuilder | None = None
    taken = 0
    size = 0
    cut_cells = 0
    full = False
    while taken < limit and not full:
        batch = cursor.fetchmany(
            min(FETCH_BATCH if builder is None else ROWS_PER_BATCH, limit - taken)
        )
        if not batch:
            break
        if builder is not None:
            used = builder.add_within(batch, limits.max_bytes - size, limits.max_cell_bytes)
            if used is not None:
                size += used
                taken += len(batch)
                continue
        sizes = [len(v) if isinstance(v, _SIZED) else 8 for row in batch for v in row]
        if size + sum(sizes) <= limits.max_bytes and max(sizes, default=0) <= limits.max_cell_bytes:
            accepted: list[Any] = batch
            size += sum(sizes)
        else:
            accepted = []
            for row in batch:  # the slow path, only for a batch that meets a cap
                cells = list(row)
                for i, value in enumerate(cells):
                    if isinstance(value, _SIZED) and len(value) > limits.max_cell_bytes:
                        cells[i] = value[: limits.max_cell_bytes]
                        cut_cells += 1
                row_size = sum(len(v) if isinstance(v, _SIZED) else 8 for v in cells)
                if size + row_size > limits.max_bytes:
                    full = True
                    break
                accepted.append(cells)
                size += row_size
        taken += len(accepted)
        if builder is None:
            rows.extend(map(list, accepted))
            if arrow_after is not None and taken > arrow_after:
                builder = ArrowBuilder(columns)
                builder.add(rows)
                rows = []
        else:
            builder.add(accepted)
    more = full or (taken >= limit and cursor.fetchone() is not None)
    notes = []
    if full:
        notes.append(
            f"Only the first {taken:,} rows: the answer's size cap is "
            f"{limits.max_bytes:,} bytes (NLSQL_MAX_RESULT_BYTES)"
        )
    if cut_cells:
        notes.append(
            f"{cut_cells:,} values longer than {limits.max_cell_bytes:,} characters were cut "
            "(NLSQL_MAX_CELL_BYTES)"
        )
    note = "; ".join(notes) + "." if notes else None
    arrow = None if builder is None else ArrowRows(builder.table())
    return QueryResult(
        columns=columns, rows=rows, truncated=more or bool(cut_cells), note=note, arrow=arrow
    )


@cache  # a handful of declared types, asked about for every column of every table
def column_kind(sql_type: str) -> str:
    """Map a declared SQL type to `integer`, `number`, `date`, `text` or `other`."""
    t = sql_type.upper()
    if "INT" in t:
        return "integer"
    if any(word in t for word in ("REAL", "FLOA", "DOUB", "DEC", "NUMERIC")):
        return "number"
    if "DATE" in t or "TIME" in t:
        return "date"
    if any(word in t for word in ("CHAR", "TEXT", "CLOB", "ENUM", "STRING")) or t == "":
        return "text"
    return "other"


def quote_identifier(name: str, dialect: str) -> str:
    """`name` quoted for `dialect` as sqlglot quotes it, at a string's cost: the engine context
    quotes thousands of names on a wide schema."""
    start, end = _identifier_quotes(dialect)
    return start + name.replace(end, end * 2) + end


@cache
def _identifier_quotes(dialect: str) -> tuple[str, str]:
    found = sqlglot.Dialect.get_or_raise(dialect)
    return found.IDENTIFIER_START, found.IDENTIFIER_END


class Database(abc.ABC):
    """One database the server can read. Methods are blocking: call them from a worker thread."""

    #: sqlglot dialect name of the engine behind it (`sqlite`, `mysql`).
    dialect: str

    def __init__(
        self, name: str, url: str, description: str = "", limits: ResultLimits | None = None
    ) -> None:
        self.name = name
        self.url = url
        self.description = description
        self.limits = limits or ResultLimits()

    @abc.abstractmethod
    def schema(self) -> DatabaseSchema:
        """Tables, columns, keys and row counts (cached by the backend)."""

    @abc.abstractmethod
    def execute(self, sql: str, limit: int, arrow_after: int | None = None) -> QueryResult:
        """Run one statement already checked by `safety`; at most `limit` rows come back, within
        `self.limits` (`fetch_bounded`), as Arrow past `arrow_after` rows. A cancelled
        request's statement stops (`interrupt`)."""

    def estimate(self, sql: str) -> Estimate | None:
        """What running a statement already checked by `safety` would cost, from the
        database's plan, without running it; None when the database gives no estimate."""
        return None

    def read_many(self, statements: Sequence[str], limit: int) -> list[list[list[Any]]]:
        """The rows (at most `limit` each) of statements the server wrote itself to learn about
        the data, such as the engine context's statistics: thousands on a wide schema.

        Backends that can run them on one connection do (a new SQLite connection re-reads the
        whole schema first, milliseconds at 1,000 tables); this default runs each alone.
        """
        return [self.execute(sql, limit).rows for sql in statements]

    def distinct_values(self, table: str, column: str, limit: int) -> list[Any]:
        """Up to `limit` distinct non-null values of a column, most frequent first."""
        return self.distinct_values_of([(table, column)], limit)[0]

    def distinct_values_of(self, columns: Sequence[tuple[str, str]], limit: int) -> list[list[Any]]:
        """`distinct_values` of each (table, column), read together (`read_many`); ties in
        frequency come in value order, so every backend lists the same values."""
        schema = self.schema()
        statements = []
        for table_name, column_name in columns:
            table = schema.table(table_name)
            column = table.column(column_name) if table is not None else None
            if table is None or column is None:
                raise UnknownTable(f"No column {table_name}.{column_name} in {self.name}.")
            name = quote_identifier(column.name, self.dialect)
            of = quote_identifier(table.name, self.dialect)
            statements.append(
                f"SELECT {name} FROM {of} WHERE {name} IS NOT NULL "
                f"GROUP BY {name} ORDER BY COUNT(*) DESC, {name} LIMIT {int(limit)}"
            )
        return [[row[0] for row in rows] for rows in self.read_many(statements, limit)]

    def close(self) -> None:
        """Release connections; the default has nothing to release."""
