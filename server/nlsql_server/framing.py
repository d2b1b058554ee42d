"""What one incoming message may be, checked before any method sees it.

Both transports decode through `decode`: a message larger than the limit, bytes that are not
UTF-8 (RFC 8259 8.1; Python's parser would also take UTF-16 or UTF-32), JSON nested deeper
than the limit (Python's parser would recurse until it fails), a non-finite number (`NaN` is
not JSON, `1e400` overflows a float, and neither can be echoed back as JSON), a lone surrogate
(it cannot be encoded as UTF-8 when echoed), or an empty batch each get a JSON-RPC error
instead of reaching the dispatcher, so no client input can turn into a 500 or a dropped
connection.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from . import protocol
from .protocol import ErrorCode

__all__ = ["Limits", "decode"]

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@dataclass(frozen=True)
class Limits:
    """The sizes a message may have (`Settings.max_message_bytes`, `max_json_depth`, …)."""

    message_bytes: int = 1 << 20
    json_depth: int = 32
    batch: int = 50


def decode(text: str | bytes, limits: Limits) -> tuple[Any, dict[str, Any] | None]:
    """The decoded message, or the JSON-RPC error response to send back instead."""
    if len(text) > limits.message_bytes:
        return None, _error(
            protocol.INVALID_REQUEST,
            f"The message is larger than {limits.message_bytes} bytes.",
            ErrorCode.TOO_LARGE,
        )
    try:
        raw = text if isinstance(text, str) else text.decode("utf-8-sig")
        message = json.loads(raw, parse_constant=_not_json, parse_float=_finite)
    except RecursionError:
        return None, _too_deep(limits)
    except ValueError as exc:  # UnicodeDecodeError too
        return None, _error(
            protocol.PARSE_ERROR, f"The message is not valid JSON: {exc}", ErrorCode.PARSE_ERROR
        )
    if _depth(message) > limits.json_depth:
        return None, _too_deep(limits)
    if _SURROGATE_ESCAPE.search(raw) and not _encodable(message):
        return None, _error(
            protocol.PARSE_ERROR,
            "The message holds a lone surrogate: not valid Unicode.",
            ErrorCode.PARSE_ERROR,
        )
    if isinstance(message, list) and not 0 < len(message) <= limits.batch:
        return None, _error(
            protocol.INVALID_REQUEST,
            f"A batch holds 1 to {limits.batch} requests.",
            ErrorCode.INVALID_BATCH,
        )
    return message, None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not a JSON value")


def _finite(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError(f"{literal} is too large for a number")
    return number


def _depth(value: Any) -> int:
    """How deeply arrays and objects nest (iterative: no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def _encodable(message: Any) -> bool:
    try:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _too_deep(limits: Limits) -> dict[str, Any]:
    return _error(
        protocol.INVALID_REQUEST,
        f"The message nests deeper than {limits.json_depth} levels.",
        ErrorCode.TOO_DEEP,
    )


def _error(number: int, message: str, code: ErrorCode) -> dict[str, Any]:
    return protocol.error(None, number, message, {"code": code})
