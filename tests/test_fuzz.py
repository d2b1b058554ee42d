"""Whatever a client sends, the live server answers as JSON-RPC 2.0 and keeps serving (issue 12).

Property-based (hypothesis) against real uvicorn servers on loopback, started for this module
alone: arbitrary bytes and JSON values as `/rpc` bodies and `/ws` frames, odd ids and params for
every method, odd Unicode, deep nesting, oversized bodies and frames, batches. For every example:

- the reply comes within `fuzz_clients.REPLY_TIMEOUT` (a slower one counts as a hang);
- every reply is strict JSON and a JSON-RPC 2.0 Response object: the request's id on a valid
  request, an error with id null for a message refused whole (a limit, not JSON, not a request),
  never an internal error, never an HTTP 500 or plain text;
- a second client on its own WebSocket is served (`ping`) while the example runs;
- the fuzzed WebSocket stays open: after every frame the same socket answers a `ping`. Only a
  frame past the message limit closes it unread, with 1009 (message too big), on `nlsql serve`
  and on the kernel's bundled server alike (both give uvicorn `ws_max_size` = the limit).

Every example is derandomized (CI runs the same ones); `NLSQL_FUZZ_EXAMPLES` sets the examples
per property (default 100: the module then takes about one minute on an idle 2-core machine,
two when it is busy).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_clients import (
    Live,
    awaited_id,
    check_http,
    check_ws,
    over_http,
    over_ws,
)
from fuzz_messages import (
    MAX_BATCH,
    MAX_BYTES,
    MAX_DEPTH,
    assert_response,
    encode,
    invalid_ids,
    is_request,
    json_values,
    judge,
    params,
    requests,
    scalars,
    strict_loads,
    texts,
    valid_ids,
)
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from nlsql_server import protocol
from nlsql_server.settings import Settings
from server_process import ServerProcess

from nlsql_jupyter.embedded import EmbeddedServer

EXAMPLES = int(os.environ.get("NLSQL_FUZZ_EXAMPLES", "100"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)
#: Sizes near and past the message limit: few examples, each megabytes long.
FEW = settings(FUZZ, max_examples=max(10, EXAMPLES // 5))

#: Every method of the protocol (protocol.py); a test checks the server offers exactly these.
METHODS = (
    protocol.PING,
    protocol.DATABASES_LIST,
    protocol.SESSION_OPEN,
    protocol.SESSION_USE,
    protocol.SESSION_GET,
    protocol.SCHEMA_TABLES,
    protocol.SCHEMA_DESCRIBE,
    protocol.SCHEMA_PROVENANCE,
    protocol.SQL_RUN,
    protocol.ASK,
    protocol.GLOSSARY_LIST,
    protocol.GLOSSARY_ADD,
    protocol.GLOSSARY_REMOVE,
    protocol.TOOLS_LIST,
    protocol.TOOLS_CALL,
    protocol.STATS,
)
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


# -- the servers ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def served(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """`nlsql serve` in a process of its own, as users run it (WebSocket frames capped at the
    message limit); its log is this module's alone."""
    settings = Settings()
    assert (settings.max_message_bytes, settings.max_json_depth, settings.max_batch) == (
        MAX_BYTES,
        MAX_DEPTH,
        MAX_BATCH,
    ), "fuzz_messages' limits are the server's defaults"
    with ServerProcess(log_dir=tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def live(served: ServerProcess) -> Iterator[Live]:
    harness = Live(served.url)
    yield harness
    harness.close()


@pytest.fixture(scope="module")
def bundled(data_dir: Path) -> Iterator[Live]:
    """The server the kernel bundles (uvicorn's own 16 MiB frame limit, a token)."""
    server = EmbeddedServer(Settings(data_dir=data_dir))
    harness = Live(server.start(), server.token)
    yield harness
    harness.close()
    server.stop()


# -- arbitrary input -------------------------------------------------------------------------


def spliced(message: bytes, at: int, insert: bytes, cut: bool) -> bytes:
    """`message` with `insert` put in at `at`, the rest dropped when `cut`."""
    at %= len(message) + 1
    return message[:at] + insert + (b"" if cut else message[at:])


def near_json() -> st.SearchStrategy[bytes]:
    """Requests broken in one place: bytes inserted, the end cut off."""
    return st.builds(
        spliced,
        requests(METHODS, valid_ids()).map(encode),
        st.integers(0, 10**6),
        st.binary(max_size=8),
        st.booleans(),
    )


@FUZZ
@given(body=st.one_of(st.binary(max_size=2048), near_json()))
@example(body=b"")
@example(body=b"\xff\xfe\x00\x00")
@example(body=b"\xef\xbb\xbf" + json.dumps(PING).encode())
def test_any_bytes_as_an_http_body(live, body):
    over_http(live, body)


@FUZZ
@given(text=st.one_of(st.text(max_size=2048), near_json().map(lambda b: b.decode("latin-1"))))
def test_any_text_as_a_websocket_frame(live, text):
    verdict = judge(text.encode("utf-8"))
    check_ws(live.send(text, awaited_id(verdict)), verdict)


@FUZZ
@given(data=st.binary(max_size=4096))
def test_any_bytes_as_a_binary_frame_are_refused_and_the_socket_stays(live, data):
    exchange = live.send(data)
    assert exchange.close_code is None
    (reply,) = exchange.replies
    assert_response(reply)
    assert reply["id"] is None and reply["error"]["data"]["code"] == "binary_frame"


MESSAGES = st.one_of(
    json_values().filter(lambda value: not isinstance(value, list)),
    requests(METHODS, valid_ids()),
)


@FUZZ
@given(message=st.one_of(MESSAGES, st.lists(MESSAGES, min_size=1, max_size=4)))
def test_any_json_value_as_an_http_message(live, message):
    over_http(live, encode(message))


@FUZZ
@given(message=MESSAGES)
def test_any_json_value_as_a_websocket_message(live, message):
    over_ws(live, encode(message))


@pytest.mark.parametrize("method", METHODS)
@FUZZ
@given(value=st.one_of(params(), st.none()), over=st.sampled_from([over_http, over_ws]))
def test_odd_params_for_every_method(live, method, value, over):
    request: dict[str, Any] = {"jsonrpc": "2.0", "id": 7, "method": method}
    if value is not None:
        request["params"] = value
    over(live, encode(request))


def test_the_fuzzed_methods_are_all_the_server_has(live):
    reply = live.post(encode({"jsonrpc": "2.0", "id": 1, "method": "no.such.method"})).json()
    assert sorted(reply["error"]["data"]["methods"]) == sorted(METHODS)


# -- ids ---------------------------------------------------------------------------------------


@FUZZ
@given(rid=valid_ids(), over=st.sampled_from([over_http, over_ws]))
@example(rid=10**4000, over=over_http)
@example(rid=-0.0, over=over_ws)
@example(rid=5e-324, over=over_http)
def test_every_id_json_rpc_allows_comes_back_as_sent(live, rid, over):
    over(live, encode({"jsonrpc": "2.0", "id": rid, "method": "ping"}))


@FUZZ
@given(rid=invalid_ids())
def test_an_id_json_rpc_forbids_is_an_invalid_request(live, rid):
    reply = live.post(encode({"jsonrpc": "2.0", "id": rid, "method": "ping"})).json()
    assert_response(reply)
    assert reply["id"] is None and reply["error"]["code"] == -32600, reply


NON_FINITE = ("NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1E+309", "123456789e301")


@FUZZ
@given(
    literal=st.sampled_from(NON_FINITE),
    template=st.sampled_from(
        [
            '{"jsonrpc": "2.0", "id": %s, "method": "ping"}',
            '{"jsonrpc": "2.0", "id": 3, "method": "sql.run", "params": {"limit": %s}}',
            '[{"jsonrpc": "2.0", "id": %s, "method": "ping"}]',
            "%s",
        ]
    ),
    over=st.sampled_from([over_http, over_ws]),
)
@example(literal="1e400", template='{"jsonrpc": "2.0", "id": %s, "method": "ping"}', over=over_ws)
def test_a_number_json_cannot_carry_is_a_parse_error(live, literal, template, over):
    # 1e400 is valid JSON text but no double holds it: echoed as an id it became `Infinity`.
    body = (template % literal).encode()
    assert judge(body).refusals == {"parse_error"}
    over(live, body)


# -- odd Unicode -------------------------------------------------------------------------------

LONE = st.sampled_from(["\ud800", "\udbff", "\udc00", "\udfff", "\ud83d"])


def with_lone_surrogate(where: str, surrogate: str, text: str) -> dict[str, Any]:
    """A ping or an ask with a lone surrogate in one member (escaped as `\\udXXX` on the wire)."""
    odd = text + surrogate + text
    message: dict[str, Any] = {
        "jsonrpc": "2.0",
        "id": 5,
        "method": "ask",
        "params": {"question": "how many orders", "database": "retail", "session_id": "s1"},
    }
    if where in ("id", "method"):
        message[where] = odd
    elif where == "key":
        message["params"][odd] = 1
    elif where == "deep":
        message["params"]["question"] = [[{"x": odd}]]
    else:
        message["params"][where] = odd
    return message


@FUZZ
@given(
    where=st.sampled_from(["id", "method", "key", "deep", "question", "database", "session_id"]),
    surrogate=LONE,
    text=texts(12),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32"]),
    over=st.sampled_from([over_http, over_ws]),
)
@example(where="id", surrogate="\ud800", text="", encoding="utf-16-le", over=over_http)
def test_a_lone_surrogate_is_a_parse_error_in_any_member(
    live, where, surrogate, text, encoding, over
):
    # JSON on the wire is UTF-8 (RFC 8259 8.1); in UTF-16 the escape once slipped past the check
    # and the echoed id could not be encoded: HTTP 500 with a traceback.
    body = json.dumps(with_lone_surrogate(where, surrogate, text)).encode(encoding)
    if over is over_ws:
        body = body.decode(encoding).encode("utf-8")
    assert "parse_error" in judge(body).refusals
    over(live, body)


@FUZZ
@given(
    text=st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200),
    over=st.sampled_from([over_http, over_ws]),
)
def test_surrogate_pairs_and_other_odd_text_are_served(live, text, over):
    # As a client would send them: astral characters escaped as surrogate pairs (valid).
    for name in ("question", "session_id", "database"):
        message = {"jsonrpc": "2.0", "id": text, "method": "ask", "params": {name: text}}
        over(live, encode(message))


# -- nesting and size --------------------------------------------------------------------------


def nested(depth: int, shape: str) -> str:
    if shape == "array":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "0" + "}" * depth


@FUZZ
@given(
    depth=st.one_of(st.integers(1, 40), st.integers(40, 5_000), st.integers(5_000, 100_000)),
    shape=st.sampled_from(["array", "object"]),
    place=st.sampled_from(["message", "params", "batch"]),
    over=st.sampled_from([over_http, over_ws]),
)
@example(depth=MAX_DEPTH, shape="array", place="message", over=over_ws)
@example(depth=MAX_DEPTH + 1, shape="object", place="message", over=over_http)
@example(depth=970, shape="array", place="params", over=over_ws)
def test_deep_nesting_is_refused_and_nothing_breaks(live, depth, shape, place, over):
    inner = nested(depth, shape)
    request = '{"jsonrpc": "2.0", "id": 9, "method": "ping", "params": {"x": ' + inner + "}}"
    body = {"message": inner, "params": request, "batch": f"[{request}]"}[place].encode()
    if depth + (0 if place == "message" else 2) > MAX_DEPTH:
        assert "too_deep" in judge(body).refusals
    over(live, body)


def padded_ping(size: int) -> bytes:
    """A ping padded with blanks to exactly `size` bytes."""
    body = json.dumps(PING).encode()
    return body + b" " * (size - len(body))


SIZES = st.one_of(
    st.integers(MAX_BYTES - 16, MAX_BYTES + 16), st.integers(MAX_BYTES + 1, 3 * MAX_BYTES)
)


@FEW
@given(size=SIZES, chunked=st.booleans())
@example(size=MAX_BYTES, chunked=True)
@example(size=MAX_BYTES + 1, chunked=False)
def test_a_body_past_the_limit_is_refused_and_one_within_is_served(live, size, chunked):
    body = padded_ping(size)
    # Chunked, no Content-Length: the server must count what it reads, not trust a header.
    content: bytes | Iterator[bytes] = iter([body[:4096], body[4096:]]) if chunked else body
    check_http(live.post(content), judge(body))


@pytest.mark.parametrize("server", ["live", "bundled"])
@FEW
@given(size=SIZES)
@example(size=MAX_BYTES)
@example(size=MAX_BYTES + 1)
def test_a_frame_past_the_limit_closes_the_socket_unread(server, size, request):
    """Both `nlsql serve` and the kernel's server stop reading at the limit (`ws_max_size`)."""
    exchange = request.getfixturevalue(server).send(padded_ping(size).decode(), wait_for=1)
    if size > MAX_BYTES:
        assert exchange.closed and not exchange.replies, exchange
        assert exchange.close_code in (1009, None), exchange  # message too big
    else:
        assert not exchange.closed and exchange.replies[0]["result"]["pong"] is True


# -- batches and notifications -----------------------------------------------------------------


def batch_items(methods: tuple[str, ...]) -> st.SearchStrategy[list[Any]]:
    """1..8 items: requests (ids by position, unique) and things that are no request at all."""
    request = requests(methods, st.none()).map(lambda r: {**r, "jsonrpc": "2.0"})
    not_request = st.one_of(scalars(), st.lists(scalars(), max_size=2), st.just({"id": 4}))
    return st.lists(st.one_of(request, not_request), min_size=1, max_size=8).map(
        lambda items: [
            {**item, "id": f"b{n}"} if isinstance(item, dict) and "jsonrpc" in item else item
            for n, item in enumerate(items)
        ]
    )


def check_batch_to_the_letter(batch: list[Any], replies: Any) -> None:
    """JSON-RPC 2.0 batch rules: one Response per request with an id (its id), one Invalid
    Request error per item that is no request, nothing for notifications."""
    expected_ids = [item["id"] for item in batch if is_request(item) and "id" in item]
    invalid = [item for item in batch if not is_request(item)]
    assert isinstance(replies, list), replies
    for reply in replies:
        assert_response(reply)
    assert sorted(r["id"] for r in replies if r["id"] in expected_ids) == sorted(expected_ids)
    others = [r for r in replies if r["id"] not in expected_ids]
    assert len(others) == len(invalid), (batch, replies)
    assert all(r["error"]["code"] in (-32600, -32602) for r in others), others


@FUZZ
@given(batch=batch_items(METHODS))
def test_a_batch_over_http_answers_each_request(live, batch):
    check_batch_to_the_letter(batch, strict_loads(live.post(encode(batch)).content))


@FUZZ
@given(batch=batch_items(METHODS))
def test_a_batch_over_the_websocket_answers_each_request(live, batch):
    exchange = live.send(encode(batch).decode())
    assert exchange.close_code is None
    (replies,) = exchange.replies
    check_batch_to_the_letter(batch, replies)


@FUZZ
@given(size=st.integers(MAX_BATCH + 1, 4 * MAX_BATCH), over=st.sampled_from([over_http, over_ws]))
@example(size=0, over=over_http)
@example(size=0, over=over_ws)
def test_an_empty_or_overlong_batch_is_one_invalid_request(live, size, over):
    batch = [{**PING, "id": n} for n in range(size)]
    assert judge(encode(batch)).refusals == {"invalid_batch"}
    over(live, encode(batch))


NOTIFICATIONS = (
    requests(METHODS, st.none())
    .map(lambda r: {k: v for k, v in {**r, "jsonrpc": "2.0"}.items() if k != "id"})
    .filter(is_request)
)


@FUZZ
@given(message=st.one_of(NOTIFICATIONS, st.lists(NOTIFICATIONS, min_size=1, max_size=4)))
def test_a_notification_gets_no_reply(live, message):
    response = live.post(encode(message))
    assert response.status_code == 204 and not response.content, response.text
    exchange = live.send(encode(message).decode())
    assert exchange.close_code is None and exchange.replies == [], exchange.replies


# -- params of the wrong type ------------------------------------------------------------------

#: Params that pass, per method (docs/protocol.md); each test swaps one for a wrong type.
GOOD_PARAMS: dict[str, dict[str, Any]] = {
    protocol.SESSION_OPEN: {"session_id": "fuzz-session"},
    protocol.SESSION_USE: {"session_id": "fuzz-session", "database": "retail"},
    protocol.SESSION_GET: {"session_id": "fuzz-session"},
    protocol.SCHEMA_TABLES: {"database": "retail"},
    protocol.SCHEMA_DESCRIBE: {"database": "retail", "table": "customers"},
    protocol.SQL_RUN: {"database": "retail", "sql": "SELECT 1", "limit": 5},
    protocol.SCHEMA_PROVENANCE: {"database": "retail", "sql": "SELECT 1"},
    protocol.ASK: {
        "question": "how many orders",
        "database": "retail",
        "session_id": "fuzz-session",
        "engine": "offline",
        "limit": 5,
        "execute": False,
        "chart": "bar",
    },
    protocol.TOOLS_CALL: {"name": "list_databases", "arguments": {}},
}
KINDS = {"limit": "integer", "execute": "boolean", "arguments": "object"}
WRONG: dict[str, st.SearchStrategy[Any]] = {
    "string": st.one_of(
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.lists(st.text(max_size=3), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    ),
    "integer": st.one_of(
        st.booleans(),
        st.text(max_size=4),
        st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: not x.is_integer()),
        st.lists(st.integers(), max_size=2),
    ),
    "boolean": st.one_of(
        st.sampled_from(["false", "true", "0", ""]),
        st.integers(),
        st.lists(st.booleans(), max_size=2),
    ),
    "object": st.one_of(st.text(max_size=4), st.integers(), st.lists(st.integers(), max_size=2)),
}
FIELDS = [(method, name) for method, good in GOOD_PARAMS.items() for name in good]
WRONGLY_TYPED = st.sampled_from(FIELDS).flatmap(
    lambda field: st.tuples(st.just(field), WRONG[KINDS.get(field[1], "string")])
)


@FUZZ
@given(case=WRONGLY_TYPED)
def test_a_param_of_the_wrong_type_is_invalid_params_naming_it(live, case):
    (method, name), wrong = case
    message = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": method,
        "params": {**GOOD_PARAMS[method], name: wrong},
    }
    reply = strict_loads(live.post(encode(message)).content)
    assert_response(reply)
    assert reply.get("error", {}).get("code") == -32602, (message, reply)
    assert name in json.dumps(reply["error"]), reply


def test_the_server_logged_no_traceback(served, live):
    """Runs last: nothing a client sent above made the server log a traceback (a client's
    mistake is the client's, not a server bug to log)."""
    live.observer.ping()
    assert "Traceback" not in served.log.read_text(errors="replace"), served.tail(60)
