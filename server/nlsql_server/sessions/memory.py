"""Sessions in this process only: the default, and what a lone server or the kernel's bundled
server needs. Lost when the process ends (the kernel then re-points its session, see
`nlsql_jupyter.session`)."""

from __future__ import annotations

import asyncio
from typing import Any

from cachetools import TTLCache

from .model import Session, Turn, new_session_id


class MemorySessionStore:
    """Sessions in a dict that forgets, like Redis would: a session unused for `ttl` seconds
    expires, and past `max_sessions` the least recently used goes first (a client that comes
    back then gets a fresh session under its id). An unknown id opens a fresh session.

    Callers get copies and change the stored session only through `save` and `append_turn`,
    each under the lock: the same rules as the Redis store, so code that works on one works
    on the other.
    """

    def __init__(self, ttl: float = 3600.0, max_sessions: int = 10_000) -> None:
        self._sessions: TTLCache[str, Session] = TTLCache(maxsize=max_sessions, ttl=ttl)
        self._lock = asyncio.Lock()

    async def open(self, session_id: str | None, default_database: str | None) -> Session:
        async with self._lock:
            return self._use(new_session_id(session_id), default_database).copy()

    async def save(self, session: Session) -> None:
        async with self._lock:
            self._use(session.session_id, session.database).database = session.database

    async def append_turn(self, session_id: str, turn: Turn) -> None:
        async with self._lock:
            self._use(session_id, turn.database).record(turn)

    def _use(self, session_id: str, database: str | None) -> Session:
        """The stored session (created on `database` if unknown), its time to live restarted."""
        session = self._sessions.get(session_id)
        if session is None:
            session = Session(session_id=session_id, database=database)
        self._sessions[session_id] = session
        return session

    def stats(self) -> dict[str, Any]:
        self._sessions.expire()
        return {"backend": "memory", "degraded": False, "sessions": len(self._sessions)}

    async def aclose(self) -> None:
        return None
