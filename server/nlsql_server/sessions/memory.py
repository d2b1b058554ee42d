"""Sessions in this process only: the default, and what a lone server or the kernel's bundled
server needs. Lost when the process ends (the kernel then re-points its session, see
`nlsql_jupyter.session`)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from .model import Session


class MemorySessionStore:
    """Sessions in a dict. An unknown id opens a fresh session under that id."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = asyncio.Lock()

    async def open(self, session_id: str | None, default_database: str | None) -> Session:
        async with self._lock:
            sid = session_id or uuid.uuid4().hex
            session = self._sessions.get(sid)
            if session is None:
                session = Session(session_id=sid, database=default_database)
                self._sessions[sid] = session
            return session

    async def save(self, session: Session) -> None:
        async with self._lock:
            self._sessions[session.session_id] = session

    def stats(self) -> dict[str, Any]:
        return {"backend": "memory", "degraded": False, "sessions": len(self._sessions)}

    async def aclose(self) -> None:
        return None
