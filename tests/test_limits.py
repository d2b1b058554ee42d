"""Nothing a client sends takes the server down (issue 12): each hole seen on the old server.

Every test sends what an attacker (or a runaway script) would, to a real server on loopback,
and checks for a JSON-RPC error the client can act on, then that the server still serves.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from conftest import ServerThread
from nlsql_server.app import create_app
from nlsql_server.settings import Settings
from websockets.sync.client import connect

JSON = {"content-type": "application/json"}
PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}


def post_raw(url: str, body: bytes | str) -> httpx.Response:
    return httpx.post(f"{url}/rpc", content=body, headers=JSON, timeout=60)


def call(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    return post_raw(url, json.dumps(body)).json()


def still_serves(url: str) -> None:
    assert post_raw(url, json.dumps(PING)).json()["result"]["pong"] is True


def test_a_value_bigger_than_the_memory_bound_fails_clearly(server):
    # The old server built this 900 MB string (about 1 GB of memory, 15 s) and sent it back.
    reply = call(
        server.url,
        "sql.run",
        {"database": "retail", "sql": "SELECT printf('%.*c', 900000000, 'x') AS blob"},
    )
    assert reply["error"]["data"]["code"] == "query_failed"
    assert "more memory than the server gives SQLite" in reply["error"]["message"]
    still_serves(server.url)


def test_a_long_cell_is_cut_and_the_answer_says_so(server):
    # 3 MB of text in one cell: past the 1 MiB cell cap, it used to come back whole.
    sql = "SELECT replace(printf('%.*c', 1000000, 'x'), 'x', 'abc') AS blob, 7 AS n"
    result = call(server.url, "sql.run", {"database": "retail", "sql": sql})["result"]
    assert [len(result["rows"][0][0]), result["rows"][0][1]] == [1 << 20, 7]
    assert result["truncated"] is True
    assert "1 values longer than 1,048,576 characters were cut" in result["note"]


def test_an_answer_stops_at_its_size_cap(data_dir):
    settings = Settings(data_dir=data_dir, max_result_bytes=200_000)
    sql = (
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 5000) "
        "SELECT n, printf('%.*c', 100, 'x') AS filler FROM c"
    )
    with ServerThread(create_app(settings)) as running:
        response = post_raw(
            running.url,
            json.dumps(
                {"jsonrpc": "2.0", "id": 1, "method": "sql.run",
                 "params": {"database": "retail", "sql": sql}}
            ),
        )  # fmt: skip
        result = response.json()["result"]
        assert len(response.content) < 400_000  # 5,000 rows would be about 560 kB
        assert 1000 < result["row_count"] < 5000
        assert result["rows"][-1][0] == result["row_count"]  # the first rows, in order
        assert result["truncated"] is True
        assert "NLSQL_MAX_RESULT_BYTES" in result["note"]


def test_a_huge_question_is_refused_as_too_long(server):
    reply = call(server.url, "ask", {"question": "revenue " * 12_000, "database": "retail"})
    assert reply["error"]["data"]["code"] == "invalid_params"
    assert "too long" in reply["error"]["message"]
    still_serves(server.url)


def test_a_body_past_the_limit_is_refused_unread(server):
    response = post_raw(server.url, b"[" + b" " * (2 << 20) + b"]")
    assert response.status_code == 413
    assert response.json()["error"]["data"]["code"] == "too_large"
    still_serves(server.url)


def test_deep_nesting_is_an_error_on_both_transports(server):
    deep = "[" * 2000 + "]" * 2000
    response = post_raw(server.url, deep)
    assert response.status_code == 400
    assert response.json()["error"]["data"]["code"] == "too_deep"
    assert response.headers["content-type"] == "application/json"

    with connect(server.url.replace("http://", "ws://") + "/ws") as ws:
        ws.send(deep)
        assert json.loads(ws.recv(timeout=5))["error"]["data"]["code"] == "too_deep"
        ws.send(json.dumps(PING))  # the socket lives on
        assert json.loads(ws.recv(timeout=5))["result"]["pong"] is True


def test_a_lone_surrogate_is_a_parse_error_not_a_crash(server):
    body = '{"jsonrpc": "2.0", "id": 1, "method": "ask", "params": {"question": "\\ud800"}}'
    response = post_raw(server.url, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700
    still_serves(server.url)


def test_an_empty_batch_and_a_nan_id_are_invalid(server):
    empty = post_raw(server.url, "[]")
    assert empty.status_code == 400
    assert empty.json()["error"]["data"]["code"] == "invalid_batch"

    nan = post_raw(server.url, '{"jsonrpc": "2.0", "id": NaN, "method": "ping"}')
    assert nan.status_code == 400
    json.loads(nan.text)  # the reply is JSON (NaN was never echoed)
    assert nan.json()["error"]["code"] == -32700


def test_a_session_id_has_a_length_limit(server):
    reply = call(server.url, "session.open", {"session_id": "x" * 50_000})
    assert reply["error"]["data"]["code"] == "invalid_params"
    assert reply["error"]["data"]["param"] == "session_id"
    assert call(server.url, "session.open", {"session_id": "x" * 64})["result"]["session_id"]


def test_sessions_in_memory_are_bounded(data_dir):
    settings = Settings(data_dir=data_dir, max_sessions=20)
    with ServerThread(create_app(settings)) as running:
        for n in range(50):
            call(running.url, "session.open", {"session_id": f"client-{n}"})
        stats = call(running.url, "stats", {})["result"]["sessions"]
        assert stats["sessions"] == 20  # the 30 least recently used were let go


def test_sessions_in_memory_expire(data_dir):
    settings = Settings(data_dir=data_dir, session_ttl=0.5)
    with ServerThread(create_app(settings)) as running:
        for n in range(5):
            call(running.url, "session.open", {"session_id": f"client-{n}"})
        deadline = time.monotonic() + 20
        while call(running.url, "stats", {})["result"]["sessions"]["sessions"]:
            assert time.monotonic() < deadline, "sessions in memory never expired"
            time.sleep(0.1)
