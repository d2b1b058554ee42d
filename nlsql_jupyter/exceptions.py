"""The kernel side's exception tree: the server's stable codes, plus what only a client can meet.

    NlsqlError                      code
    ├── InvalidParams               invalid_params        (bad or missing arguments)
    │   └── EmptyQuestion           empty_question
    ├── UnknownDatabase             unknown_database      (`.databases` lists those there are)
    ├── DatabaseUnavailable         database_unavailable
    ├── UnknownTable                unknown_table
    ├── UnsafeSql                   unsafe_sql
    ├── QueryFailed                 query_failed
    ├── NeedsConfirmation           needs_confirmation    (`.estimate`: over the server's budget)
    ├── TooBusy                     too_busy              (this client has too many queries going)
    ├── CannotAnswer                cannot_answer         (`.understood` says what was recognised)
    ├── NeedsClarification          needs_clarification   (`.options`: the readings to choose from)
    ├── LlmNotConfigured            llm_not_configured    (`--engine llm` with no endpoint set up)
    ├── LlmUnavailable              llm_unavailable       (the model timed out, refused, failed)
    ├── UnknownSession              unknown_session
    ├── Unauthorized                unauthorized          (the server needs `--token`)
    ├── Forbidden                   forbidden_host, forbidden_origin, unsupported_media_type
    ├── InternalServerError         internal_error        (the server failed; see its log)
    ├── ProtocolError               protocol_error        (invalid_request: not valid JSON-RPC)
    │   ├── MethodNotFound          method_not_found      (the server is older than this client)
    │   └── MessageRefused          parse_error, binary_frame, too_large, too_deep, invalid_batch
    └── TransportError              transport_error       (one transport failed: the client falls back)
        ├── ServerUnavailable       server_unavailable    (no transport reached the server)
        │   └── CircuitOpen         circuit_open          (failed fast: the breaker is open)
        └── RequestTimeout          request_timeout       (reached it, but no answer in time)

The server sends its code (`nlsql_server.protocol.ErrorCode`) in JSON-RPC error `data.code`;
`from_rpc_error` maps it back to the class here (every server code has one: a test checks), so `except UnknownDatabase` works the same whether the check ran locally or remotely.
Foreign exceptions (httpx, websockets, OSError) are translated to these at one boundary, the
transports in `nlsql_jupyter.client`.

Every class renders itself without a traceback in IPython (`_render_traceback_`): these are
errors a person fixes by changing the question or the setup, not bugs to debug.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nlsql_server import protocol
from nlsql_server.protocol import ErrorCode

__all__ = [
    "CannotAnswer",
    "CircuitOpen",
    "DatabaseUnavailable",
    "EmptyQuestion",
    "Forbidden",
    "InternalServerError",
    "InvalidParams",
    "LlmNotConfigured",
    "LlmUnavailable",
    "MessageRefused",
    "MethodNotFound",
    "NeedsClarification",
    "NeedsConfirmation",
    "NlsqlError",
    "ProtocolError",
    "QueryFailed",
    "RequestTimeout",
    "ServerUnavailable",
    "TooBusy",
    "TransportError",
    "UnknownDatabase",
    "UnknownSession",
    "UnknownTable",
    "Unauthorized",
    "UnsafeSql",
    "describe_understood",
    "from_rpc_error",
]


class NlsqlError(Exception):
    """Base of every error nlsql-jupyter raises on purpose.

    `code` is the stable string shared with the server; `data` holds the details it sent.
    """

    code: ClassVar[str] = "error"

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data: dict[str, Any] = data

    def hints(self) -> list[str]:
        """Extra lines that help the user act on the error (shown under the message)."""
        return []

    def _render_traceback_(self) -> list[str]:
        # IPython calls this instead of formatting a traceback: a short, actionable message.
        return [f"{type(self).__name__}: {self.message}", *self.hints()]


class InvalidParams(NlsqlError):
    code = "invalid_params"


class EmptyQuestion(InvalidParams):
    code = "empty_question"


class UnknownDatabase(NlsqlError):
    code = "unknown_database"

    @property
    def databases(self) -> list[str]:
        """Names of the databases the server does have."""
        names: list[str] = []
        for item in self.data.get("databases") or []:
            name = item.get("name") if isinstance(item, dict) else item
            if name is not None:
                names.append(str(name))
        return names

    def hints(self) -> list[str]:
        names = self.databases
        if not names or all(name in self.message for name in names):
            return []
        return ["Databases there are: " + ", ".join(names)]


class DatabaseUnavailable(NlsqlError):
    code = "database_unavailable"


class UnknownTable(NlsqlError):
    code = "unknown_table"


class UnsafeSql(NlsqlError):
    code = "unsafe_sql"


class QueryFailed(NlsqlError):
    code = "query_failed"


class NeedsConfirmation(NlsqlError):
    """The server did not run the SQL: its plan reads more rows than the server's budget.

    `%%ask` shows the estimate with a "Run anyway" button instead of raising (unless `strict`).
    """

    code = "needs_confirmation"

    @property
    def estimate(self) -> dict[str, Any]:
        """`kind`, `rows`, `plan` (steps in words), `words`, `cost`, as the server sent them."""
        found = self.data.get("estimate")
        return found if isinstance(found, dict) else {}

    @property
    def sql(self) -> str:
        return str(self.data.get("sql") or "")

    def hints(self) -> list[str]:
        return [
            "Run it anyway: add --yes (`%%ask --yes`, `%nlsql sql --yes`), or `confirm=True` "
            "from Python."
        ]


class TooBusy(NlsqlError):
    """The server refused a query: this client already has as many going as it may."""

    code = "too_busy"

    def hints(self) -> list[str]:
        return ["Wait for a running query to finish, or raise NLSQL_CLIENT_QUERIES on the server."]


class CannotAnswer(NlsqlError):
    code = "cannot_answer"

    @property
    def understood(self) -> Any:
        """What the engine did recognise in the question (as the server reported it)."""
        return self.data.get("understood")

    def understood_text(self) -> str:
        """`understood` as one line a person reads ("measure: order value; group by: month")."""
        return describe_understood(self.understood)

    def hints(self) -> list[str]:
        text = self.understood_text()
        if not text:
            return ["Try naming the table or columns you mean."]
        return [f"Understood so far: {text}", "Try rephrasing with the table or columns you mean."]


class NeedsClarification(NlsqlError):
    """The question reads two or more ways: `%%ask` shows `options` as buttons."""

    code = "needs_clarification"

    @property
    def options(self) -> list[dict[str, Any]]:
        """`{label, choice}` each: `label` for a person, `choice` to send back with the question
        (`nlsql_jupyter.ask(question, choice=...)`) or to remember (`Runtime.remember`)."""
        return [o for o in self.data.get("options") or [] if isinstance(o, dict)]

    def hints(self) -> list[str]:
        return [f"{n}. {o.get('label')}" for n, o in enumerate(self.options, start=1)]


def describe_understood(understood: Any) -> str:
    """What an engine recognised (the server's `understood`), as one line a person reads."""
    if not understood:
        return ""
    if isinstance(understood, dict):
        # the engine's internal plan and the words it could not place (the message names
        # those already) are left out
        return "; ".join(
            f"{key.replace('_', ' ')}: {describe_understood(value)}"
            for key, value in understood.items()
            if value and key not in ("plan", "not_understood")
        )
    if isinstance(understood, list | tuple):
        return ", ".join(describe_understood(item) for item in understood)
    return str(understood)


class LlmNotConfigured(NlsqlError):
    code = "llm_not_configured"

    def hints(self) -> list[str]:
        return ["Set NLSQL_LLM_BASE_URL / NLSQL_LLM_MODEL on the server: see docs/llm.md."]


class LlmUnavailable(NlsqlError):
    code = "llm_unavailable"


class Forbidden(NlsqlError):
    """The server refused who or where the request came from (host name, browser origin)."""

    code = "forbidden"


class UnknownSession(NlsqlError):
    code = "unknown_session"


class Unauthorized(NlsqlError):
    code = "unauthorized"

    def hints(self) -> list[str]:
        return ["Give the server's token: `%nlsql connect URL --token T`."]


class InternalServerError(NlsqlError):
    code = "internal_error"


class ProtocolError(NlsqlError):
    code = "protocol_error"


class MethodNotFound(ProtocolError):
    code = "method_not_found"


class MessageRefused(ProtocolError):
    """The server refused the message itself: not JSON, too large, nested too deep…"""

    code = "message_refused"


class TransportError(NlsqlError):
    code = "transport_error"


class ServerUnavailable(TransportError):
    code = "server_unavailable"

    def hints(self) -> list[str]:
        return [
            "Check the URL with `%nlsql status`, or `%nlsql connect` to use the bundled server."
        ]


class CircuitOpen(ServerUnavailable):
    """The server failed repeatedly; requests fail at once until the breaker's cool-down ends."""

    code = "circuit_open"


class RequestTimeout(TransportError):
    code = "request_timeout"

    def hints(self) -> list[str]:
        return ["Raise the limit with `%config AskMagics.timeout = <seconds>`."]


_BY_CODE: dict[str, type[NlsqlError]] = {
    ErrorCode.INVALID_PARAMS: InvalidParams,
    ErrorCode.EMPTY_QUESTION: EmptyQuestion,
    ErrorCode.UNKNOWN_DATABASE: UnknownDatabase,
    ErrorCode.UNKNOWN_TABLE: UnknownTable,
    ErrorCode.UNKNOWN_SESSION: UnknownSession,
    ErrorCode.DATABASE_UNAVAILABLE: DatabaseUnavailable,
    ErrorCode.UNSAFE_SQL: UnsafeSql,
    ErrorCode.QUERY_FAILED: QueryFailed,
    ErrorCode.TOO_BUSY: TooBusy,
    ErrorCode.NEEDS_CONFIRMATION: NeedsConfirmation,
    ErrorCode.CANNOT_ANSWER: CannotAnswer,
    ErrorCode.NEEDS_CLARIFICATION: NeedsClarification,
    ErrorCode.LLM_NOT_CONFIGURED: LlmNotConfigured,
    ErrorCode.LLM_UNAVAILABLE: LlmUnavailable,
    ErrorCode.UNAUTHORIZED: Unauthorized,
    ErrorCode.FORBIDDEN_HOST: Forbidden,
    ErrorCode.FORBIDDEN_ORIGIN: Forbidden,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: Forbidden,
    ErrorCode.PARSE_ERROR: MessageRefused,
    ErrorCode.BINARY_FRAME: MessageRefused,
    ErrorCode.TOO_LARGE: MessageRefused,
    ErrorCode.TOO_DEEP: MessageRefused,
    ErrorCode.INVALID_BATCH: MessageRefused,
    ErrorCode.INVALID_REQUEST: ProtocolError,
    ErrorCode.METHOD_NOT_FOUND: MethodNotFound,
    ErrorCode.INTERNAL_ERROR: InternalServerError,
}

_BY_NUMBER: dict[int, type[NlsqlError]] = {
    protocol.PARSE_ERROR: ProtocolError,
    protocol.INVALID_REQUEST: ProtocolError,
    protocol.METHOD_NOT_FOUND: MethodNotFound,
    protocol.INVALID_PARAMS: InvalidParams,
    protocol.INTERNAL_ERROR: InternalServerError,
}


def from_rpc_error(error: Any) -> NlsqlError:
    """The exception for a JSON-RPC `error` object: by `data.code` first, then by number."""
    if not isinstance(error, dict):
        return ProtocolError(f"malformed JSON-RPC error: {error!r}")
    message = str(error.get("message") or "the server reported an error")
    data = error.get("data")
    details: dict[str, Any] = dict(data) if isinstance(data, dict) else {}
    code = details.pop("code", None)
    cls = _BY_CODE.get(code) if isinstance(code, str) else None
    if cls is None:
        cls = _BY_NUMBER.get(error.get("code"), NlsqlError)  # type: ignore[arg-type]
    exc = cls(message, **details)
    if isinstance(code, str) and code != cls.code:
        # A code more specific than its class's (or one this client does not know yet): keep
        # it visible on the instance.
        exc.data["server_code"] = code
    return exc
