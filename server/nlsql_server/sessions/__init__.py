"""Session context kept by the server: the database a session points at and its conversation.

Two stores with one async interface (`open`, `save`, `append_turn`, `stats`, `aclose`):
`MemorySessionStore` (this process only, expiring and bounded) and `RedisSessionStore` (shared
by replicas, a hash and a list of turns per session, TTL refreshed on use, memory fallback while
Redis is away). A session is read whole but never written whole: turns are appended one by one,
so concurrent asks on one session never lose one. `build_store` picks a store from settings.
"""

from __future__ import annotations

from .memory import MemorySessionStore
from .model import MAX_HISTORY, Session, SessionStore, Turn
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
        return RedisSessionStore(redis_url, ttl=ttl)
    return MemorySessionStore(ttl=ttl, max_sessions=max_sessions)
