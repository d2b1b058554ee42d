"""Where blocking work runs: bounded thread pools per kind of work, and a share per client.

The drivers block, so their calls run in worker threads. One shared pool let 200 slow queries
queue `schema.tables` and `ping` behind them for tens of seconds; here each kind has its own:

- `queries` (`run_query`): the SQL a user asked for, the engines, the work on result rows;
- `cheap` (`run_cheap`): the registry, schema reads, what answers from memory or a cache.

Each pool is an anyio `CapacityLimiter` sized by settings (`query_threads`, `cheap_threads`).
A client (one WebSocket connection, or one address over HTTP: `as_client`) may have at most
`client_queries` queries running or waiting; one more is refused as `too_busy` at once.

A cancelled request (its client went away, or the server stops) stops its statement: the
database's `interrupt` hook runs from another thread, and the pool slot stays taken until the
thread has really returned, so the bound on threads holds. `ping` never comes here.

The pools belong to the running event loop (anyio `RunVar`): `install` sizes them at server
start; code that runs without a server (the CLI) gets the default sizes.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar

from .databases.interrupt import Work
from .exceptions import TooBusy
from .settings import Settings

T = TypeVar("T")


class Pools:
    """The two limiters and the count of queries per client, for one event loop."""

    def __init__(self, query_threads: int = 16, cheap_threads: int = 8, client_queries: int = 8):
        self.queries = CapacityLimiter(max(1, query_threads))
        self.cheap = CapacityLimiter(max(1, cheap_threads))
        # to_thread.run_sync needs a limiter; the two above already bound every call.
        self.threads = CapacityLimiter(self.queries.total_tokens + self.cheap.total_tokens)
        self.client_queries = max(1, client_queries)
        self.per_client: Counter[Hashable] = Counter()

    @classmethod
    def from_settings(cls, settings: Settings) -> Pools:
        return cls(settings.query_threads, settings.cheap_threads, settings.client_queries)

    def stats(self) -> dict[str, Any]:
        """Threads busy and calls waiting per pool (for `stats`)."""
        return {
            name: {
                "threads": limiter.total_tokens,
                "running": limiter.borrowed_tokens,
                "waiting": limiter.statistics().tasks_waiting,
            }
            for name, limiter in (("queries", self.queries), ("cheap", self.cheap))
        } | {"client_queries": self.client_queries}


_pools: RunVar[Pools] = RunVar("nlsql_pools")
_client: ContextVar[Hashable | None] = ContextVar("nlsql_client", default=None)


def install(settings: Settings) -> None:
    """Size the running event loop's pools from `settings` (the server's lifespan calls this)."""
    _pools.set(Pools.from_settings(settings))


def pools() -> Pools:
    """The running event loop's pools (default sizes when `install` was not called)."""
    try:
        return _pools.get()
    except LookupError:
        _pools.set(Pools())
        return _pools.get()


def stats() -> dict[str, Any]:
    return pools().stats()


@contextmanager
def as_client(key: Hashable) -> Iterator[None]:
    """Count the queries of the block (the current task and what it starts) against `key`."""
    token = _client.set(key)
    try:
        yield
    finally:
        _client.reset(token)


async def run_query(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the `queries` pool, within the current client's share."""
    current = pools()
    key = _client.get()
    if key is not None and current.per_client[key] >= current.client_queries:
        raise TooBusy(
            f"This client already has {current.client_queries} queries running or waiting; "
            "wait for one to finish (the server's NLSQL_CLIENT_QUERIES).",
            limit=current.client_queries,
        )
    if key is not None:
        current.per_client[key] += 1
    try:
        return await _run(current.queries, current.threads, fn, *args)
    finally:
        if key is not None:
            current.per_client[key] -= 1
            if not current.per_client[key]:
                del current.per_client[key]


async def run_result(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` on a result already admitted (encoding it): the `queries` pool, no share."""
    current = pools()
    return await _run(current.queries, current.threads, fn, *args)


async def run_cheap(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)` in the `cheap` pool: never queued behind queries."""
    current = pools()
    return await _run(current.cheap, current.threads, fn, *args)


async def _run(
    limiter: CapacityLimiter, threads: CapacityLimiter, fn: Callable[..., T], *args: Any
) -> T:
    work = Work()
    started = False

    async def job() -> T:
        nonlocal started
        async with limiter:
            started = True
            return await to_thread.run_sync(work.run, fn, *args, limiter=threads)

    # The job is its own task, so cancelling the request does not abandon the thread (asyncio
    # cancellation would): the slot is held until the thread returns, the statement stopped.
    task = asyncio.ensure_future(job())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if started:
            # Stopping may take a round trip to the database (MySQL's KILL QUERY): not here.
            threading.Thread(target=work.cancel, name="nlsql-cancel", daemon=True).start()
        else:
            task.cancel()
        task.add_done_callback(_forget)
        raise


def _forget(task: asyncio.Future[Any]) -> None:
    """Read a cancelled request's outcome, so asyncio does not log it as never retrieved."""
    if not task.cancelled():
        task.exception()
