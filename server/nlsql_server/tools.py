"""The data agent's tools, the one door to every database, published with the official `mcp` SDK.

The same `MCPServer` serves three ways: MCP Streamable HTTP on `/mcp`, MCP over stdio
(`nlsql mcp`), and JSON-RPC `tools.list` / `tools.call` on `/ws` and `/rpc`. Each tool's
signature and docstring are its schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from anyio import to_thread
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from . import __version__, pipeline
from .exceptions import NlsqlError, UnknownTable

if TYPE_CHECKING:
    from .services import Services

#: Distinct values `sample_values` returns at most.
MAX_SAMPLE_VALUES = 100


async def list_databases(services: Services) -> list[dict[str, Any]]:
    """Name, dialect, description, URL and tables of every configured database."""

    def describe() -> list[dict[str, Any]]:
        described = []
        for name in services.registry.names():
            db = services.registry.get(name)
            described.append(
                {
                    "name": name,
                    "dialect": db.dialect,
                    "description": db.description,
                    "url": db.url,
                    "tables": db.schema().table_names,
                }
            )
        return described

    return await to_thread.run_sync(describe)


async def discover_tables(services: Services, database: str) -> list[dict[str, Any]]:
    """Every table of `database` with its columns, keys and row count."""
    db = await to_thread.run_sync(services.registry.get, database)
    schema = await to_thread.run_sync(db.schema)
    return [t.to_dict() for t in schema.tables]


async def get_table_schema(services: Services, database: str, table: str) -> dict[str, Any]:
    """Columns (name, type, nullable, primary key), foreign keys and row count of one table."""
    db = await to_thread.run_sync(services.registry.get, database)
    found = (await to_thread.run_sync(db.schema)).table(table)
    if found is None:
        raise UnknownTable(
            f"No table {table!r} in {database}. Tables: {', '.join(db.schema().table_names)}.",
            table=table,
        )
    return found.to_dict()


async def sample_values(
    services: Services, database: str, table: str, column: str, limit: int = 20
) -> dict[str, Any]:
    """The most frequent distinct values of one column (at most 100)."""
    db = await to_thread.run_sync(services.registry.get, database)
    bounded = max(1, min(int(limit), MAX_SAMPLE_VALUES))
    values = await to_thread.run_sync(db.distinct_values, table, column, bounded)
    return {"table": table, "column": column, "values": values}


def build_mcp(services: Services) -> MCPServer:
    """An MCP server whose tools answer from `services`; errors become MCP tool errors."""
    mcp = MCPServer(
        name="nlsql",
        version=__version__,
        log_level="WARNING",
        instructions=(
            "Read-only access to SQL databases. Start with list_databases and discover_tables; "
            "ask answers a plain-English question; execute_query runs one read-only statement."
        ),
    )

    async def guarded(call: Any) -> Any:
        try:
            return await call
        except NlsqlError as exc:
            raise ToolError(f"{exc.code}: {exc.message}") from exc

    @mcp.tool(name="list_databases")
    async def list_databases_tool() -> dict[str, Any]:
        """List the databases this server can query: name, SQL dialect, description, tables."""
        return {"databases": await guarded(list_databases(services))}

    @mcp.tool(name="discover_tables")
    async def discover_tables_tool(database: str) -> dict[str, Any]:
        """List the tables of a database with their columns, foreign keys and row counts."""
        return {"database": database, "tables": await guarded(discover_tables(services, database))}

    @mcp.tool(name="get_table_schema")
    async def get_table_schema_tool(database: str, table: str) -> dict[str, Any]:
        """Describe one table: columns with types, nullability, primary and foreign keys, rows."""
        return await guarded(get_table_schema(services, database, table))

    @mcp.tool(name="sample_values")
    async def sample_values_tool(
        database: str, table: str, column: str, limit: int = 20
    ) -> dict[str, Any]:
        """The most frequent distinct values of a column (to learn what filters can match)."""
        return await guarded(sample_values(services, database, table, column, limit))

    @mcp.tool(name="execute_query")
    async def execute_query_tool(database: str, sql: str, limit: int = 1000) -> dict[str, Any]:
        """Run one read-only SQL statement (SELECT/WITH/UNION); anything that writes is refused."""
        return await guarded(pipeline.run_sql(services, database, sql, limit))

    @mcp.tool(name="ask")
    async def ask_tool(question: str, database: str | None = None) -> dict[str, Any]:
        """Answer a plain-English question: returns the SQL, the rows and a chart spec."""
        return await guarded(pipeline.ask(services, question, database=database))

    return mcp


async def list_tools(mcp: MCPServer) -> list[dict[str, Any]]:
    """MCP tool descriptors as JSON (for JSON-RPC `tools.list`)."""
    return [
        t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in await mcp.list_tools()
    ]


async def call_tool(mcp: MCPServer, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool and return the MCP result as JSON (for JSON-RPC `tools.call`)."""
    try:
        result = await mcp.call_tool(name, arguments)
    except ToolError as exc:
        return {"isError": True, "content": [{"type": "text", "text": str(exc)}]}
    return result.model_dump(mode="json", by_alias=True, exclude_none=True)
