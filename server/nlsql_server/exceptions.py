"""The server's exception tree. Every error a user can meet carries a stable `code` string.

    NlsqlError                      code
    ├── InvalidParams               invalid_params        (bad or missing arguments)
    │   └── EmptyQuestion           empty_question
    ├── UnknownDatabase             unknown_database      (data lists the databases there are)
    ├── DatabaseUnavailable         database_unavailable  (file missing, not a database, server down)
    ├── UnknownTable                unknown_table
    ├── UnsafeSql                   unsafe_sql            (anything but one read-only statement)
    ├── QueryFailed                 query_failed          (the database refused or timed out)
    ├── NeedsConfirmation           needs_confirmation    (its plan reads more rows than the budget)
    ├── TooBusy                     too_busy              (this client has too many queries going)
    ├── CannotAnswer                cannot_answer         (the engine did not understand enough)
    ├── NeedsClarification          needs_clarification   (two readings: data lists the options)
    └── UnknownSession              unknown_session

The same codes travel in JSON-RPC error `data.code`, so the kernel-side client maps each one
back to its own exception class (see `nlsql_jupyter.exceptions`).
"""

from __future__ import annotations

from typing import Any

from .protocol import ErrorCode


class NlsqlError(Exception):
    """Base of every error the server reports to a user."""

    code: str = ErrorCode.INTERNAL_ERROR

    def __init__(self, message: str, **data: Any) -> None:
        super().__init__(message)
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-RPC `data`: the stable code plus details."""
        return {"code": self.code, **self.data}


class InvalidParams(NlsqlError):
    code = ErrorCode.INVALID_PARAMS


class EmptyQuestion(InvalidParams):
    code = ErrorCode.EMPTY_QUESTION


class UnknownDatabase(NlsqlError):
    code = ErrorCode.UNKNOWN_DATABASE


class DatabaseUnavailable(NlsqlError):
    code = ErrorCode.DATABASE_UNAVAILABLE


class UnknownTable(NlsqlError):
    code = ErrorCode.UNKNOWN_TABLE


class UnsafeSql(NlsqlError):
    code = ErrorCode.UNSAFE_SQL


class QueryFailed(NlsqlError):
    code = ErrorCode.QUERY_FAILED


class NeedsConfirmation(NlsqlError):
    """The statement's plan is over the cost budget: run only when the client confirms.

    `data["estimate"]` holds the kind, rows and plan in words; `data["sql"]` the statement.
    """

    code = ErrorCode.NEEDS_CONFIRMATION


class TooBusy(NlsqlError):
    """The client already has as many queries running or waiting as it may (`client_queries`)."""

    code = ErrorCode.TOO_BUSY


class CannotAnswer(NlsqlError):
    """The engine could not turn the question into SQL it trusts.

    `data["understood"]` lists what it did recognise, so the user can rephrase.
    """

    code = ErrorCode.CANNOT_ANSWER


class NeedsClarification(NlsqlError):
    """The question reads two or more ways and nothing in the schema or glossary picks one.

    `data["options"]`: `{label, choice}` each; `choice` is what `ask`'s `choice` param takes
    (`{"term": <glossary term>}`), and what `glossary.add` remembers.
    """

    code = ErrorCode.NEEDS_CLARIFICATION


class UnknownSession(NlsqlError):
    code = ErrorCode.UNKNOWN_SESSION
