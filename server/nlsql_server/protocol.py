"""JSON-RPC 2.0 on every transport: method names, error numbers and message builders.

The kernel-side client imports this module too, so both sides agree on one definition.
"""

from __future__ import annotations

from typing import Any, Final

JSONRPC: Final = "2.0"

# Methods (params -> result are documented in docs/protocol.md).
PING: Final = "ping"
DATABASES_LIST: Final = "databases.list"
SESSION_OPEN: Final = "session.open"
SESSION_USE: Final = "session.use"
SESSION_GET: Final = "session.get"
SCHEMA_TABLES: Final = "schema.tables"
SCHEMA_DESCRIBE: Final = "schema.describe"
SQL_RUN: Final = "sql.run"
ASK: Final = "ask"
TOOLS_LIST: Final = "tools.list"
TOOLS_CALL: Final = "tools.call"
STATS: Final = "stats"

# Notification the server sends on /ws while an `ask` runs.
ASK_PROGRESS: Final = "ask.progress"

# Progress stages of one question, in order.
STAGES: Final = ("linking", "generating", "validating", "executing", "charting")

# JSON-RPC error numbers. Our own errors use APPLICATION_ERROR with a stable string code in data.
PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
METHOD_NOT_FOUND: Final = -32601
INVALID_PARAMS: Final = -32602
INTERNAL_ERROR: Final = -32603
APPLICATION_ERROR: Final = -32000


def request(method: str, params: dict[str, Any] | None, request_id: int | str) -> dict[str, Any]:
    """A JSON-RPC request object."""
    message: dict[str, Any] = {"jsonrpc": JSONRPC, "method": method, "id": request_id}
    if params is not None:
        message["params"] = params
    return message


def result(request_id: int | str | None, value: Any) -> dict[str, Any]:
    """A successful JSON-RPC response."""
    return {"jsonrpc": JSONRPC, "id": request_id, "result": value}


def error(
    request_id: int | str | None, number: int, message: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON-RPC error response; `data.code` holds our stable error code when there is one."""
    body: dict[str, Any] = {"code": number, "message": message}
    if data is not None:
        body["data"] = data
    return {"jsonrpc": JSONRPC, "id": request_id, "error": body}


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC notification (no id, no response expected)."""
    return {"jsonrpc": JSONRPC, "method": method, "params": params}
