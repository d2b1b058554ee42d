"""What every database backend offers, and the schema and result models they share.

The models are frozen dataclasses: plain data that the engines, the tools and the protocol read,
and that turn into JSON with `to_dict()`.
"""

from __future__ import annotations

import abc
from dataclasses import asdict, dataclass
from typing import Any


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
        lowered = name.lower()
        return next((t for t in self.tables if t.name.lower() == lowered), None)

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": self.columns,
            "rows": self.rows,
            "row_count": self.row_count,
            "truncated": self.truncated,
        }


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


class Database(abc.ABC):
    """One database the server can read. Methods are blocking: call them from a worker thread."""

    #: sqlglot dialect name of the engine behind it (`sqlite`, `mysql`).
    dialect: str

    def __init__(self, name: str, url: str, description: str = "") -> None:
        self.name = name
        self.url = url
        self.description = description

    @abc.abstractmethod
    def schema(self) -> DatabaseSchema:
        """Tables, columns, keys and row counts (cached by the backend)."""

    @abc.abstractmethod
    def execute(self, sql: str, limit: int) -> QueryResult:
        """Run one statement already checked by `safety`; at most `limit` rows come back."""

    @abc.abstractmethod
    def distinct_values(self, table: str, column: str, limit: int) -> list[Any]:
        """Up to `limit` distinct non-null values of a column, most frequent first."""

    def close(self) -> None:
        """Release connections; the default has nothing to release."""
