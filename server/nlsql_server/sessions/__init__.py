"""Session context kept by the server: the database a session points at and its conversation.

Two stores with one async interface (`open`, `save`, `append_turn`, `stats`, `aclose`):
`MemorySessionStore` (this process only, expiring and bounded) and `RedisSessionStore` (shared
by replicas, a hash and a list of turns per session, TTL refreshed on use, memory fallback while
Redis is away). A session is read whole but never written whole: turns are appended one by one,
so concurrent asks on one session never lose one. `build_store` picks a store from settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .memory import MemorySessionStore
from .model import MAX_HISTORY, Session, SessionStore, Turn

if TYPE_CHECKING:
    from .redis_store import RedisSessionStore

__all__ = [
    "MAX_HISTORY",
    "MemorySessionStore",
    "RedisSessionStore",
    "Session",
    "SessionStore",
    "Turn",
    "build_store",
]


def build_store(
    redis_url: str | None, ttl: float = 3600.0, max_sessions: int = 10_000
) -> SessionStore:
    """Redis when a URL is configured (`NLSQL_REDIS_URL`), else this process's memory."""
    if redis_url:
        from .redis_store import RedisSessionStore

        return RedisSessionStore(redis_url, ttl=ttl)
    return MemorySessionStore(ttl=ttl, max_sessions=max_sessions)


def __getattr__(name: str) -> Any:
    # redis-py loads only with the Redis store: a server on the memory store (the embedded
    # default) never pays its ~0.2 s import.
    if name == "RedisSessionStore":
        from .redis_store import RedisSessionStore

        return RedisSessionStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
