"""A session's data and its JSON form, and the interface every store offers."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from ..exceptions import InvalidParams

#: Turns of conversation a session keeps.
MAX_HISTORY = 50
#: Characters a session id may have: clients make ids (uuid4 hex is 32), and every id is a key
#: kept in memory or in Redis.
MAX_SESSION_ID = 128


def new_session_id(session_id: str | None) -> str:
    """`session_id`, checked, or a fresh one when the client gave none."""
    if session_id is None:
        return uuid.uuid4().hex
    if len(session_id) > MAX_SESSION_ID or not session_id.isprintable():
        raise InvalidParams(
            f"A session id is at most {MAX_SESSION_ID} printable characters.",
            param="session_id",
        )
    return session_id


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

    def copy(self) -> Session:
        """A copy a caller may change without changing the stored session (turns are shared:
        nobody changes a turn once recorded)."""
        return Session(self.session_id, self.database, list(self.history))


def turn_to_json(turn: Turn) -> str:
    """A turn as a networked store keeps it (one list entry per turn)."""
    return json.dumps(asdict(turn), default=str, ensure_ascii=False)


def turn_from_json(text: str | bytes) -> Turn:
    return Turn(**json.loads(text))


class SessionStore(Protocol):
    """What the pipeline and the RPC methods need from a store.

    A session is read whole (`open`) but never written whole: its database is set by `save`
    and each turn is added by `append_turn`, so that concurrent asks on one session, on one
    server or across replicas, never overwrite each other's turns.
    """

    async def open(self, session_id: str | None, default_database: str | None) -> Session:
        """A copy of the session with this id (created if new); a new random id when none is
        given."""
        ...

    async def save(self, session: Session) -> None:
        """Store the session's database choice (its turns are left as the store has them)."""
        ...

    async def append_turn(self, session_id: str, turn: Turn) -> None:
        """Add one turn to the session's history, keeping the last `MAX_HISTORY`."""
        ...

    def stats(self) -> dict[str, Any]:
        """`backend`, `degraded` and counts, for the `stats` method."""
        ...

    async def aclose(self) -> None: ...
