"""The MCP tools through the official SDK's own client: Streamable HTTP, stdio, and JSON-RPC."""

from __future__ import annotations

import os
import sys
from typing import Any

import anyio
import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

TOOLS = {
    "list_databases",
    "discover_tables",
    "get_table_schema",
    "sample_values",
    "execute_query",
    "ask",
}


async def _exercise(client: Client) -> dict[str, Any]:
    listed = {t.name for t in (await client.list_tools()).tools}
    tables = await client.call_tool("discover_tables", {"database": "retail"})
    values = await client.call_tool(
        "sample_values", {"database": "retail", "table": "orders", "column": "status"}
    )
    count = await client.call_tool(
        "execute_query", {"database": "retail", "sql": "SELECT COUNT(*) AS n FROM customers"}
    )
    refused = await client.call_tool(
        "execute_query", {"database": "retail", "sql": "DELETE FROM orders"}
    )
    unknown = await client.call_tool("discover_tables", {"database": "nope"})
    answer = await client.call_tool(
        "ask",
        {"question": "Show me the top 5 customers by total purchase amount", "database": "retail"},
    )
    return {
        "listed": listed,
        "tables": {t["name"] for t in tables.structured_content["tables"]},
        "statuses": set(values.structured_content["values"]),
        "count": count.structured_content["rows"][0][0],
        "refused": (refused.is_error, refused.content[0].text),
        "unknown": (unknown.is_error, unknown.content[0].text),
        "answer_rows": answer.structured_content["row_count"],
    }


def _check(seen: dict[str, Any]) -> None:
    assert seen["listed"] >= TOOLS
    assert {"orders", "customers", "order_items"} <= seen["tables"]
    assert seen["statuses"] == {"pending", "shipped", "delivered", "cancelled", "returned"}
    assert seen["count"] == 5000
    assert seen["refused"][0] is True and "unsafe_sql" in seen["refused"][1]
    assert seen["unknown"][0] is True and "retail" in seen["unknown"][1]
    assert seen["answer_rows"] == 5


def test_mcp_over_streamable_http(server):
    async def main() -> dict[str, Any]:
        async with Client(f"{server.url}/mcp") as client:
            return await _exercise(client)

    _check(anyio.run(main))


def test_mcp_endpoint_answers_without_a_redirect(server):
    response = httpx.post(
        f"{server.url}/mcp", json={}, headers={"accept": "application/json, text/event-stream"}
    )
    assert response.status_code not in (307, 308)


def test_mcp_over_stdio(data_dir):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "nlsql_server", "mcp"], env=dict(os.environ)
    )

    async def main() -> dict[str, Any]:
        async with Client(params) as client:
            return await _exercise(client)

    _check(anyio.run(main))


def test_tools_over_json_rpc(server):
    def rpc(method: str, params: dict[str, Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        return httpx.post(f"{server.url}/rpc", json=body, timeout=60).json()["result"]

    assert {t["name"] for t in rpc("tools.list", {})} >= TOOLS
    result = rpc(
        "tools.call",
        {"name": "get_table_schema", "arguments": {"database": "finance", "table": "invoices"}},
    )
    assert result["structuredContent"]["name"] == "invoices"
    refused = rpc(
        "tools.call",
        {
            "name": "execute_query",
            "arguments": {"database": "finance", "sql": "DROP TABLE invoices"},
        },
    )
    assert refused["isError"] is True
