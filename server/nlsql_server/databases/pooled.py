"""What the database-server backends (MySQL/MariaDB/TiDB, PostgreSQL) share: a small pool of
connections, one per statement, and a schema read again only when the catalog changes.

The pool is written here rather than taken from the drivers: pymysql has none, pymysql's
`ping(reconnect=True)` would reconnect silently and lose the session's read-only mode and time
limit, and psycopg_pool waits out its whole timeout on a server that is down instead of saying
at once why it cannot connect.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from ..exceptions import DatabaseUnavailable, QueryFailed
from .base import DatabaseSchema

C = TypeVar("C")

#: A pooled connection idle longer than this is checked (`Connections.alive`) before reuse.
PING_AFTER_SECONDS = 1.0
#: Seconds between two reads of the catalog's fingerprint (`SchemaCache`).
SCHEMA_CHECK_SECONDS = 5.0


class Connections(Protocol[C]):
    """How one driver opens, checks and closes its connections."""

    def open(self) -> C:
        """A new connection set up for reading (read-only, time limit); errors are ours."""

    def alive(self, conn: C) -> bool:
        """Whether an idle connection still answers (a dead one is closed and replaced)."""

    def reusable(self, conn: C) -> bool:
        """Whether a connection given back may serve the next statement."""

    def close(self, conn: C) -> None:
        """Close quietly: a connection already gone has nothing left to release."""


class Pool(Generic[C]):
    """Up to `size` connections, handed out one per statement and kept open between them."""

    def __init__(self, address: str, size: int, timeout: float, connections: Connections[C]):
        self.address = address
        self.size = max(1, size)
        self.timeout = timeout
        self.connections = connections
        self._idle: queue.LifoQueue[tuple[C, float]] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(self.size)
        self._closed = False

    def acquire(self) -> tuple[C, bool]:
        """A live connection and whether it came from the pool (it may have gone stale)."""
        if self._closed:
            raise DatabaseUnavailable(f"The connection pool to {self.address} is closed.")
        if not self._slots.acquire(timeout=self.timeout):
            raise QueryFailed(
                f"All {self.size} connections to {self.address} stayed busy for "
                f"{self.timeout:g} s; try again, or raise NLSQL_POOL_SIZE.",
                pool_size=self.size,
            )
        try:
            while True:
                try:
                    conn, since = self._idle.get_nowait()
                except queue.Empty:
                    return self.connections.open(), False
                if time.monotonic() - since < PING_AFTER_SECONDS:
                    return conn, True
                if self.connections.alive(conn):
                    return conn, True
                self.connections.close(conn)
        except BaseException:
            self._slots.release()
            raise

    def release(self, conn: C, reusable: bool) -> None:
        if reusable and not self._closed and self.connections.reusable(conn):
            self._idle.put((conn, time.monotonic()))
        else:
            self.connections.close(conn)
        self._slots.release()

    def idle(self) -> int:
        """Connections kept open for the next statements."""
        return self._idle.qsize()

    def close(self) -> None:
        self._closed = True
        while True:
            try:
                conn, _ = self._idle.get_nowait()
            except queue.Empty:
                return
            self.connections.close(conn)


class SchemaCache:
    """A schema read again only when the catalog's fingerprint (tables, columns, their times)
    changes, and the fingerprint itself read at most every `SCHEMA_CHECK_SECONDS`."""

    def __init__(
        self, fingerprint: Callable[[], tuple[Any, ...]], read: Callable[[], DatabaseSchema]
    ) -> None:
        self._fingerprint_of = fingerprint
        self._read = read
        self._schema: DatabaseSchema | None = None
        self._fingerprint: tuple[Any, ...] | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    def get(self) -> DatabaseSchema:
        with self._lock:
            now = time.monotonic()
            if self._schema is not None and now - self._checked_at < SCHEMA_CHECK_SECONDS:
                return self._schema
            fingerprint = self._fingerprint_of()
            self._checked_at = time.monotonic()
            if self._schema is None or fingerprint != self._fingerprint:
                self._schema = self._read()
                self._fingerprint = fingerprint
            return self._schema
