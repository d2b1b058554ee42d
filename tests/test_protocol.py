"""One protocol for both sides: the error codes the kernel maps back to its classes, and
JSON-RPC 2.0 to the letter (params and results through their models) on a real server."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any, get_args

import httpx
import nlsql_server.engines.llm.errors  # noqa: F401  (its classes join the server's tree)
import pytest
from nlsql_server import __version__, protocol, rpc
from nlsql_server import exceptions as server
from nlsql_server.agents.nlp import ENGINES
from nlsql_server.protocol import APPLICATION_ERROR, ErrorCode, error
from pydantic import TypeAdapter
from websockets.sync.client import connect

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


# -- JSON-RPC 2.0 to the letter, against a real server on both transports ---------------------

JSON = {"content-type": "application/json"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
PONG = {"jsonrpc": "2.0", "id": 1, "result": {"pong": True, "version": __version__}}
RUN = {"database": "retail", "sql": "SELECT order_id FROM orders ORDER BY order_id"}


def post(url: str, body: Any) -> httpx.Response:
    text = body if isinstance(body, str) else json.dumps(body)
    return httpx.post(f"{url}/rpc", content=text, headers=JSON, timeout=60)


def call(url: str, method: str, params: Any = None) -> dict[str, Any]:
    return post(url, protocol.request(method, params, 1)).json()


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/ws"


def strict_json(text: str) -> Any:
    """Parse as JSON is written: `Infinity` and `NaN` are not JSON."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in a reply"))


@pytest.mark.parametrize(
    ("method", "params", "param"),
    [
        (
            "ask",
            {"question": "how many orders", "database": "retail", "execute": "false"},
            "execute",
        ),
        ("ask", {"question": "how many orders", "database": "retail", "limit": True}, "limit"),
        ("sql.run", RUN | {"limit": "5"}, "limit"),
        ("sql.run", RUN | {"limit": 0}, "limit"),
        ("sql.run", RUN | {"limit": 2.5}, "limit"),
        ("sql.run", RUN | {"limt": 5}, "limt"),
        ("ping", {"verbose": True}, "verbose"),
    ],
)
def test_params_of_the_wrong_type_or_name_are_refused_naming_the_field(
    server, method, params, param
):
    reply = call(server.url, method, params)
    assert "result" not in reply  # `"execute": "false"` used to run the SQL
    assert reply["error"]["code"] == protocol.INVALID_PARAMS
    assert reply["error"]["data"] == {"code": "invalid_params", "param": param}
    assert f"`{param}`" in reply["error"]["message"]


def test_params_must_be_named(server):
    by_position = call(server.url, "sql.run", ["retail", "SELECT 1"])["error"]
    assert by_position["code"] == protocol.INVALID_PARAMS
    assert by_position["data"]["param"] == "params"
    assert "`database`, `sql`, `limit`" in by_position["message"]  # what it does take
    scalar = post(server.url, {"jsonrpc": "2.0", "id": 4, "method": "ping", "params": "x"}).json()
    assert scalar["error"]["code"] == protocol.INVALID_REQUEST
    assert scalar["error"]["data"] == {"code": "invalid_request", "member": "params"}


@pytest.mark.parametrize("bad", [True, [1], {"n": 1}])
def test_an_id_that_is_no_string_number_or_null_is_an_invalid_request(server, bad):
    reply = post(server.url, PING | {"id": bad}).json()
    assert reply["id"] is None
    assert reply["error"]["code"] == protocol.INVALID_REQUEST
    assert reply["error"]["data"] == {"code": "invalid_request", "member": "id"}


def test_valid_ids_come_back_as_sent_and_an_infinite_one_is_refused(server):
    for rid in ("abc", 7, 2.5, None):
        assert post(server.url, PING | {"id": rid}).json() == PONG | {"id": rid}
    overflow = post(server.url, '{"jsonrpc": "2.0", "id": 1e400, "method": "ping"}')
    assert overflow.status_code == 400
    assert strict_json(overflow.text)["error"]["code"] == protocol.PARSE_ERROR


@pytest.mark.parametrize(
    ("message", "member"),
    [
        ({"id": 1, "method": "ping"}, "jsonrpc"),
        ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, "jsonrpc"),
        ({"jsonrpc": 2.0, "id": 1, "method": "ping"}, "jsonrpc"),
        ({"jsonrpc": "2.0", "id": 1, "method": 5}, "method"),
    ],
)
def test_only_a_json_rpc_2_request_is_one(server, message, member):
    reply = post(server.url, message).json()
    assert reply["error"]["code"] == protocol.INVALID_REQUEST
    assert reply["error"]["data"] == {"code": "invalid_request", "member": member}
    assert reply["id"] == 1  # a valid id is kept, so the client can match the error


NOTIFICATIONS = [
    {"jsonrpc": "2.0", "method": "ping"},
    {"jsonrpc": "2.0", "method": "no.such.method"},
    {"jsonrpc": "2.0", "method": "sql.run", "params": RUN | {"limit": "5"}},
    {"jsonrpc": "2.0", "method": "ask", "params": {"question": "how many orders"}},
]


def test_a_notification_never_gets_a_reply_over_http(server):
    for notification in NOTIFICATIONS:
        response = post(server.url, notification)
        assert (response.status_code, response.content) == (204, b"")
    response = post(server.url, NOTIFICATIONS)  # a batch of notifications only
    assert (response.status_code, response.content) == (204, b"")


def test_a_notification_never_gets_a_reply_over_websocket(server):
    with connect(ws_url(server.url)) as ws:
        for notification in NOTIFICATIONS:
            ws.send(json.dumps(notification))
        ws.send(json.dumps(NOTIFICATIONS))
        ws.send(json.dumps(PING | {"id": "last"}))
        # The notifications' ask runs on, but neither it nor any other sends a frame.
        assert json.loads(ws.recv(timeout=30)) == PONG | {"id": "last"}
        ws.send(json.dumps(PING | {"id": "after"}))
        assert json.loads(ws.recv(timeout=30))["id"] == "after"


BATCH = [
    PING,
    {"jsonrpc": "2.0", "method": "ping"},  # a notification: no response
    5,
    {"jsonrpc": "2.0", "id": "x", "method": "no.such.method"},
    {"jsonrpc": "2.0", "id": 3, "method": "sql.run", "params": RUN | {"limit": "5"}},
    {"jsonrpc": "2.0", "id": 4, "method": "sql.run", "params": RUN | {"limit": 2}},
]


def check_batch_replies(replies: Any) -> None:
    assert isinstance(replies, list) and len(replies) == 5
    pong, not_a_request, unknown, bad_limit, rows = replies
    assert pong == PONG
    assert not_a_request["id"] is None
    assert not_a_request["error"]["code"] == protocol.INVALID_REQUEST
    assert (unknown["id"], unknown["error"]["code"]) == ("x", protocol.METHOD_NOT_FOUND)
    assert (bad_limit["id"], bad_limit["error"]["data"]["param"]) == (3, "limit")
    assert (rows["id"], rows["result"]["rows"]) == (4, [[1], [2]])


def test_a_batch_gets_one_response_per_request_on_both_transports(server):
    response = post(server.url, BATCH)
    assert response.status_code == 200
    check_batch_replies(response.json())
    with connect(ws_url(server.url)) as ws:
        ws.send(json.dumps(BATCH))
        check_batch_replies(json.loads(ws.recv(timeout=30)))


def test_an_empty_batch_is_one_invalid_request_on_both_transports(server):
    over_http = post(server.url, "[]")
    assert over_http.status_code == 400
    with connect(ws_url(server.url)) as ws:
        ws.send("[]")
        over_ws = json.loads(ws.recv(timeout=5))
    for reply in (over_http.json(), over_ws):
        assert isinstance(reply, dict)  # one error object, not an array
        assert reply["id"] is None
        assert reply["error"]["code"] == protocol.INVALID_REQUEST


# -- results match their models --------------------------------------------------------------


def test_every_method_has_a_handler_and_models():
    assert set(rpc.HANDLERS) == set(protocol.METHODS)
    for method in protocol.METHODS.values():
        assert issubclass(method.params, protocol.Params)
    # the `engine` param names the engines the NLP agent has
    assert get_args(protocol.Engine) == ENGINES


#: A glossary term the calls below remember and forget (the date orders have anyway).
ORDERS_DATED = {"names": ["orders"], "kind": "date", "date_column": "orders.order_date"}


def test_every_methods_real_result_validates_against_its_model(server):
    sid = call(server.url, "session.open")["result"]["session_id"]
    calls: list[tuple[str, Any]] = [
        ("ping", None),
        ("databases.list", {}),
        ("session.open", {"session_id": sid}),
        ("session.use", {"session_id": sid, "database": "retail"}),
        ("ask", {"question": "top 5 customers by total purchase amount", "session_id": sid}),
        ("ask", {"question": "how many orders", "database": "retail"}),  # a single value
        ("ask", {"question": "how many orders", "database": "retail", "execute": False}),
        ("session.get", {"session_id": sid}),
        ("schema.tables", {"database": "retail"}),
        ("schema.describe", {"database": "retail", "table": "orders"}),
        ("sql.run", RUN | {"limit": 3}),
        ("schema.provenance", RUN),
        ("tools.list", None),
        ("tools.call", {"name": "list_databases"}),
        ("tools.call", {"name": "no_such_tool", "arguments": {}}),
        ("stats", None),
        ("glossary.list", {"database": "retail"}),
        ("glossary.add", {"database": "retail", "term": ORDERS_DATED}),
        ("glossary.remove", {"database": "retail", "name": "orders"}),
    ]
    for method, params in calls:
        reply = call(server.url, method, params)
        assert "result" in reply, (method, reply)
        TypeAdapter(protocol.METHODS[method].result).validate_python(reply["result"])
    session = protocol.SessionState.model_validate(
        call(server.url, "session.get", {"session_id": sid})["result"]
    )
    assert len(session.history) == 1
    assert {method for method, _ in calls} == set(protocol.METHODS)


def test_progress_notifications_match_their_model(server):
    with connect(ws_url(server.url)) as ws:
        ws.send(json.dumps(protocol.request("ask", {"question": "how many orders"}, "q")))
        events = []
        while "id" not in (message := json.loads(ws.recv(timeout=60))):
            assert message["method"] == protocol.ASK_PROGRESS
            events.append(protocol.AskProgress.model_validate(message["params"]))
    assert [e.stage for e in events] == list(protocol.STAGES)
    assert {e.request_id for e in events} == {"q"}
    assert "progress" not in message["result"]  # over /ws it came as notifications


# -- a client's mistakes leave no traceback in the server's log -------------------------------


def test_no_client_mistake_writes_a_traceback(server, caplog):
    mistakes: list[Any] = [
        "{nope",
        "[]",
        "[1, 2]",
        '{"jsonrpc": "2.0", "id": 1e400, "method": "ping"}',
        *BATCH,
        *NOTIFICATIONS,
        PING | {"id": True},
        PING | {"params": [1]},
        protocol.request("ask", {"question": "x" * 10_000}, 1),
        protocol.request("ask", {"question": "how many orders", "chart": {"a": 1}}, 1),
        protocol.request("ask", {"question": "how many orders", "engine": "llm"}, 1),
        protocol.request("sql.run", {"database": "nope", "sql": "SELECT 1"}, 1),
        protocol.request("sql.run", {"database": "retail", "sql": "DROP TABLE orders"}, 1),
        protocol.request("tools.call", {"name": "execute_query", "arguments": {"limit": "x"}}, 1),
        protocol.request("session.get", {"session_id": "\x00"}, 1),
    ]
    uvicorn_log = logging.getLogger("uvicorn.error")  # does not propagate to the root logger
    uvicorn_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING), connect(ws_url(server.url)) as ws:
            for n, mistake in enumerate(mistakes):
                text = mistake if isinstance(mistake, str) else json.dumps(mistake)
                post(server.url, text)
                ws.send(text)
                ws.send(
                    json.dumps(PING | {"id": n})
                )  # the mistake has been read when it is answered
                while json.loads(ws.recv(timeout=60)) != PONG | {"id": n}:
                    pass
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []


def test_docs_list_every_method_and_field():
    script = Path(__file__).resolve().parent.parent / "scripts" / "protocol_doc.py"
    done = subprocess.run([sys.executable, script, "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
