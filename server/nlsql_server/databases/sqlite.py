"""SQLite backend: opened read-only (`mode=ro` + `query_only`), one connection per call.

A fresh connection per call keeps the backend safe to use from any worker thread. Its first
statement reads the whole schema (milliseconds at 1,000 tables), so the server's own reading of
the data goes through `read_many`: one connection for all of it. The schema is read once (in a
few statements) and cached until the file changes. Memory is bounded by SQLite's hard heap
limit (process-wide: `limit_heap`), time by a progress handler, and a cancelled request stops
its statement with `Connection.interrupt()`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..exceptions import DatabaseUnavailable, QueryFailed
from ..settings import Settings
from . import interrupt, plans
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
from .cost import Estimate

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


#: The rows of `sqlite_master AS m` a schema lists: tables and views, SQLite's own aside.
_LISTED = "m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite_%'"
#: Row counts one statement reads (SQLite allows 500 terms in a UNION ALL).
_COUNTS_PER_STATEMENT = 400


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
        """Every table's columns and keys in two statements (the pragma table-valued functions
        joined with `sqlite_master`) and row counts 400 tables a statement, on one connection."""
        conn = self._connect()
        try:
            names = [
                row[0]
                for row in conn.execute(
                    f"SELECT m.name FROM sqlite_master AS m WHERE {_LISTED} ORDER BY m.name"
                )
            ]
            columns: dict[str, list[Column]] = {name: [] for name in names}
            for table, name, type_, notnull, pk in conn.execute(
                'SELECT m.name, p.name, p.type, p."notnull", p.pk '
                "FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
                f"WHERE {_LISTED} ORDER BY m.name, p.cid"
            ):
                nullable = not notnull and not pk
                columns[table].append(Column(name, type_ or "", nullable, bool(pk)))
            keys: dict[str, list[ForeignKey]] = {name: [] for name in names}
            for table, column, ref_table, ref_column in conn.execute(
                'SELECT m.name, f."from", f."table", f."to" '
                "FROM sqlite_master AS m, pragma_foreign_key_list(m.name) AS f "
                f"WHERE {_LISTED} ORDER BY m.name, f.id, f.seq"
            ):
                keys[table].append(ForeignKey(column, ref_table, ref_column or ""))
            counts: dict[int, int] = {}
            for start in range(0, len(names), _COUNTS_PER_STATEMENT):
                counts.update(
                    conn.execute(
                        " UNION ALL ".join(
                            f"SELECT {i}, COUNT(*) FROM {_quote(names[i])}"
                            for i in range(start, min(start + _COUNTS_PER_STATEMENT, len(names)))
                        )
                    ).fetchall()
                )
            tables = tuple(
                Table(
                    name=name,
                    columns=tuple(columns[name]),
                    foreign_keys=tuple(keys[name]),
                    row_count=counts[i],
                )
                for i, name in enumerate(names)
            )
        except sqlite3.DatabaseError as exc:
            raise DatabaseUnavailable(
                f"Cannot read {self.path}: {exc}", path=str(self.path)
            ) from exc
        finally:
            conn.close()
        return DatabaseSchema(tables=tables)

    def read_many(self, statements: Sequence[str], limit: int) -> list[list[list[Any]]]:
        """All on one connection, each statement with its own time limit."""
        conn = self._connect()
        deadline = [0.0]
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline[0]), PROGRESS_STEPS)
        out = []
        try:
            with interrupt.stoppable(conn.interrupt):
                for sql in statements:
                    deadline[0] = time.monotonic() + self.timeout
                    out.append([list(row) for row in conn.execute(sql).fetchmany(limit)])
        except (sqlite3.Error, MemoryError) as exc:
            raise self._failed(exc) from exc
        finally:
            conn.close()
        return out

    def execute(self, sql: str, limit: int, arrow_after: int | None = None) -> QueryResult:
        conn = self._connect()
        deadline = time.monotonic() + self.timeout
        # Returning non-zero from the progress handler interrupts the statement: our time limit.
        conn.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
        try:
            with interrupt.stoppable(conn.interrupt):
                return fetch_bounded(conn.execute(sql), limit, self.limits, arrow_after)
        except (sqlite3.Error, MemoryError) as exc:
            raise self._failed(exc) from exc
        finally:
            conn.close()

    def estimate(self, sql: str) -> Estimate:
        """`EXPLAIN QUERY PLAN` read against the cached row counts (`plans.sqlite`)."""
        schema = self.schema()
        conn = self._connect()
        try:
            rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        except (sqlite3.Error, MemoryError) as exc:
            raise self._failed(exc) from exc
        finally:
            conn.close()
        return plans.sqlite(rows, schema, sql)

    def _failed(self, exc: sqlite3.Error | MemoryError) -> QueryFailed:
        """What stopped a statement, said to the user: a cancel, the time limit, memory, or
        SQLite's refusal."""
        if isinstance(exc, MemoryError):
            bound = f" ({self.heap_bytes >> 20} MiB, NLSQL_SQLITE_HEAP_BYTES)" * bool(
                self.heap_bytes
            )
            return QueryFailed(
                f"The query needed more memory than the server gives SQLite{bound} and was "
                "stopped.",
                heap_bytes=self.heap_bytes,
            )
        if isinstance(exc, sqlite3.OperationalError) and "interrupted" in str(exc):
            if interrupt.cancelled():
                return QueryFailed("The request was cancelled; its query stopped.")
            return QueryFailed(
                f"The query ran longer than {self.timeout:g} s and was stopped.",
                timeout=self.timeout,
            )
        return QueryFailed(f"SQLite refused the query: {exc}")
