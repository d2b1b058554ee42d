"""The MCP tools through the official SDK's own client: Streamable HTTP, stdio, and JSON-RPC;
their annotations and output caps; `nlsql mcp --db`; the client configurations the docs give;
and a first answer that never loads the SDK."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

REPO = Path(__file__).resolve().parent.parent

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


def _stdio(*args: str) -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["-m", "nlsql_server", "mcp", *args], env=dict(os.environ)
    )


def test_every_tool_has_a_title_and_says_it_only_reads(server):
    async def main() -> list[Any]:
        async with Client(f"{server.url}/mcp") as client:
            return list((await client.list_tools()).tools)

    listed = anyio.run(main)
    assert {t.name for t in listed} >= TOOLS
    for tool in listed:
        assert tool.title, tool.name
        hints = tool.annotations
        assert hints is not None, tool.name
        assert hints.read_only_hint is True, tool.name
        assert hints.destructive_hint is False, tool.name
        assert hints.idempotent_hint is True, tool.name
        assert hints.open_world_hint is False, tool.name


def test_a_long_result_is_cut_to_fit_an_agents_context_and_says_so(server):
    """ "list all customers" is 5,000 rows (~550 kB): the model sees at most 40 kB and a note."""

    async def main() -> dict[str, Any]:
        async with Client(f"{server.url}/mcp") as client:
            return {
                "ask": await client.call_tool(
                    "ask", {"question": "list all customers", "database": "retail"}
                ),
                "query": await client.call_tool(
                    "execute_query", {"database": "retail", "sql": "SELECT * FROM customers"}
                ),
                "small": await client.call_tool(
                    "execute_query",
                    {"database": "retail", "sql": "SELECT COUNT(*) AS n FROM customers"},
                ),
            }

    seen = anyio.run(main)
    for name in ("ask", "query"):
        result = seen[name]
        text = result.content[0].text
        assert len(text.encode()) <= 40_000, name
        found = result.structured_content
        assert found["truncated"] is True and 0 < len(found["rows"]) < 5000
        more = 5000 - len(found["rows"])
        assert re.search(
            rf"showing {len(found['rows']):,} of 5,000 rows; {more:,} more", found["note"]
        )
        assert json.loads(text)["note"] == found["note"]  # the text the model reads says it too
    small = seen["small"].structured_content
    assert small["rows"] == [[5000]] and "note" not in small


def test_the_caps_are_settings(data_dir):
    params = _stdio()
    params.env = dict(params.env or {}) | {"NLSQL_MCP_MAX_ROWS": "3"}

    async def main() -> dict[str, Any]:
        async with Client(params) as client:
            result = await client.call_tool(
                "execute_query", {"database": "finance", "sql": "SELECT * FROM invoices"}
            )
            return result.structured_content

    found = anyio.run(main)
    assert len(found["rows"]) == 3 and found["truncated"] is True
    assert found["note"].startswith("truncated: showing 3 of ")


def test_mcp_db_exposes_only_the_chosen_databases(data_dir):
    async def main() -> dict[str, Any]:
        async with Client(_stdio("--db", "finance")) as client:
            listed = await client.call_tool("list_databases", {})
            other = await client.call_tool("discover_tables", {"database": "retail"})
            query = await client.call_tool(
                "execute_query", {"database": "retail", "sql": "SELECT 1"}
            )
            described = await client.call_tool(
                "get_table_schema", {"database": "retail", "table": "orders"}
            )
            own = await client.call_tool("discover_tables", {"database": "finance"})
            return {
                "listed": [d["name"] for d in listed.structured_content["databases"]],
                "other": (other.is_error, other.content[0].text),
                "query": (query.is_error, query.content[0].text),
                "described": (described.is_error, described.content[0].text),
                "own": {t["name"] for t in own.structured_content["tables"]},
            }

    seen = anyio.run(main)
    assert seen["listed"] == ["finance"]
    for refused in (seen["other"], seen["query"], seen["described"]):
        assert refused[0] is True
        assert "unknown_database" in refused[1] and "Databases: finance." in refused[1]
    assert "invoices" in seen["own"]


def test_mcp_with_an_unknown_db_stops_and_names_the_known_ones(data_dir):
    done = subprocess.run(
        [sys.executable, "-m", "nlsql_server", "mcp", "--db", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "unknown database 'nope'" in done.stderr and "retail" in done.stderr
    assert done.stdout == ""


def _documented_configs() -> list[tuple[str, dict[str, Any]]]:
    """Every MCP client configuration the README and docs/mcp.md show, as (where, entry)."""
    found = []
    for doc in ("README.md", "docs/mcp.md"):
        for block in re.findall(r"```json\n(.*?)```", (REPO / doc).read_text(), re.DOTALL):
            config = json.loads(block)
            if "mcpServers" in config:
                found += [(f"{doc}: mcpServers.{k}", v) for k, v in config["mcpServers"].items()]
            for entry in config.get("mcp_servers", []):
                found.append((f"{doc}: mcp_servers {entry['name']}", entry))
    return found


def test_the_docs_give_desktop_and_jupyter_ai_configurations():
    where = [w for w, _ in _documented_configs()]
    assert any("README.md: mcpServers" in w for w in where)
    assert any("README.md: mcp_servers" in w for w in where)
    assert any("docs/mcp.md: mcpServers" in w for w in where)
    assert sum("docs/mcp.md: mcp_servers" in w for w in where) == 2  # stdio and HTTP


@pytest.mark.parametrize("where,entry", _documented_configs(), ids=lambda v: str(v)[:40])
def test_a_documented_configuration_works_without_nlsql_on_path(where, entry, server, data_dir):
    """The JSON as the docs give it, `/path/to/venv` replaced by this environment and `PATH`
    holding only the system's directories, started by the MCP SDK's client."""
    if entry.get("type") == "http" or "url" in entry:
        target: Any = entry["url"].replace("http://127.0.0.1:8765", server.url)
        expected = None
    else:
        env = entry.get("env") or {}
        if isinstance(env, list):  # Jupyter AI's [{"name": ..., "value": ...}]
            env = {item["name"]: item["value"] for item in env}
        command = entry["command"].replace("/path/to/venv", sys.prefix)
        assert os.path.isabs(command) and os.path.exists(command), where
        target = StdioServerParameters(
            command=command,
            args=entry["args"],
            env=env
            | {
                "PATH": "/usr/bin:/bin",
                "HOME": os.environ.get("HOME", "/tmp"),
                "NLSQL_DATA_DIR": str(data_dir),
                # This checkout's code, not an installed copy (a client needs no such thing).
                "PYTHONPATH": f"{REPO}{os.pathsep}{REPO / 'server'}",
            },
        )
        args = entry["args"]
        expected = [args[args.index("--db") + 1]] if "--db" in args else None

    async def main() -> list[str]:
        async with Client(target) as client:
            listed = await client.call_tool("list_databases", {})
            return [d["name"] for d in listed.structured_content["databases"]]

    names = anyio.run(main)
    assert names == expected if expected else {"retail", "finance"} <= set(names), where


_FIRST_ANSWER = textwrap.dedent(
    """
    import sys
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    assert shell.run_cell("%load_ext nlsql_jupyter").success
    result = shell.run_cell("%%ask --db retail --out n\\nhow many customers are there")
    assert result.success, result.error_in_exec
    print("answer:", shell.user_ns["n"].df.iloc[0, 0])
    print("after ask:", "mcp" in sys.modules)

    from nlsql_jupyter.runtime import get_runtime
    listed = get_runtime().client.call("tools.list", {})
    print("after tools.list:", "mcp" in sys.modules, len(listed))
    """
)


def test_a_first_answer_in_a_kernel_never_imports_the_mcp_sdk(data_dir):
    """`%load_ext` + `%%ask` with the embedded server: the MCP SDK (0.4-2 s to
    import) stays unloaded until an MCP request needs it."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_ANSWER],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "answer: 5000" in done.stdout, done.stdout
    assert "after ask: False" in done.stdout, done.stdout
    assert "after tools.list: True 6" in done.stdout, done.stdout
