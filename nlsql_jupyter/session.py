"""`KernelSession`: the conversation this kernel holds with the server.

The server keeps the session (so the sidebar and other clients of the same session agree);
the kernel mirrors its id, the active database and the turns asked from here. The id is kept
for the kernel's life: whenever the client may have lost the server (a transport failed, the
WebSocket dropped: `HybridClient.epoch` moved), the next request first re-sends the id with
`session.open`. A server that kept the session (Redis, or it never went away) answers with its
database; one that forgot it (restarted without Redis) opens it afresh on its default
database, and the kernel points it back at the database it had. No user action either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from nlsql_server import protocol

from nlsql_jupyter.exceptions import NlsqlError, TransportError, UnknownSession

if TYPE_CHECKING:
    from nlsql_jupyter.answer import Answer
    from nlsql_jupyter.client import HybridClient

__all__ = ["KernelSession", "Turn"]

T = TypeVar("T")


@dataclass(frozen=True)
class Turn:
    """One question asked from this kernel."""

    question: str
    sql: str
    database: str | None
    row_count: int | None
    at: datetime


class KernelSession:
    """Server session id, active database and history, for one kernel and one server."""

    def __init__(self, client: HybridClient) -> None:
        self._client = client
        self.session_id: str | None = None
        self.database: str | None = None
        self.history: list[Turn] = []
        self._epoch = client.epoch
        #: Times the server session was re-opened after the connection was disrupted.
        self.resyncs = 0

    @property
    def is_open(self) -> bool:
        return self.session_id is not None

    def open(self) -> str:
        """Open (or recover, by id) the server session; return its id."""
        self._open()
        return self._id()

    def _open(self) -> bool:
        """`session.open` with our id; True when the server had lost our database (a restart
        without Redis) and was pointed back at it."""
        params = {"session_id": self.session_id} if self.session_id else {}
        try:
            result = self._client.call(protocol.SESSION_OPEN, params)
        except UnknownSession:
            result = self._client.call(protocol.SESSION_OPEN, {})
        wanted = self.database
        self._apply(result)
        lost = False
        if wanted is not None and self.database != wanted:
            self._apply(self._use(wanted))
            lost = True
        self._epoch = self._client.epoch
        return lost

    def ensure_open(self) -> str:
        """The session id, re-opening the server session first if the connection was disrupted
        since it was last confirmed (which re-points its database if the server lost it)."""
        if self.session_id is None:
            return self.open()
        if self._client.epoch != self._epoch:
            self._resync()
        return self._id()

    def use(self, database: str) -> str:
        """Make `database` the one questions go to; return its name as the server has it."""
        self.ensure_open()
        self._apply(self.with_session(lambda _: self._use(database)))
        return self.database or database

    def refresh(self) -> dict[str, Any]:
        """The server's view of this session (`session.get`): id, database, history."""
        result: dict[str, Any] = self.with_session(
            lambda sid: self._client.call(protocol.SESSION_GET, {"session_id": sid})
        )
        self._apply(result)
        return result

    def with_session(self, call: Callable[[str], T]) -> T:
        """Run `call(session_id)`, and once more if the server forgot the session meanwhile.

        Forgot: it says so (`UnknownSession`), or the connection was disrupted during the call
        (e.g. HTTP silently reconnected to a restarted server) and the server turns out to have
        lost our database. The session is then re-pointed and the call repeated; every method
        is idempotent, so repeating one is safe.
        """
        session_id = self.ensure_open()
        before = self._client.epoch
        try:
            result = call(session_id)
        except UnknownSession:
            self.session_id = None
            return call(self.open())
        except TransportError:
            raise
        except NlsqlError:
            if self._client.epoch != before and self._resync():
                return call(self._id())
            raise
        if self._client.epoch != before and self._resync():
            return call(self._id())
        return result

    def _id(self) -> str:
        assert self.session_id is not None
        return self.session_id

    def _resync(self) -> bool:
        self.resyncs += 1
        return self._open()

    def record(self, answer: Answer) -> Turn:
        """Add an answered question to the history."""
        turn = Turn(
            question=answer.question,
            sql=answer.sql,
            database=answer.database,
            row_count=answer.row_count if answer.executed else None,
            at=datetime.now(UTC),
        )
        self.history.append(turn)
        return turn

    def _use(self, database: str) -> Any:
        assert self.session_id is not None
        return self._client.call(
            protocol.SESSION_USE, {"session_id": self.session_id, "database": database}
        )

    def _apply(self, result: Any) -> None:
        if isinstance(result, dict):
            if result.get("session_id"):
                self.session_id = str(result["session_id"])
            if "database" in result:
                self.database = result["database"]
