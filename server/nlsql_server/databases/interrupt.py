"""Stopping a statement from another thread, when the request that wanted it is cancelled.

Blocking work runs in a worker thread as one `Work` (see `nlsql_server.workers`). While a
backend runs a statement it registers how to stop it (`stoppable(conn.interrupt)` for SQLite, a
`KILL QUERY` for MySQL); `Work.cancel()`, called from another thread, calls that, so the thread
comes back in milliseconds instead of running on for a client that has gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import ParamSpec, TypeVar

from ..exceptions import QueryFailed

P = ParamSpec("P")
T = TypeVar("T")

_current: ContextVar[Work | None] = ContextVar("nlsql_work", default=None)


class Work:
    """One call in a worker thread that another thread may cancel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stop: Callable[[], None] | None = None
        self.cancelled = False

    def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call `fn` in this thread as this work (a cancelled work does not start)."""
        token = _current.set(self)
        try:
            if self.cancelled:
                raise QueryFailed("The request was cancelled before its query started.")
            return fn(*args, **kwargs)
        finally:
            _current.reset(token)

    def cancel(self) -> None:
        """Mark the work cancelled and stop the statement it is running, if any."""
        with self._lock:
            self.cancelled = True
            if self._stop is not None:
                self._stop()


def cancelled() -> bool:
    """True when the work this thread runs was cancelled (its statement's error is not ours)."""
    work = _current.get()
    return work is not None and work.cancelled


@contextmanager
def stoppable(stop: Callable[[], None]) -> Iterator[None]:
    """While the block runs, cancelling the current work calls `stop` (from the cancelling thread).

    `stop` runs under the work's lock, so it never meets a connection the block already closed.
    """
    work = _current.get()
    if work is None:
        yield
        return
    with work._lock:
        if work.cancelled:
            raise QueryFailed("The request was cancelled.")
        work._stop = stop
    try:
        yield
    finally:
        with work._lock:
            work._stop = None
