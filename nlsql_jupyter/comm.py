"""The JupyterLab sidebar's comm: the same `Runtime` and `KernelState` as the magics and the picker.

The sidebar (TypeScript in `src/`) talks to the kernel through one comm target, `nlsql-jupyter`,
in JSON messages:

    frontend → kernel   {"type": "state"}                  what the panel shows, now
                        {"type": "use", "database": NAME}  like `%nlsql use NAME`
                        {"type": "schema", "database": NAME}
    kernel → frontend   {"type": "state", ...}             answer, or pushed on any change
                        {"type": "schema", "database", "tables", "error"}

Either side may open the comm: the panel opens one when it starts following a kernel, and
`%load_ext nlsql_jupyter` opens one towards the frontend, so a panel that found no extension
in the kernel connects as soon as it is loaded. A channel pushes nothing until its frontend has
asked once (headless runners such as nbclient never ask, so their questions pay nothing for
it); from then on every change of `runtime.state` (a `%%ask`, `%nlsql use`, the picker,
`%nlsql connect`) is pushed, without a click. Pushes never start a server or open a session:
only requests do, so a push from inside `Runtime.connect` cannot re-enter it.

JupyterLab sends comm messages on a kernel subshell when the kernel has them (ipykernel 7), so a
request may be handled on another thread while a cell runs; the `Runtime` is built for that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import comm
from comm.base_comm import BaseComm

from nlsql_jupyter.display import transport_summary
from nlsql_jupyter.exceptions import NlsqlError
from nlsql_jupyter.runtime import Runtime, get_runtime

__all__ = ["TARGET", "SidebarChannel", "register"]

#: The comm target name, shared with `src/comm.ts`.
TARGET = "nlsql-jupyter"

#: The `KernelState` traits whose change the panel shows.
_WATCHED = ["database", "server", "connection", "activity"]


def register() -> None:
    """Register the comm target (so a panel can connect) and open a comm towards the frontend
    (so a panel already waiting connects now). Outside a kernel both are no-ops."""
    comm.get_comm_manager().register_target(TARGET, _on_open)
    SidebarChannel(comm.create_comm(target_name=TARGET, data={"type": "hello"}), get_runtime())


def _on_open(opened: BaseComm, msg: dict[str, Any]) -> None:
    """A panel opened a comm; its open message carries its first request."""
    channel = SidebarChannel(opened, get_runtime())
    request = msg.get("content", {}).get("data") or {}
    if request.get("type"):
        channel.handle(request)


class SidebarChannel:
    """One panel's comm: answers its requests and, once it has asked, pushes every change."""

    def __init__(self, channel_comm: BaseComm, runtime: Runtime) -> None:
        self.comm = channel_comm
        self.runtime = runtime
        self._lock = threading.Lock()
        self._following = False
        self._closed = False
        #: The server's databases, fetched once per connection (`state.connection`).
        self._databases: tuple[int, list[dict[str, Any]]] | None = None
        channel_comm.on_msg(self._on_msg)
        channel_comm.on_close(self._on_close)

    # -- requests ----------------------------------------------------------------------------

    def handle(self, request: dict[str, Any]) -> None:
        """Answer one request; errors go back to the panel, never up into the kernel."""
        kind = request.get("type")
        if kind == "schema":
            self._send(self._schema(str(request.get("database") or "")))
            return
        self._follow()
        error: str | None = None
        if kind == "use":
            error = _attempt(lambda: self.runtime.use(str(request.get("database") or "")))
        # Opens the session (and starts the bundled server) when nothing has yet.
        error = _attempt(self.runtime.current_database) or error
        self._send(self.snapshot(error))

    def _on_msg(self, msg: dict[str, Any]) -> None:
        self.handle(msg.get("content", {}).get("data") or {})

    def _schema(self, database: str) -> dict[str, Any]:
        try:
            tables = self.runtime.tables(database)
        except NlsqlError as exc:
            return {"type": "schema", "database": database, "tables": [], "error": _text(exc)}
        return {
            "type": "schema",
            "database": database,
            "tables": [
                {
                    "name": table["name"],
                    "rows": table.get("rows"),
                    "columns": [
                        {
                            "name": column["name"],
                            "type": str(column.get("type") or ""),
                            "primary_key": bool(column.get("primary_key")),
                        }
                        for column in table.get("columns") or ()
                    ],
                }
                for table in tables
            ],
            "error": None,
        }

    # -- pushes ------------------------------------------------------------------------------

    def _follow(self) -> None:
        with self._lock:
            if self._following or self._closed:
                return
            self._following = True
        self.runtime.state.observe(self._on_change, names=_WATCHED)

    def _on_change(self, change: dict[str, Any]) -> None:
        self._send(self.snapshot())

    def snapshot(self, error: str | None = None) -> dict[str, Any]:
        """What the panel shows: the `%nlsql status` numbers, the databases and the history.

        Starts nothing: before the kernel has a client (or after `%nlsql connect` dropped it)
        the databases are empty and `session_id` is None, and the panel asks for a state.
        """
        status = self.runtime.status(server=True)
        transports = status.get("transports")
        databases: list[dict[str, Any]] = []
        if status["connected"]:
            try:
                databases = self._known_databases()
            except NlsqlError as exc:
                error = error or _text(exc)
        elif status["connected"] is False and isinstance(status.get("server_sessions"), str):
            error = error or f"server {status['server_sessions']}"
        return {
            "type": "state",
            "database": self.runtime.state.database,
            "databases": databases,
            "server": status["server"],
            "embedded": status["embedded"],
            "connected": status["connected"],
            "degraded": bool(status.get("degraded")),
            "session_id": status["session_id"],
            "transports": transport_summary(transports) if transports else {},
            "history": [
                {
                    "question": turn.question,
                    "sql": turn.sql,
                    "database": turn.database,
                    "row_count": turn.row_count,
                    "at": turn.at.isoformat(),
                }
                for turn in self.runtime.history
            ],
            "error": error,
        }

    def _known_databases(self) -> list[dict[str, Any]]:
        connection = self.runtime.state.connection
        if self._databases is None or self._databases[0] != connection:
            listed = [
                {
                    "name": db["name"],
                    "dialect": db.get("dialect"),
                    "description": db.get("description") or "",
                    "tables": len(db.get("tables") or ()),
                }
                for db in self.runtime.databases()
            ]
            self._databases = (connection, listed)
        return self._databases[1]

    def _send(self, message: dict[str, Any]) -> None:
        if not self._closed:
            self.comm.send(message)

    def _on_close(self, msg: dict[str, Any]) -> None:
        """The panel went (another notebook, a reload): stop following the state."""
        with self._lock:
            self._closed = True
            following, self._following = self._following, False
        if following:
            self.runtime.state.unobserve(self._on_change, names=_WATCHED)


def _attempt(call: Callable[[], object]) -> str | None:
    """Run `call`; our error's text for the panel if it fails (the kernel's cell is not ours
    to interrupt with a traceback)."""
    try:
        call()
    except NlsqlError as exc:
        return _text(exc)
    return None


def _text(exc: NlsqlError) -> str:
    return f"{type(exc).__name__}: {exc.message}"
