"""SQLite backend: opened read-only (`mode=ro` + `query_only`), one connection per call.

A fresh connection per call keeps the backend safe to use from any worker thread; opening a
SQLite file costs microseconds. The schema is read once and cached until the file changes.
Memory is bounded by SQLite's hard heap limit (process-wide: `limit_heap`), time by a progress
handler, and a cancelled request stops its statement with `Connection.interrupt()`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from ..exceptions import DatabaseUnavailable, QueryFailed, UnknownTable
from ..settings import Settings
from . import interrupt
from .base import (
    Column,
    Database,
    DatabaseSchema,
    ForeignKey,
    QueryResult,
    ResultLimits,
    Table,
    fetch_bounded,
)

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: SQLite VM steps between two checks of a query's time limit (some 10-50 ms): each check takes
#: the GIL, and thousands a second per query thread slow every other thread, the event loop's.
PROGRESS_STEPS = 1_000_000


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


def limit_heap(max_bytes: int) -> None:
    """Bound the memory all SQLite connections of this process may hold (0: no bound).

    SQLite's hard heap limit is one setting per process, not per connection: every statement
    that would pass it fails with "out of memory" (Python's `MemoryError`) before it is built.
    """
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(f"PRAGMA hard_heap_limit = {int(max_bytes)}")
    finally:
        conn.close()


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
        limits: ResultLimits | None = None,
        heap_bytes: int = 0,
    ) -> None:
        path = path.resolve()
        check_sqlite_file(path)
        super().__init__(name, f"sqlite:///{path}", description, limits)
        self.path = path
        self.timeout = timeout
        self.heap_bytes = heap_bytes
        if heap_bytes:
            limit_heap(heap_bytes)
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
            limits=ResultLimits(settings.max_result_bytes, settings.max_cell_bytes),
            heap_bytes=settings.sqlite_heap_bytes,
        )

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only = ON")
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
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
        try:
            with interrupt.stoppable(conn.interrupt):
                return fetch_bounded(conn.execute(sql), limit, self.limits)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc):
                if interrupt.cancelled():
                    raise QueryFailed("The request was cancelled; its query stopped.") from exc
                raise QueryFailed(
                    f"The query ran longer than {self.timeout:g} s and was stopped.",
                    timeout=self.timeout,
                ) from exc
            raise QueryFailed(f"SQLite refused the query: {exc}") from exc
        except sqlite3.Error as exc:
            raise QueryFailed(f"SQLite refused the query: {exc}") from exc
        except MemoryError as exc:
            bound = f" ({self.heap_bytes >> 20} MiB, NLSQL_SQLITE_HEAP_BYTES)" * bool(
                self.heap_bytes
            )
            raise QueryFailed(
                f"The query needed more memory than the server gives SQLite{bound} and was "
                "stopped.",
                heap_bytes=self.heap_bytes,
            ) from exc
        finally:
            conn.close()

    def distinct_values(self, table: str, column: str, limit: int) -> list[Any]:
        found = self.schema().table(table)
        if found is None or found.column(column) is None:
            raise UnknownTable(f"No column {table}.{column} in {self.name}.")
        sql = (
            f"SELECT {_quote(column)} FROM {_quote(found.name)} WHERE {_quote(column)} IS NOT NULL "
            f"GROUP BY {_quote(column)} ORDER BY COUNT(*) DESC LIMIT {int(limit)}"
        )
        return [row[0] for row in self.execute(sql, limit).rows]
