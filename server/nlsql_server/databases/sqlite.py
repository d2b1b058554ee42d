"""SQLite backend: opened read-only (`mode=ro` + `query_only`), one connection per call.

A fresh connection per call keeps the backend safe to use from any worker thread; opening a
SQLite file costs microseconds. The schema is read once and cached until the file changes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ..exceptions import DatabaseUnavailable, QueryFailed, UnknownTable
from ..settings import Settings
from .base import Column, Database, DatabaseSchema, ForeignKey, QueryResult, Table

_SQLITE_MAGIC = b"SQLite format 3\x00"


def check_sqlite_file(path: Path) -> None:
    """Raise `DatabaseUnavailable` unless `path` is an existing SQLite database file."""
    if not path.exists():
        raise DatabaseUnavailable(f"No such SQLite file: {path}", path=str(path))
    if not path.is_file():
        raise DatabaseUnavailable(f"Not a file: {path}", path=str(path))
    with path.open("rb") as handle:
        header = handle.read(len(_SQLITE_MAGIC))
    if header != _SQLITE_MAGIC:
        raise DatabaseUnavailable(f"Not a SQLite database: {path}", path=str(path))


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(
        self,
        name: str,
        path: Path,
        description: str = "",
        timeout: float = 30.0,
        max_value_bytes: int = 16 << 20,
    ) -> None:
        path = path.resolve()
        check_sqlite_file(path)
        super().__init__(name, f"sqlite:///{path}", description)
        self.path = path
        self.timeout = timeout
        self.max_value_bytes = max_value_bytes
        self._schema: DatabaseSchema | None = None
        self._schema_stamp: tuple[float, ...] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, name: str, path: Path, description: str, settings: Settings
    ) -> SqliteDatabase:
        return cls(
            name,
            path,
            description,
            timeout=settings.query_timeout,
            max_value_bytes=settings.max_value_bytes,
        )

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
            # A string or blob past this fails the statement at once ("string or blob too
            # big"): one step can build a huge value before the time limit is ever checked.
            conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_value_bytes)
        except sqlite3.Error as exc:
            raise DatabaseUnavailable(
                f"Cannot open {self.path}: {exc}", path=str(self.path)
            ) from exc
        return conn

    def _stamp(self) -> tuple[float, ...]:
        """Changes whenever the file is written: in WAL mode the write-ahead log changes first."""
        stamp: tuple[float, ...] = ()
        for path in (self.path, self.path.with_name(self.path.name + "-wal")):
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            stamp += (stat.st_mtime_ns, stat.st_size)
        return stamp

    def schema(self) -> DatabaseSchema:
        stamp = self._stamp()
        with self._lock:
            if self._schema is None or stamp != self._schema_stamp:
                self._schema = self._read_schema()
                self._schema_stamp = stamp
            return self._schema

    def _read_schema(self) -> DatabaseSchema:
        conn = self._connect()
        try:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            tables = []
            for name in names:
                columns = tuple(
                    Column(
                        name=r[1],
                        type=r[2] or "",
                        nullable=not r[3] and not r[5],
                        primary_key=bool(r[5]),
                    )
                    for r in conn.execute(f"PRAGMA table_info({_quote(name)})")
                )
                fks = tuple(
                    ForeignKey(column=r[3], ref_table=r[2], ref_column=r[4] or "")
                    for r in conn.execute(f"PRAGMA foreign_key_list({_quote(name)})")
                )
                (count,) = conn.execute(f"SELECT COUNT(*) FROM {_quote(name)}").fetchone()
                tables.append(Table(name=name, columns=columns, foreign_keys=fks, row_count=count))
        except sqlite3.DatabaseError as exc:
            raise DatabaseUnavailable(
                f"Cannot read {self.path}: {exc}", path=str(self.path)
            ) from exc
        finally:
            conn.close()
        return DatabaseSchema(tables=tuple(tables))

    def execute(self, sql: str, limit: int) -> QueryResult:
        conn = self._connect()
        deadline = time.monotonic() + self.timeout
        # Returning non-zero from the progress handler interrupts the statement: our time limit.
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)
        try:
            cursor = conn.execute(sql)
            rows = cursor.fetchmany(limit + 1)
            columns = [d[0] for d in cursor.description or ()]
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryFailed(
                    f"The query ran longer than {self.timeout:g} s and was stopped.",
                    timeout=self.timeout,
                ) from exc
            raise QueryFailed(f"SQLite refused the query: {exc}") from exc
        except sqlite3.Error as exc:
            raise QueryFailed(f"SQLite refused the query: {exc}") from exc
        finally:
            conn.close()
        truncated = len(rows) > limit
        return QueryResult(
            columns=columns, rows=[list(r) for r in rows[:limit]], truncated=truncated
        )

    def distinct_values(self, table: str, column: str, limit: int) -> list[Any]:
        found = self.schema().table(table)
        if found is None or found.column(column) is None:
            raise UnknownTable(f"No column {table}.{column} in {self.name}.")
        sql = (
            f"SELECT {_quote(column)} FROM {_quote(found.name)} WHERE {_quote(column)} IS NOT NULL "
            f"GROUP BY {_quote(column)} ORDER BY COUNT(*) DESC LIMIT {int(limit)}"
        )
        return [row[0] for row in self.execute(sql, limit).rows]
