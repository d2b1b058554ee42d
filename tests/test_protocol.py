"""One set of error codes for both sides: what the server sends, the kernel has a class for."""

from __future__ import annotations

import nlsql_server.engines.llm.errors  # noqa: F401  (its classes join the server's tree)
from nlsql_server import exceptions as server
from nlsql_server.protocol import APPLICATION_ERROR, ErrorCode, error

from nlsql_jupyter import exceptions as kernel


def _subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_server_exception_carries_a_known_code():
    for cls in _subclasses(server.NlsqlError) | {server.NlsqlError}:
        assert cls.code in set(ErrorCode), f"{cls.__name__}.code {cls.code!r} is not an ErrorCode"


def test_every_code_comes_back_as_a_kernel_class_of_its_own_kind():
    for code in ErrorCode:
        raised = kernel.from_rpc_error(error(1, APPLICATION_ERROR, "m", {"code": code})["error"])
        assert type(raised) is not kernel.NlsqlError, f"{code} has no kernel class"
        assert raised.data.get("server_code", raised.code) == code  # nothing lost on the way
    refused = {"code": ErrorCode.FORBIDDEN_ORIGIN}
    assert isinstance(
        kernel.from_rpc_error(error(1, APPLICATION_ERROR, "m", refused)["error"]), kernel.Forbidden
    )
