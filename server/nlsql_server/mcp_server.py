"""The MCP server over the data agent's tools, built at the edge and only when first used.

`app.py` mounts one `McpDoor` per server on `/mcp` (Streamable HTTP) and JSON-RPC's
`tools.list` / `tools.call` use the same one; `cli.py` builds one for `nlsql mcp` (stdio),
optionally limited to chosen databases. Importing the MCP SDK takes 0.4-2 s on a 2-core
machine (`benchmarks/mcp_import.py`), so it is imported when the first MCP request arrives
(or `nlsql mcp` starts), never for `%%ask`.

Every tool is read-only, idempotent and closed-world, and says so in its annotations; its
output is capped in rows and bytes (`NLSQL_MCP_MAX_ROWS`, `NLSQL_MCP_MAX_BYTES`) with a note
saying how much was left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup, TaskStatus

from . import __version__, pipeline, tools
from .exceptions import (
    InvalidParams,
    NeedsClarification,
    NeedsConfirmation,
    NlsqlError,
    UnknownDatabase,
)

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer
    from starlette.types import ASGIApp, Receive, Scope, Send

    from .services import Services

__all__ = ["McpDoor", "build_mcp", "door"]

_ROWS_HINT = "Narrow the query (WHERE, LIMIT) or aggregate it (GROUP BY) to see the rest."
_TABLES_HINT = "Call get_table_schema for the tables you need."


def build_mcp(services: Services, databases: Sequence[str] | None = None) -> MCPServer:
    """An MCP server whose tools answer from `services`; with `databases`, only those exist for
    its clients (listing included). Errors become MCP tool errors a model can read."""
    import pydantic_core
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import CallToolResult, TextContent, ToolAnnotations

    settings = services.settings
    allowed = tuple(databases) if databases else None
    reads = ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
    )
    mcp = MCPServer(
        name="nlsql",
        title="nlsql: ask SQL databases",
        version=__version__,
        log_level="WARNING",
        instructions=(
            "Read-only access to SQL databases. Start with list_databases and discover_tables; "
            "ask answers a plain-English question; execute_query runs one read-only statement. "
            "Long results are cut to fit: a cut result has truncated: true and a note. A query "
            "over the server's cost budget is not run until called again with confirm: true."
        ),
    )

    def known(database: str) -> str:
        if allowed is not None and database not in allowed:
            raise UnknownDatabase(
                f"Unknown database {database!r}. Databases: {', '.join(allowed)}.",
                database=database,
                databases=list(allowed),
            )
        return database

    def rows_capped(result: dict[str, Any]) -> dict[str, Any]:
        return tools.cap(
            result, "rows", settings.mcp_max_rows, settings.mcp_max_bytes, "rows", _ROWS_HINT
        )

    async def guarded(call: Awaitable[dict[str, Any]]) -> Any:
        """The tool's result as compact JSON text (what a model reads, and what the byte cap
        measures) beside the same value as structured content."""
        try:
            payload = await call
        except NeedsConfirmation as exc:
            # Not a failure: the agent reads the estimate and decides whether to confirm.
            said = {"error": exc.code, "message": exc.message} | exc.data
            return CallToolResult(
                content=[TextContent(type="text", text=pydantic_core.to_json(said).decode())],
                structured_content=said,
                is_error=True,
            )
        except NlsqlError as exc:
            raise ToolError(f"{exc.code}: {exc.message}") from exc
        text = pydantic_core.to_json(payload, fallback=str).decode()
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=pydantic_core.to_jsonable_python(payload, fallback=str),
        )

    async def listed() -> dict[str, Any]:
        found = await tools.list_databases(services)
        chosen = [d for d in found if allowed is None or d["name"] in allowed]
        return tools.cap(
            {"databases": chosen},
            "databases",
            len(chosen),
            settings.mcp_max_bytes,
            "databases",
            "Ask discover_tables about one database.",
        )

    async def tables(database: str) -> dict[str, Any]:
        found = await tools.discover_tables(services, known(database))
        return tools.cap(
            {"database": database, "tables": found},
            "tables",
            len(found),
            settings.mcp_max_bytes,
            "tables",
            _TABLES_HINT,
        )

    async def described(database: str, table: str) -> dict[str, Any]:
        return await tools.get_table_schema(services, known(database), table)

    async def values(database: str, table: str, column: str, limit: int) -> dict[str, Any]:
        found = await tools.sample_values(services, known(database), table, column, limit)
        return tools.cap(
            found,
            "values",
            len(found["values"]),
            settings.mcp_max_bytes,
            "values",
            "Ask for fewer values (limit).",
        )

    async def query(database: str, sql: str, limit: int | None, confirm: bool) -> dict[str, Any]:
        return rows_capped(
            await tools.run_sql(services, known(database), sql, limit, confirm=confirm)
        )

    async def answer(
        question: str, database: str | None, choose: int | None, confirm: bool
    ) -> dict[str, Any]:
        if database is not None:
            known(database)
        elif allowed is not None:
            database = allowed[0]
        try:
            return rows_capped(
                await pipeline.ask(services, question, database=database, confirm=confirm)
            )
        except NeedsClarification as exc:
            options = exc.data["options"]
            if choose is None:
                return _clarification(question, exc)
            if not 1 <= choose <= len(options):
                raise InvalidParams(f"choose: the options are 1 to {len(options)}.") from exc
            term = options[choose - 1]["choice"]["term"]
            answered = await pipeline.ask(
                services, question, database=database, choice=term, confirm=confirm
            )
            return rows_capped(answered | {"chosen": options[choose - 1]["label"]})

    @mcp.tool(name="list_databases", title="List databases", annotations=reads)
    async def list_databases_tool() -> dict[str, Any]:
        """List the databases this server can query: name, SQL dialect, description, tables."""
        return await guarded(listed())

    @mcp.tool(name="discover_tables", title="Discover tables", annotations=reads)
    async def discover_tables_tool(database: str) -> dict[str, Any]:
        """List the tables of a database with their columns, foreign keys and row counts."""
        return await guarded(tables(database))

    @mcp.tool(name="get_table_schema", title="Describe a table", annotations=reads)
    async def get_table_schema_tool(database: str, table: str) -> dict[str, Any]:
        """Describe one table: columns with types, nullability, primary and foreign keys, rows."""
        return await guarded(described(database, table))

    @mcp.tool(name="sample_values", title="Sample column values", annotations=reads)
    async def sample_values_tool(
        database: str, table: str, column: str, limit: int = 20
    ) -> dict[str, Any]:
        """The most frequent distinct values of a column (to learn what filters can match)."""
        return await guarded(values(database, table, column, limit))

    @mcp.tool(name="execute_query", title="Run a read-only SQL query", annotations=reads)
    async def execute_query_tool(
        database: str, sql: str, limit: int | None = None, confirm: bool = False
    ) -> dict[str, Any]:
        """Run one read-only SQL statement (SELECT/WITH/UNION); anything that writes is refused.
        A long result is cut to fit; `note` then says how many rows were left out. A query
        whose plan reads more rows than the server's budget is not run: the result says
        `needs_confirmation` with the estimate; call again with `confirm: true` to run it."""
        return await guarded(query(database, sql, limit, confirm))

    @mcp.tool(name="ask", title="Ask a question in plain English", annotations=reads)
    async def ask_tool(
        question: str,
        database: str | None = None,
        choose: int | None = None,
        confirm: bool = False,
    ) -> dict[str, Any]:
        """Answer a plain-English question: returns the SQL, the rows and a chart spec.
        A long result is cut to fit; `note` then says how many rows were left out.
        A question with several meanings returns `needs_clarification` and numbered `options`
        instead: ask again with `choose` set to the number of the one meant. SQL whose plan is
        over the server's budget is not run without `confirm: true` (as execute_query)."""
        return await guarded(answer(question, database, choose, confirm))

    return mcp


def _clarification(question: str, exc: NeedsClarification) -> dict[str, Any]:
    """The ask tool's result for a question with several meanings: the options, numbered."""
    return {
        "question": question,
        "needs_clarification": True,
        "message": exc.message + " Ask again with `choose` set to the option's number.",
        "options": [
            {"number": number, "label": option["label"], "choice": option["choice"]}
            for number, option in enumerate(exc.data["options"], start=1)
        ],
    }


async def list_tools(mcp: MCPServer) -> list[dict[str, Any]]:
    """MCP tool descriptors as JSON (for JSON-RPC `tools.list`)."""
    return [
        t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in await mcp.list_tools()
    ]


async def call_tool(mcp: MCPServer, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool and return the MCP result as JSON (for JSON-RPC `tools.call`)."""
    from mcp.server.mcpserver.exceptions import ToolError

    try:
        result = await mcp.call_tool(name, arguments)
    except ToolError as exc:
        return {"isError": True, "content": [{"type": "text", "text": str(exc)}]}
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)


class McpDoor:
    """A server's MCP endpoint, built on first use: an ASGI app for `/mcp` and the backing of
    JSON-RPC `tools.list` / `tools.call`.

    The SDK's Streamable HTTP sessions need a task group that lives as long as the server:
    `serving()` (entered by the host's lifespan) provides it, and the first `/mcp` request
    starts the SDK's session manager in it.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self._server: MCPServer | None = None
        self._http: ASGIApp | None = None
        self._tasks: TaskGroup | None = None
        self._starting = anyio.Lock()

    @property
    def server(self) -> MCPServer:
        if self._server is None:
            self._server = build_mcp(self._services)
        return self._server

    async def list_tools(self) -> list[dict[str, Any]]:
        return await list_tools(self.server)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return await call_tool(self.server, name, arguments)

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[None]:
        """Hold the task group `/mcp` sessions run in; on exit, stop them."""
        async with anyio.create_task_group() as tasks:
            self._tasks = tasks
            try:
                yield
            finally:
                self._tasks = None
                tasks.cancel_scope.cancel()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (await self._streamable_http())(scope, receive, send)

    async def _streamable_http(self) -> ASGIApp:
        async with self._starting:
            if self._http is None:
                if self._tasks is None:
                    raise RuntimeError("McpDoor.serving() must be entered (the app's lifespan)")
                # The SDK's own route for `/mcp`, taken as is: mounting its app under a prefix
                # would answer `/mcp` with a redirect.
                app = self.server.streamable_http_app(streamable_http_path="/mcp")
                await self._tasks.start(self._run_sessions)
                self._http = app
        return self._http

    async def _run_sessions(self, *, task_status: TaskStatus[None]) -> None:
        async with self.server.session_manager.run():
            task_status.started()
            await anyio.sleep_forever()


def door(services: Services) -> McpDoor:
    """The one `McpDoor` of `services` (so `/mcp` and `tools.*` share one MCP server)."""
    if services.mcp is None:
        services.mcp = McpDoor(services)
    return services.mcp
