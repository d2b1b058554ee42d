"""Session context: the database a session points at and its conversation, kept by the server.

This is the in-process store; a Redis-backed store with the same interface comes with the
scale-out work. The interface is async so that a networked store slots in unchanged.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

#: Turns of conversation a session keeps.
MAX_HISTORY = 50


@dataclass
class Turn:
    question: str
    sql: str
    engine: str
    row_count: int
    database: str
    understood: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


@dataclass
class Session:
    session_id: str
    database: str | None = None
    history: list[Turn] = field(default_factory=list)

    def record(self, turn: Turn) -> None:
        self.history.append(turn)
        del self.history[:-MAX_HISTORY]

    def to_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "database": self.database,
            "history": [asdict(t) for t in self.history],
        }


class MemorySessionStore:
    """Sessions in this process. An unknown id opens a fresh session under that id."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}
        self._lock = asyncio.Lock()

    async def open(self, session_id: str | None, default_database: str | None) -> Session:
        """The session with this id (created if new); a new random id when none is given."""
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
        return {"backend": "memory", "sessions": len(self._sessions)}
