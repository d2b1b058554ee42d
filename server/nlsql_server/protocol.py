"""JSON-RPC 2.0 on every transport: method names, error numbers and message builders.

The kernel-side client imports this module too, so both sides agree on one definition.
"""

from __future__ import annotations

from enum import StrEnum
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


class ErrorCode(StrEnum):
    """Every stable error code the server sends in JSON-RPC error `data.code`.

    Both exception trees are keyed on it: the server's classes carry these as `code`, and the
    kernel maps each one back to a class of its own (a test fails if one has no class there).
    """

    # the request's arguments (InvalidParams and below)
    INVALID_PARAMS = "invalid_params"
    EMPTY_QUESTION = "empty_question"
    # what the request named
    UNKNOWN_DATABASE = "unknown_database"
    UNKNOWN_TABLE = "unknown_table"
    UNKNOWN_SESSION = "unknown_session"
    # the database and the SQL
    DATABASE_UNAVAILABLE = "database_unavailable"
    UNSAFE_SQL = "unsafe_sql"
    QUERY_FAILED = "query_failed"
    # the server's capacity (workers.py)
    TOO_BUSY = "too_busy"
    # the engines
    CANNOT_ANSWER = "cannot_answer"
    LLM_NOT_CONFIGURED = "llm_not_configured"
    LLM_UNAVAILABLE = "llm_unavailable"
    # who may ask (auth.py, exposure.py)
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN_HOST = "forbidden_host"
    FORBIDDEN_ORIGIN = "forbidden_origin"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    # the message itself (framing.py, the transports)
    PARSE_ERROR = "parse_error"
    BINARY_FRAME = "binary_frame"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    INVALID_BATCH = "invalid_batch"
    METHOD_NOT_FOUND = "method_not_found"
    # a bug on the server
    INTERNAL_ERROR = "internal_error"


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
