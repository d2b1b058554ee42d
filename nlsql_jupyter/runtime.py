"""`Runtime`: which server this kernel talks to, its client and its session.

One per kernel process (the magic and the public `ask()` share it). The server is, in order:
the URL given to `connect()` (or `%nlsql connect`), else `NLSQL_SERVER_URL`, else the bundled
server started in-process on first use. Nothing connects until a request needs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlsql_server import protocol
from nlsql_server.databases.paths import looks_like_sqlite_path

from nlsql_jupyter.answer import Answer
from nlsql_jupyter.exceptions import (
    EmptyQuestion,
    InvalidParams,
    NlsqlError,
    QueryFailed,
    UnknownDatabase,
)
from nlsql_jupyter.session import KernelSession
from nlsql_jupyter.state import KernelState

if TYPE_CHECKING:
    # httpx and websockets load with the first request, not with `%load_ext`.
    from nlsql_jupyter.client import ClientConfig, HybridClient, ProgressCallback

__all__ = ["SERVER_URL_ENV", "TOKEN_ENV", "Runtime", "get_runtime"]

SERVER_URL_ENV = "NLSQL_SERVER_URL"
#: The server's token setting; the kernel sends it too, so a bundled server started with it
#: (it reads the same environment) and a remote one configured alike both accept the kernel.
TOKEN_ENV = "NLSQL_TOKEN"


class Runtime:
    """The kernel's connection state: server URL, `HybridClient`, `KernelSession`."""

    def __init__(self, url: str | None = None, *, config: ClientConfig | None = None) -> None:
        self._lock = threading.RLock()
        self._explicit_url = url
        self._template = config
        #: `ClientConfig` fields set by `configure()`; they win over `config`'s.
        self._options: dict[str, Any] = {}
        self._token: str | None = None
        self._client: HybridClient | None = None
        self._session: KernelSession | None = None
        self._embedded = False
        #: What the picker and the sidebar observe (database, server, activity).
        self.state = KernelState()

    # -- where the server is -----------------------------------------------------------------

    def connect(self, url: str | None, *, token: str | None = None) -> None:
        """Talk to the server at `url` from now on (None: back to env var / bundled server).

        `token` is sent as `Authorization: Bearer` (a server started with `NLSQL_TOKEN`). The
        previous client is closed and the session starts afresh on the new server.
        """
        if url is not None:
            from nlsql_jupyter.client import ClientConfig

            ClientConfig(url)  # validate now, not at the first request
        with self._lock:
            self._explicit_url = url
            self._token = token
            self._reset()
        self.state.database = None
        self.state.server = self.configured_url
        self.state.connection += 1

    def configure(self, **options: Any) -> None:
        """Change the client's settings (`ClientConfig` fields but `url` and `token`) from the
        next request on: what `%config AskMagics.<name>` does. A client already made is
        reconfigured in place (same server, session and statistics)."""
        with self._lock:
            self._options.update(options)
            if self._client is not None:
                config = replace(self._client.config, **self._options)
                if config != self._client.config:
                    self._client.reconfigure(config)

    @property
    def configured_url(self) -> str | None:
        """The URL set by `connect()` or the environment, without starting anything."""
        return self._explicit_url or os.environ.get(SERVER_URL_ENV) or None

    @property
    def embedded(self) -> bool:
        """Whether requests go to the server bundled in this process."""
        return self._embedded

    @property
    def client(self) -> HybridClient:
        """The client, created (and the bundled server started, if needed) on first use."""
        with self._lock:
            if self._client is None:
                from nlsql_jupyter.client import ClientConfig, HybridClient

                url = self.configured_url
                self._embedded = url is None
                token = self._token or os.environ.get(TOKEN_ENV) or None
                if url is None:
                    from nlsql_jupyter.embedded import embedded_server

                    bundled = embedded_server()
                    url, token = bundled.url, bundled.token
                    assert url is not None
                config = (
                    ClientConfig(url, token=token)
                    if self._template is None
                    else replace(self._template, url=url, token=token or self._template.token)
                )
                self._client = HybridClient(replace(config, **self._options))
                self.state.embedded = self._embedded
                self.state.server = url
            return self._client

    @property
    def session(self) -> KernelSession:
        with self._lock:
            if self._session is None:
                self._session = KernelSession(self.client)
            return self._session

    # -- requests ----------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        *,
        database: str | None = None,
        limit: int | None = None,
        engine: str | None = None,
        chart: str | None = None,
        execute: bool = True,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
        frames: Mapping[str, Any] | None = None,
        choice: Mapping[str, Any] | None = None,
        confirm: bool = False,
    ) -> Answer:
        """Ask the server; without `database`, the session's database answers. With
        `confirm`, SQL whose plan is over the server's cost budget runs too (else
        `NeedsConfirmation`).

        `choice`: an option's `choice` from a `NeedsClarification`, to answer with that reading.

        `chart` overrides the viz agent's choice of mark (`bar`, `line`, …, `none`). With
        `frames` (name → DataFrame) the question is about them: the server sees only their
        description and writes the SQL, which runs here (`nlsql_jupyter.frames`).
        """
        question = question.strip()
        if not question:
            raise EmptyQuestion(
                "the question is empty: write it in plain English, "
                "e.g. 'top 5 customers by total purchase amount'"
            )
        session = self.session
        if database is not None:
            database = self.resolve_database(database)
        described = None
        if frames is not None:
            from nlsql_jupyter import frames as local

            frames = local.checked(frames)
            described = local.describe(frames)
        result = session.with_session(
            lambda session_id: self.client.ask(
                question,
                session_id=session_id,
                database=None if frames is not None else database,
                frames=described,
                limit=limit,
                engine=engine,
                chart=chart,
                execute=None if execute else False,
                confirm=True if confirm else None,
                timeout=timeout,
                on_progress=on_progress,
                choice=dict(choice) if choice is not None else None,
            )
        )
        if frames is not None and execute:
            from nlsql_jupyter import frames as local

            result = local.answered(result, frames, limit, chart)
        answer = replace(Answer.from_result(result, executed=execute), limit=limit)
        session.record(answer)
        if session.database is not None:
            self.state.database = session.database
        self.state.activity += 1
        return answer

    def databases(self) -> list[dict[str, Any]]:
        return self.client.databases()

    def glossary(self, database: str | None = None) -> dict[str, Any]:
        """The database's glossary and its overlay of remembered meanings (`glossary.list`)."""
        return dict(self.client.call(protocol.GLOSSARY_LIST, {"database": self._named(database)}))

    def remember(self, choice: Mapping[str, Any], database: str | None = None) -> dict[str, Any]:
        """Keep a clarification's `choice` in the database's glossary overlay, so later
        questions read it that way without asking (`glossary.add`)."""
        params = {"database": self._named(database), "term": dict(choice["term"])}
        return dict(self.client.call(protocol.GLOSSARY_ADD, params))

    def forget(self, name: str, database: str | None = None) -> dict[str, Any]:
        """Drop a remembered meaning (by its word, or a date term's table) from the overlay."""
        params = {"database": self._named(database), "name": name}
        return dict(self.client.call(protocol.GLOSSARY_REMOVE, params))

    def _named(self, database: str | None) -> str:
        name = self.resolve_database(database) if database else self.current_database()
        if name is None:
            raise InvalidParams("no database is chosen yet: `%nlsql use NAME` or give one")
        return name

    def use(self, database: str) -> str:
        """Make `database` (a name, or a SQLite path for the bundled server) the session's
        database: what `%nlsql use`, `%%ask --db` and the picker do."""
        name = self.session.use(self.resolve_database(database))
        self.state.database = name
        return name

    def resolve_database(self, database: str) -> str:
        """The server's name for `database`. A SQLite file's path is attached to the bundled
        server (in this process, never over the wire: a server does not open paths a client
        sends); an outside server answers only from the databases it is configured with."""
        if not looks_like_sqlite_path(database):
            return database
        path = Path(database).expanduser().resolve()
        if not path.is_file():
            raise UnknownDatabase(f"No SQLite file at {path}.", database=database)
        client = self.client
        if not self._embedded:
            raise InvalidParams(
                f"{database} is a file path, and the server at {client.url} opens only the "
                "databases it is configured with (NLSQL_DATABASES on that server). A path "
                "works with the bundled server (`%nlsql connect` with no URL)."
            )
        from nlsql_jupyter.embedded import embedded_server

        name = embedded_server().attach_sqlite(path)
        self.state.connection += 1  # the list of databases changed
        return name

    def tables(self, database: str) -> list[dict[str, Any]]:
        """`schema.tables`: every table of `database` with its columns and row count."""
        return list(self.client.call(protocol.SCHEMA_TABLES, {"database": database}))

    def describe(self, table: str, database: str, samples: int = 5) -> dict[str, Any]:
        """`schema.describe` of one table, plus up to `samples` frequent values of each text
        column (the `sample_values` tool) under `samples`: what a user can ask about."""
        described = dict(
            self.client.call(protocol.SCHEMA_DESCRIBE, {"database": database, "table": table})
        )
        values: dict[str, list[Any]] = {}
        for column in described.get("columns") or ():
            if samples and column.get("kind") == "text":
                name = str(described.get("name", table))
                values[column["name"]] = self.sample_values(database, name, column["name"], samples)
        described["samples"] = values
        return described

    def run_sql(
        self, sql: str, database: str, limit: int | None = None, confirm: bool = False
    ) -> dict[str, Any]:
        """`sql.run`: one read-only statement's rows and their kinds (no engine); over the
        server's cost budget only with `confirm` (else `NeedsConfirmation`)."""
        params: dict[str, Any] = {"database": self.resolve_database(database), "sql": sql}
        if limit is not None:
            params["limit"] = limit
        if confirm:
            params["confirm"] = True
        return dict(self.client.call(protocol.SQL_RUN, params))

    def provenance(self, sql: str, database: str) -> dict[str, Any]:
        """`schema.provenance`: the tables `sql` reads as they are now, with their fingerprint."""
        params = {"database": self.resolve_database(database), "sql": sql}
        return dict(self.client.call(protocol.SCHEMA_PROVENANCE, params))

    def sample_values(self, database: str, table: str, column: str, limit: int = 5) -> list[Any]:
        """The most frequent values of one column (the MCP `sample_values` tool)."""
        arguments = {"database": database, "table": table, "column": column, "limit": limit}
        result = self.client.call(
            protocol.TOOLS_CALL, {"name": "sample_values", "arguments": arguments}
        )
        if result.get("isError"):
            text = " ".join(str(c.get("text", "")) for c in result.get("content") or ())
            raise QueryFailed(text or f"no sample values for {table}.{column}")
        return list((result.get("structuredContent") or {}).get("values") or ())

    def current_database(self) -> str | None:
        """The session's database, opening the session first if needed (a picker's start)."""
        session = self.session
        session.ensure_open()
        self.state.database = session.database
        return session.database

    def ping(self, timeout: float | None = None) -> dict[str, Any]:
        return dict(self.client.call(protocol.PING, timeout=timeout))

    def status(self, *, server: bool = False) -> dict[str, Any]:
        """What `%nlsql status` shows; starts nothing that is not running yet.

        `connected` is known only when asked (`server=True`, with a client already made): the
        server then answers `stats` (its session store, `degraded` while Redis is away) or is
        reported unreachable (never raised); otherwise it is None, not a guess.
        """
        with self._lock:
            client, session = self._client, self._session
            status: dict[str, Any] = {
                "server": client.url if client is not None else self.configured_url,
                "embedded": self._embedded if client is not None else self.configured_url is None,
                "connected": False if client is None else None,
                "session_id": session.session_id if session is not None else None,
                "database": session.database if session is not None else None,
                "questions": len(session.history) if session is not None else 0,
                "transports": client.stats() if client is not None else None,
            }
        if server and client is not None:
            try:
                stats = client.call(protocol.STATS, timeout=5.0)
                sessions = stats.get("sessions") if isinstance(stats, dict) else None
                status["server_sessions"] = sessions
                status["degraded"] = bool(isinstance(sessions, dict) and sessions.get("degraded"))
                status["connected"] = True
            except NlsqlError as exc:
                status["connected"] = False
                status["server_sessions"] = f"unavailable ({exc.message})"
            status["transports"] = client.stats()
        return status

    @property
    def history(self) -> list[Any]:
        """The turns asked through this runtime's current session (empty before the first)."""
        session = self._session
        return list(session.history) if session is not None else []

    def close(self) -> None:
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
        self._session = None
        self._embedded = False


_default: Runtime | None = None
_default_lock = threading.Lock()


def get_runtime() -> Runtime:
    """This process's runtime (the kernel has one conversation with one server at a time)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Runtime()
        return _default
