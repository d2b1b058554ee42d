"""The LLM engine's errors, beneath the server's tree (`nlsql_server.exceptions`).

    InvalidParams
    └── LlmNotConfigured      llm_not_configured   (`--engine llm` with no endpoint set up)
    NlsqlError
    └── LlmUnavailable        llm_unavailable      (time-out, refused, API error, breaker open)

Replies the model gets wrong are not new kinds: no SQL in the reply is `CannotAnswer`, anything
but one read-only statement is `UnsafeSql` (from `safety`), a failed run is `QueryFailed`.
"""

from __future__ import annotations

from ...exceptions import InvalidParams, NlsqlError
from ...protocol import ErrorCode

__all__ = ["LlmNotConfigured", "LlmUnavailable"]


class LlmNotConfigured(InvalidParams):
    code = ErrorCode.LLM_NOT_CONFIGURED


class LlmUnavailable(NlsqlError):
    code = ErrorCode.LLM_UNAVAILABLE
