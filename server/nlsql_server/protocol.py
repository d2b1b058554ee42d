"""JSON-RPC 2.0 on every transport: the request envelope, every method's params and result as
pydantic models, the error numbers and codes, and message builders.

The kernel-side client imports this module too, so both sides agree on one definition. It
imports nothing of the server, and its models are built on first use (`defer_build`), so the
import stays cheap (about 12 ms of CPU once pydantic is loaded). The docstring under a field
says what it means: `scripts/protocol_doc.py` copies them into `docs/protocol.md` (a test
checks the document is current).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, StringConstraints

JSONRPC: Final = "2.0"

# Methods (their params and results are the models below, listed in METHODS).
PING: Final = "ping"
DATABASES_LIST: Final = "databases.list"
SESSION_OPEN: Final = "session.open"
SESSION_USE: Final = "session.use"
SESSION_GET: Final = "session.get"
SCHEMA_TABLES: Final = "schema.tables"
SCHEMA_DESCRIBE: Final = "schema.describe"
SCHEMA_PROVENANCE: Final = "schema.provenance"
SQL_RUN: Final = "sql.run"
ASK: Final = "ask"
TOOLS_LIST: Final = "tools.list"
TOOLS_CALL: Final = "tools.call"
STATS: Final = "stats"
GLOSSARY_LIST: Final = "glossary.list"
GLOSSARY_ADD: Final = "glossary.add"
GLOSSARY_REMOVE: Final = "glossary.remove"

# Notification the server sends on /ws while an `ask` runs.
ASK_PROGRESS: Final = "ask.progress"

#: Progress stages of one question, in order.
Stage = Literal["linking", "generating", "validating", "executing", "charting"]
STAGES: Final = get_args(Stage)
#: The engines `ask` can be told to use (`auto`: offline when confident, else the LLM).
Engine = Literal["auto", "offline", "llm"]
#: A chart kind `ask` can be told to draw (`none`: no chart).
ChartKind = Literal["bar", "line", "area", "point", "arc", "none"]
#: A coarse column type (for engines and charts).
ColumnKind = Literal["integer", "number", "date", "text", "other"]

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
    NEEDS_CONFIRMATION = "needs_confirmation"
    # the server's capacity (workers.py)
    TOO_BUSY = "too_busy"
    # the engines
    CANNOT_ANSWER = "cannot_answer"
    NEEDS_CLARIFICATION = "needs_clarification"
    LLM_NOT_CONFIGURED = "llm_not_configured"
    LLM_UNAVAILABLE = "llm_unavailable"
    # who may ask (auth.py, exposure.py)
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN_HOST = "forbidden_host"
    FORBIDDEN_ORIGIN = "forbidden_origin"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    # the message itself (framing.py, the transports, rpc.py)
    PARSE_ERROR = "parse_error"
    BINARY_FRAME = "binary_frame"
    TOO_LARGE = "too_large"
    TOO_DEEP = "too_deep"
    INVALID_BATCH = "invalid_batch"
    INVALID_REQUEST = "invalid_request"
    METHOD_NOT_FOUND = "method_not_found"
    # a bug on the server
    INTERNAL_ERROR = "internal_error"


# -- the envelope ------------------------------------------------------------------------------

#: A request id: JSON-RPC allows a string, a number or null (a bool, an array, an object not).
Id = str | int | float | None


class Request(BaseModel):
    """One JSON-RPC 2.0 request object; without an `id` member it is a notification.

    Members JSON-RPC does not define are ignored (the specification does not refuse them)."""

    model_config = ConfigDict(extra="ignore", strict=True, frozen=True, defer_build=True)

    jsonrpc: Literal["2.0"]
    method: str
    #: Named params only; an array (by position) is valid JSON-RPC this server does not take.
    params: dict[str, Any] | list[Any] = Field(default_factory=dict)
    id: Id = None

    @property
    def is_notification(self) -> bool:
        """No `id` member at all (`"id": null` is a request): nothing may be sent back."""
        return "id" not in self.model_fields_set


# -- params ------------------------------------------------------------------------------------

#: A name or a statement: a string with something in it; surrounding blanks are dropped.
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Params(BaseModel):
    """Base of every method's params.

    Strict: `"false"` is not `false` nor `"5"` 5, and a name the method does not take is
    refused (a typo would otherwise change nothing, silently).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class NoParams(Params):
    """The method takes no params (`params` absent or `{}`)."""


class SessionOpenParams(Params):
    session_id: Text | None = None
    """The id to open or recover; a new random one when left out."""


class SessionParams(Params):
    session_id: Text
    """The session's id (as `session.open` returned it)."""


class SessionUseParams(SessionParams):
    database: Text
    """The database the session points at from now on."""


class DatabaseParams(Params):
    database: Text
    """A database name (as `databases.list` returns them)."""


class TableParams(DatabaseParams):
    table: Text
    """A table of that database (case-insensitive)."""


class SqlParams(DatabaseParams):
    sql: Text
    """One read-only statement in the database's dialect."""


class SqlRunParams(SqlParams):
    limit: PositiveInt | None = None
    """Rows to return at most (capped by the server's `NLSQL_ROW_LIMIT`)."""
    arrow: bool = False
    """`true`: rows past `NLSQL_ARROW_MIN_ROWS` may come as an Arrow stream ("Large results")."""
    confirm: bool = False
    """`true`: run it even when its plan's estimate is over the server's budget (else the error
    `needs_confirmation` with the estimate)."""


#: A sample value of a frame's column: what JSON carries (dates as ISO text).
Sample = str | int | float | bool | None


class FrameColumn(Params):
    name: Text
    """The column's name."""
    type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    """Its DuckDB type (`BIGINT`, `DOUBLE`, `VARCHAR`, `TIMESTAMP`…), as DuckDB reads the frame."""
    samples: list[Annotated[Sample, Field(union_mode="left_to_right")]] = Field(
        default_factory=list, max_length=20
    )
    """A few of its values (distinct, most frequent first): enough to match "in Berlin" to a
    column, never the rows."""


class FrameTable(Params):
    name: Text
    """The table's name in the SQL: the notebook variable's name."""
    rows: Annotated[int, Field(ge=0)]
    """How many rows the frame has."""
    columns: list[FrameColumn] = Field(min_length=1, max_length=500)
    """Its columns, in order."""


class Choice(Params):
    """An option of a `needs_clarification` error, sent back with the question."""

    term: dict[str, Any]
    """The option's glossary term (as the error's `data.options[].choice.term` gives it): this
    question is read with it laid over the glossary."""


class AskParams(Params):
    question: str
    """The question in plain English."""
    database: Text | None = None
    """Left out: the session's database, else the server's default."""
    session_id: Text | None = None
    """The session whose history the question continues and records to."""
    engine: Engine | None = None
    """Left out: the server's default engine."""
    limit: PositiveInt | None = None
    """Rows to return at most (capped by `NLSQL_ROW_LIMIT`)."""
    execute: bool = True
    """`false`: write and check the SQL without running it."""
    chart: ChartKind | None = None
    """A chart kind to draw; left out, the viz agent chooses."""
    arrow: bool = False
    """`true`: rows past `NLSQL_ARROW_MIN_ROWS` may come as an Arrow stream ("Large results")."""
    frames: list[FrameTable] | None = Field(default=None, min_length=1, max_length=50)
    """Tables that live in the client (a notebook's DataFrames), described without their
    rows: the answer is DuckDB SQL over them, written and checked but never run here
    (`executed: false`); `database` is then left out."""
    confirm: bool = False
    """`true`: run the SQL even when its plan's estimate is over the server's budget (else the
    error `needs_confirmation` with the estimate and the SQL)."""
    choice: Choice | None = None
    """The option chosen when the question was answered with `needs_clarification`."""


class GlossaryAddParams(DatabaseParams):
    term: dict[str, Any]
    """A glossary term to remember (an option's `choice.term`, or one written by hand in the
    glossary file's format): it replaces the overlay's terms with its names."""


class GlossaryRemoveParams(DatabaseParams):
    name: Text
    """A name of the overlay term to forget (a date term: its table)."""


class ToolsCallParams(Params):
    name: Text
    """The tool's name (as `tools.list` gives it)."""
    arguments: dict[str, Any] = Field(default_factory=dict)
    """The tool's arguments (its `inputSchema` checks them)."""


# -- results -----------------------------------------------------------------------------------


class Result(BaseModel):
    """Base of every result: exactly these fields, checked on the way out (`rpc.RESULTS`)."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Open(BaseModel):
    """A result part that other specifications define: ours are named, more are passed on."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)


class PingResult(Result):
    pong: Literal[True]
    """Always `true`."""
    version: str
    """The server's version."""


class DatabaseInfo(Result):
    name: str
    """The name every other method takes."""
    dialect: str
    """The SQL dialect (`sqlite`, `mysql`, `postgres`, `duckdb`)."""
    description: str
    """What the database holds, in a sentence."""
    url: str | None = None
    """Where the database is (never with its password)."""
    tables: list[str]
    """Its table names."""


class SessionInfo(Result):
    session_id: str
    """The id to send with later calls (the kernel keeps it for its whole life)."""
    database: str | None
    """The session's database (null when the server has none)."""


class Turn(Result):
    """One answered question of a session."""

    question: str
    sql: str
    engine: str
    row_count: int
    database: str
    """The database it was asked of (a follow-up refines only turns on the same one)."""
    understood: dict[str, Any]
    """What the engine recognised (its plan), which a follow-up question refines."""
    at: float
    """When it was asked (Unix time)."""


class SessionState(SessionInfo):
    history: list[Turn]
    """The answered questions, oldest first."""


class ColumnInfo(Result):
    name: str
    type: str
    """The declared SQL type."""
    nullable: bool
    primary_key: bool
    kind: ColumnKind
    """A coarse type, read from `type`."""


class ForeignKey(Result):
    column: str
    """The column of this table that refers to `ref_table`.`ref_column`."""
    ref_table: str
    ref_column: str


class TableInfo(Result):
    name: str
    """The table's name as the database spells it."""
    columns: list[ColumnInfo]
    foreign_keys: list[ForeignKey]
    rows: int | None
    """The row count (null when the database cannot tell cheaply)."""


class ArrowInfo(Result):
    """Rows that come as an Arrow IPC stream instead of in `rows` ("Large results")."""

    rows: int
    """Rows in the stream."""
    frames: int | None = None
    """`/ws` only: binary frames that follow, each tagged with the request's id."""
    bytes: int | None = None
    """`/ws` only: bytes of the whole stream (the frames' payloads together)."""


class Rows(Result):
    columns: list[str]
    """The result's column names."""
    rows: list[list[Any]]
    """One array per row, in column order; values JSON lacks (decimals, dates, bytes) arrive as
    strings. Empty when `arrow` is present."""
    row_count: int
    """Rows in `rows` (or in the Arrow stream)."""
    truncated: bool
    """More rows matched than the limit let through."""
    column_types: list[ColumnKind]
    """Each column's kind, read from its values."""
    note: str | None = None
    """Only when a size cap cut the rows: which one (docs/limits.md)."""
    arrow: ArrowInfo | None = None
    """Only when the request said `arrow: true` and the rows are many: they come as Arrow."""


class Chart(Result):
    """The chart the viz agent chose for a result (see "The chart" below)."""

    kind: Literal["bar", "line", "area", "point", "arc", "value"]
    x: str | None
    """The column on the x channel (a `value`'s label)."""
    y: str
    """The measure's column."""
    color: str | None
    """The column that colours the marks."""
    title: str
    """The question."""
    spec: dict[str, Any] | None
    """A Vega-Lite spec whose data is the named source `result` (null for `value`)."""
    note: str | None = None
    """Only when bars were cut: how many are shown."""
    format: str | None = None
    """`value` only: the number's d3 format."""
    value: Any = None
    """`value` only: the number itself."""


class Attempt(Result):
    """SQL an engine wrote that was refused or failed."""

    sql: str
    error: str | None
    """Why this SQL was not the answer (the LLM then tried again)."""


class SchemaProvenance(Result):
    fingerprint: str
    """`sha256:` of the tables below, to tell later whether they changed."""
    tables: dict[str, list[str]]
    """The tables the SQL reads, each with its columns as `"name TYPE"`."""


class AskProgress(Result):
    """The params of an `ask.progress` notification."""

    request_id: Id
    """The `ask`'s id."""
    stage: Stage
    message: str
    """What the stage does, for a person ("Reading the schema of retail")."""
    elapsed_ms: float
    """Since the question arrived."""


class AskResult(Rows):
    """The answer: the SQL, its rows (empty when not executed) and a chart."""

    question: str
    """The question, trimmed."""
    database: str
    """The database it was answered from."""
    sql: str
    """The SQL that was run, in the database's dialect."""
    explanation: str
    """What the SQL does, in a sentence."""
    engine: str
    """The engine that wrote the SQL (`offline` or `llm`)."""
    confidence: float
    """The engine's confidence, 0 to 1."""
    understood: dict[str, Any]
    """What the engine recognised in the question (measure, grouping, filters, its plan)."""
    chart: Chart | None
    """Null: the table says it better."""
    executed: bool
    """`false` when asked with `execute: false` (no rows then)."""
    attempts: list[Attempt]
    """Earlier SQL that failed (LLM engine)."""
    schema_: SchemaProvenance = Field(alias="schema")
    """The tables the answer rests on."""
    server_version: str
    timings: dict[str, float]
    """Milliseconds per stage, and `total`."""
    progress: list[AskProgress] | None = None
    """Over `/rpc` only: the progress events, in order."""


class ToolInfo(Open):
    """An MCP tool descriptor (the MCP specification's `Tool`)."""

    name: str
    description: str | None = None
    inputSchema: dict[str, Any]
    """The JSON Schema of its `arguments`."""


class ToolResult(Open):
    """An MCP tool result (the MCP specification's `CallToolResult`)."""

    content: list[dict[str, Any]]
    """MCP content blocks (`{type: "text", text}`)."""
    isError: bool = False
    structuredContent: dict[str, Any] | None = None
    """The tool's answer as JSON."""


class GlossaryState(Result):
    """A database's glossary: its own terms, and the overlay of remembered choices over them."""

    database: str
    overlay: list[dict[str, Any]]
    """The remembered terms (read first: each takes its names from the terms below)."""
    glossary: list[dict[str, Any]]
    """The database's own glossary terms."""
    removed: int | None = None
    """`glossary.remove` only: the terms it forgot (0: none had that name; like every method,
    it may be sent again)."""


class SessionStoreStats(Open):
    """The session store's state; each backend adds its own counts."""

    backend: Literal["memory", "redis"]
    degraded: bool
    """Redis is away: the server answers from its own copies."""


class PoolStats(Result):
    """One worker pool."""

    threads: int
    running: int
    waiting: int
    """Calls queued for a thread."""


class WorkerStats(Result):
    """The worker pools: slow queries in one, cheap calls in the other (docs/limits.md)."""

    queries: PoolStats
    cheap: PoolStats
    client_queries: int
    """Queries one client may have running or waiting (`NLSQL_CLIENT_QUERIES`)."""


class StatsResult(Result):
    version: str
    uptime_s: float
    """Seconds since the server started."""
    databases: list[str]
    """The database names."""
    sessions: SessionStoreStats
    workers: WorkerStats


@dataclass(frozen=True)
class Method:
    """What a method takes and gives."""

    params: type[Params]
    #: A result model, or a list of one (what `pydantic.TypeAdapter` takes).
    result: Any
    summary: str


METHODS: Final[dict[str, Method]] = {
    PING: Method(NoParams, PingResult, "Is the server there, and which version."),
    DATABASES_LIST: Method(NoParams, list[DatabaseInfo], "The databases the server can query."),
    SESSION_OPEN: Method(
        SessionOpenParams,
        SessionInfo,
        "A new session, or the one with that id (an unknown id opens a fresh one under it).",
    ),
    SESSION_USE: Method(SessionUseParams, SessionInfo, "Point a session at a database."),
    SESSION_GET: Method(SessionParams, SessionState, "A session with its history."),
    SCHEMA_TABLES: Method(DatabaseParams, list[TableInfo], "The tables of a database."),
    SCHEMA_DESCRIBE: Method(TableParams, TableInfo, "One table."),
    SCHEMA_PROVENANCE: Method(
        SqlParams,
        SchemaProvenance,
        "The tables an SQL reads as they are now (compare with an answer's `schema`); runs "
        "nothing.",
    ),
    SQL_RUN: Method(SqlRunParams, Rows, "Run one read-only statement."),
    ASK: Method(AskParams, AskResult, "Answer a question in plain English."),
    TOOLS_LIST: Method(NoParams, list[ToolInfo], "The MCP tools."),
    TOOLS_CALL: Method(ToolsCallParams, ToolResult, "Call an MCP tool."),
    STATS: Method(NoParams, StatsResult, "The server's state."),
    GLOSSARY_LIST: Method(DatabaseParams, GlossaryState, "A database's glossary and overlay."),
    GLOSSARY_ADD: Method(
        GlossaryAddParams, GlossaryState, "Remember a meaning in the database's overlay."
    ),
    GLOSSARY_REMOVE: Method(GlossaryRemoveParams, GlossaryState, "Forget a remembered meaning."),
}

#: What the server sends back for one message: a response, or an array of them for a batch.
Reply = dict[str, Any] | list[dict[str, Any]]


def request(method: str, params: dict[str, Any] | None, request_id: int | str) -> dict[str, Any]:
    """A JSON-RPC request object."""
    message: dict[str, Any] = {"jsonrpc": JSONRPC, "method": method, "id": request_id}
    if params is not None:
        message["params"] = params
    return message


def result(request_id: Id, value: Any) -> dict[str, Any]:
    """A successful JSON-RPC response."""
    return {"jsonrpc": JSONRPC, "id": request_id, "result": value}


def error(
    request_id: Id, number: int, message: str, data: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A JSON-RPC error response; `data.code` holds our stable error code when there is one."""
    body: dict[str, Any] = {"code": number, "message": message}
    if data is not None:
        body["data"] = data
    return {"jsonrpc": JSONRPC, "id": request_id, "error": body}


#: The media type of an Arrow IPC stream: `/rpc` answers with it when the request accepts it.
ARROW_MEDIA_TYPE: Final = "application/vnd.apache.arrow.stream"
#: The schema metadata key that holds the JSON-RPC response of an Arrow reply over `/rpc`.
ARROW_RESPONSE_KEY: Final = "nlsql.response"
#: Bytes of Arrow stream one binary WebSocket frame carries at most.
ARROW_FRAME_BYTES: Final = 1 << 20


def arrow_frame(request_id: Id, index: int, payload: bytes | memoryview) -> bytes:
    """One binary `/ws` frame of an Arrow result: a 4-byte big-endian length, that many bytes
    of JSON `{"id": <request id>, "frame": <index from 0>}`, then a slice of the stream."""
    header = json.dumps({"id": request_id, "frame": index}).encode()
    return len(header).to_bytes(4, "big") + header + payload


def read_arrow_frame(frame: bytes) -> tuple[Id, int, memoryview]:
    """The request id, the index and the payload of a binary frame; ValueError if malformed."""
    view = memoryview(frame)
    size = int.from_bytes(view[:4], "big")
    if len(view) < 4 + size:
        raise ValueError("a binary frame shorter than its header")
    header = json.loads(bytes(view[4 : 4 + size]))
    if not isinstance(header, dict) or not isinstance(header.get("frame"), int):
        raise ValueError("a binary frame without an Arrow frame header")
    return header.get("id"), header["frame"], view[4 + size :]


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    """A JSON-RPC notification (no id, no response expected)."""
    return {"jsonrpc": JSONRPC, "method": method, "params": params}
