"""What tests/test_fuzz.py throws at the live server, and what JSON-RPC 2.0 lets it answer.

The strategies make JSON-RPC traffic a client could send, well-formed or not: any JSON value,
request-shaped objects with odd ids and params, odd Unicode (NUL, bidi marks, BOM, noncharacters,
very long strings; lone surrogates only where a property asks for them). The checks say what a
reply must look like by the JSON-RPC 2.0 specification and by docs/protocol.md's limits, written
from those texts rather than from the server's code, so they hold for any correct server.
"""

from __future__ import annotations

import json
import math
import operator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

#: The defaults of `Settings.max_message_bytes`, `max_json_depth`, `max_batch` (docs/protocol.md).
MAX_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_BATCH = 50

#: Pieces that trip parsers, terminals and SQL: NUL, bidi controls, BOM, combining mark,
#: noncharacters, the line separator JavaScript chokes on, quotes, format strings, paths.
ODD_PIECES = (
    "\x00",
    "\u202e",
    "\u200f",
    "\u2066",
    "\ufeff",
    "\u0301",
    "\uffff",
    "\U0010ffff",
    "\U0001f600",
    "\x7f",
    "\u2028",
    "\r\n",
    "\\",
    '"',
    "%s%n%x",
    "' OR 1=1 --",
    "../../etc/passwd",
    "retail",
    "customers",
    "SELECT 1",
    "NaN",
    "null",
)

#: Names of params the methods take (docs/protocol.md), and values that get past the first
#: checks (databases, a table, SQL, a question, chart kinds, engines, the MCP tools' names) so
#: the odd ones beside them reach deeper.
PARAM_NAMES = (
    "question",
    "database",
    "session_id",
    "engine",
    "limit",
    "execute",
    "chart",
    "sql",
    "table",
    "name",
    "arguments",
)
PLAUSIBLE = (
    "retail",
    "finance",
    "customers",
    "how many orders",
    "SELECT 1",
    "bar",
    "offline",
    "list_databases",
    "discover_tables",
    "get_table_schema",
    "sample_values",
    "execute_query",
    "ask",
)


def texts(max_size: int = 40) -> st.SearchStrategy[str]:
    """Any Unicode text but lone surrogates: short, odd pieces joined, or very long."""
    return st.one_of(
        st.text(max_size=max_size),
        st.lists(st.sampled_from(ODD_PIECES), max_size=8).map("".join),
        st.builds(
            operator.mul,
            st.sampled_from(["x", "é", "\U0001f600", "\u202e", "\x00"]),
            st.integers(1_000, 20_000),
        ),
    )


def scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(-(10**300), 10**300),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(),
    )


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value (no NaN or Infinity: they are not JSON)."""
    return st.recursive(
        scalars(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts(12), inner, max_size=4),
        max_leaves=max_leaves,
    )


def valid_ids() -> st.SearchStrategy[Any]:
    """Ids JSON-RPC 2.0 allows: a string, a number (big, negative, fractional) or null."""
    return st.one_of(
        st.none(),
        st.integers(),
        st.integers(-(10**4000), 10**4000),
        st.floats(allow_nan=False, allow_infinity=False),
        texts(),
    )


def invalid_ids() -> st.SearchStrategy[Any]:
    """Ids JSON-RPC 2.0 forbids: booleans, arrays, objects."""
    return st.one_of(
        st.booleans(),
        st.lists(scalars(), max_size=3),
        st.dictionaries(texts(8), scalars(), max_size=3),
    )


def params() -> st.SearchStrategy[Any]:
    """Params for any method: objects of known and unknown names with odd values (or plausible
    ones), or not an object at all."""
    value = st.one_of(json_values(6), st.sampled_from(PLAUSIBLE))
    names = st.one_of(st.sampled_from(PARAM_NAMES), texts(12))
    return st.one_of(st.dictionaries(names, value, max_size=6), json_values(6))


def requests(methods: tuple[str, ...], ids: st.SearchStrategy[Any] | None = None) -> Any:
    """Request-shaped objects: mostly right, each member sometimes odd or missing."""
    method = st.one_of(st.sampled_from(methods), st.sampled_from(methods), texts(), scalars())
    members = st.fixed_dictionaries(
        {"jsonrpc": st.one_of(st.just("2.0"), st.just("2.0"), scalars())},
        optional={
            "id": ids if ids is not None else st.one_of(valid_ids(), invalid_ids()),
            "method": method,
            "params": params(),
        },
    )
    extra = st.dictionaries(texts(8), scalars(), max_size=2)
    return st.builds(lambda more, known: {**more, **known}, extra, members)


def encode(message: Any) -> bytes:
    """JSON text as a client would send it: ASCII, so lone surrogates travel as `\\udXXX`."""
    return json.dumps(message).encode("ascii")


# -- what a reply may be ---------------------------------------------------------------------


def strict_loads(text: str | bytes) -> Any:
    """Parse JSON text as RFC 8259 defines it: UTF-8 (a leading byte order mark may be
    ignored), no NaN, no Infinity, no 1e400."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")

    def finite(literal: str) -> float:
        number = float(literal)
        if not math.isfinite(number):
            raise ValueError(f"{literal} overflows a float")
        return number

    return json.loads(text, parse_constant=_not_json, parse_float=finite)


def _not_json(literal: str) -> Any:
    raise ValueError(f"{literal} is not JSON")


def is_valid_id(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float) and not isinstance(value, bool)


def assert_response(reply: Any) -> None:
    """One JSON-RPC 2.0 Response object: `jsonrpc`, `id`, exactly one of `result` and `error`."""
    assert isinstance(reply, dict), reply
    assert reply.get("jsonrpc") == "2.0", reply
    assert "id" in reply and is_valid_id(reply["id"]), reply
    assert ("result" in reply) != ("error" in reply), reply
    assert set(reply) <= {"jsonrpc", "id", "result", "error"}, reply
    if "error" in reply:
        error = reply["error"]
        assert isinstance(error, dict) and set(error) <= {"code", "message", "data"}, reply
        assert type(error.get("code")) is int and isinstance(error.get("message"), str), reply


def is_notification_from_server(frame: Any) -> bool:
    """A notification the server sends on `/ws` (`ask.progress`): a method, no id."""
    return isinstance(frame, dict) and "id" not in frame and isinstance(frame.get("method"), str)


@dataclass(frozen=True)
class Verdict:
    """What the server must do with one message, by the spec and the documented limits.

    `refusals`: the `data.code`s of the errors that refuse the whole message (`id` null), any of
    which may answer it (several limits can apply to one message); empty when it is accepted.
    """

    refusals: frozenset[str]
    message: Any = None


def judge(body: bytes) -> Verdict:
    """The verdict on a message of these bytes."""
    refusals: set[str] = set()
    if len(body) > MAX_BYTES:
        refusals.add("too_large")
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Verdict(frozenset(refusals | {"parse_error"}))
    if text.count("[") + text.count("{") > _PARSEABLE_DEPTH and nesting(text) > _PARSEABLE_DEPTH:
        # Deeper than this process can parse without recursing to its limit: JSON or not,
        # the server must refuse it (as too deep, or as not JSON if it looks further).
        return Verdict(frozenset(refusals | {"too_deep", "parse_error"}))
    try:
        message = strict_loads(text)
    except ValueError:
        return Verdict(frozenset(refusals | {"parse_error"}))
    if depth(message) > MAX_DEPTH:
        refusals.add("too_deep")
    if not _encodable(message):
        refusals.add("parse_error")
    if isinstance(message, list) and not 0 < len(message) <= MAX_BATCH:
        refusals.add("invalid_batch")
    return Verdict(frozenset(refusals), message)


_PARSEABLE_DEPTH = 400


def nesting(text: str) -> int:
    """How deeply the brackets of JSON text nest, strings skipped (the text may be no JSON)."""
    deepest = level = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            level += 1
            deepest = max(deepest, level)
        elif char in "]}":
            level -= 1
    return deepest


def depth(value: Any) -> int:
    """How deeply arrays and objects nest (a scalar: 0, `[]`: 1); without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend(
                (child, level + 1) for child in (item.values() if isinstance(item, dict) else item)
            )
    return deepest


def _encodable(message: Any) -> bool:
    try:
        json.dumps(message, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def is_request(message: Any) -> bool:
    """A valid Request object (with an id or without: then a notification)."""
    return (
        isinstance(message, dict)
        and message.get("jsonrpc") == "2.0"
        and isinstance(message.get("method"), str)
        and isinstance(message.get("params", {}), dict | list)
        and ("id" not in message or is_valid_id(message["id"]))
    )


def assert_refused(reply: Any, verdict: Verdict) -> None:
    """The whole message refused with one error (id null) whose code is one the verdict allows."""
    assert_response(reply)
    assert reply["id"] is None and "error" in reply, reply
    code = (reply["error"].get("data") or {}).get("code")
    assert code in verdict.refusals, (reply, verdict.refusals)


def assert_answers(message: Any, replies: list[Any]) -> None:
    """Replies to an accepted single message: the request's own id on a valid request with one
    (never an internal error), an error with id null on an invalid one."""
    for reply in replies:
        assert_response(reply)
    if is_request(message) and "id" in message:
        mine = [r for r in replies if r["id"] == message["id"]]
        assert len(mine) == 1, (message, replies)
        assert mine[0].get("error", {}).get("code") != -32603, (message, mine[0])
    elif not is_request(message):
        assert replies, message
        (reply,) = replies
        assert "error" in reply and reply["error"]["code"] in (-32600, -32602), reply
