"""Slow queries cannot starve cheap calls or other clients, and a client that goes stops its work.

Each test runs a real server and real WebSocket clients; the slow query is a recursive CTE that
counts for minutes, far past anything the test waits for.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from conftest import ServerThread
from nlsql_server.app import create_app
from nlsql_server.settings import Settings
from server_process import ServerProcess
from websockets.sync.client import ClientConnection, connect

SLOW_SQL = (
    "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000000000000) "
    "SELECT COUNT(*) FROM c"
)


def ws_url(server: ServerThread | ServerProcess) -> str:
    return server.url.replace("http://", "ws://") + "/ws"


def send(ws: ClientConnection, rid: int, method: str, params: dict[str, Any] | None = None) -> None:
    ws.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}}))


def reply(ws: ClientConnection, rid: int, timeout: float = 30) -> dict[str, Any]:
    """The response to request `rid` (other messages on the socket are skipped)."""
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message.get("id") == rid:
            return message


def first_reply(ws: ClientConnection, rids: set[int], timeout: float = 30) -> dict[str, Any]:
    """The first response to any of the requests `rids`."""
    while True:
        message = json.loads(ws.recv(timeout=timeout))
        if message.get("id") in rids:
            return message


def start_slow_query(ws: ClientConnection, rid: int) -> None:
    send(ws, rid, "sql.run", {"database": "retail", "sql": SLOW_SQL})


def query_pool(server: ServerThread) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": "stats"}
    stats = httpx.post(server.url + "/rpc", json=body, timeout=30).json()["result"]
    return stats["workers"]["queries"]


def wait_for(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


@pytest.fixture
def busy_server(data_dir) -> Iterator[ServerThread]:
    """Two query threads, a long time limit: only cancelling stops a slow query early."""
    settings = Settings(data_dir=data_dir, query_threads=2, client_queries=2, query_timeout=600)
    with ServerThread(create_app(settings)) as running:
        yield running


def test_a_client_that_goes_away_stops_its_query(busy_server):
    with connect(ws_url(busy_server)) as ws:
        start_slow_query(ws, 1)
        wait_for(lambda: query_pool(busy_server)["running"] == 1, "the slow query never started")
    # The old server cancelled the request but its thread ran the SQL on for minutes.
    wait_for(lambda: query_pool(busy_server)["running"] == 0, "the query ran on")

    with connect(ws_url(busy_server)) as other:
        send(other, 2, "sql.run", {"database": "retail", "sql": "SELECT COUNT(*) FROM orders"})
        assert reply(other, 2)["result"]["row_count"] == 1


def test_one_client_cannot_take_every_query_thread(busy_server):
    with connect(ws_url(busy_server)) as greedy, connect(ws_url(busy_server)) as other:
        for rid in (1, 2, 3):
            start_slow_query(greedy, rid)
        # Which of the three is refused depends on which reaches the pool last: any one is.
        refused = first_reply(greedy, {1, 2, 3})["error"]
        assert refused["data"]["code"] == "too_busy"
        assert "2 queries" in refused["message"]
        send(greedy, 4, "ping")  # its connection still answers what costs nothing
        assert reply(greedy, 4)["result"]["pong"] is True
        send(other, 5, "sql.run", {"database": "retail", "sql": "SELECT 1 AS one"})
        waiting = lambda: query_pool(busy_server)["waiting"] == 1  # noqa: E731
        wait_for(waiting, "the other client's query was refused, not queued")
    wait_for(lambda: query_pool(busy_server)["running"] == 0, "the slow queries ran on")


def test_cheap_calls_are_not_queued_behind_slow_queries(data_dir):
    # More slow queries than the old shared pool had threads (40), each from its own client.
    settings = Settings(data_dir=data_dir, query_threads=4, query_timeout=600)
    with ServerThread(create_app(settings)) as server, ExitStack() as stack:
        for rid in range(45):
            start_slow_query(stack.enter_context(connect(ws_url(server))), rid)
        with connect(ws_url(server)) as other:
            send(other, 100, "schema.tables", {"database": "finance"})
            tables = reply(other, 100, timeout=20)["result"]
            assert "accounts" in {t["name"] for t in tables}
            send(other, 101, "databases.list")
            assert reply(other, 101, timeout=20)["result"]
        stack.close()
        wait_for(lambda: query_pool(server)["running"] == 0, "the slow queries ran on")


def test_sigterm_stops_the_server_while_slow_queries_run(data_dir):
    # A regression guard (main already passed it): the query threads must never hold the
    # process. One query arrives over /ws, one over /rpc (that one waits out the grace period).
    server = ServerProcess(env={"NLSQL_QUERY_TIMEOUT": "600"}).start()
    body = {"jsonrpc": "2.0", "id": 9, "method": "sql.run"}
    body["params"] = {"database": "retail", "sql": SLOW_SQL}
    try:
        with connect(ws_url(server)) as ws, httpx.Client(timeout=60) as http:

            def post() -> None:
                with contextlib.suppress(httpx.HTTPError):  # the server goes: no answer
                    http.post(server.url + "/rpc", json=body)

            posted = threading.Thread(target=post)
            posted.start()
            start_slow_query(ws, 1)
            send(ws, 2, "ping")  # answered after the query's request has been taken up
            assert reply(ws, 2)["result"]["pong"] is True
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=20) is not None
            posted.join(timeout=30)
    finally:
        server.kill()


def test_a_large_result_arrives_whole_on_both_transports(server):
    # Past 1,000 rows the answer is encoded off the event loop, a slice of rows at a time.
    sql = (
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 4500) "
        "SELECT n, 'row \"' || n || '\" é' AS label, NULL AS empty FROM c"
    )
    expected = [[n, f'row "{n}" é', None] for n in range(1, 4501)]
    with connect(ws_url(server), max_size=None) as ws:
        send(ws, 1, "sql.run", {"database": "retail", "sql": sql})
        assert reply(ws, 1)["result"]["rows"] == expected
    body = {"jsonrpc": "2.0", "id": 2, "method": "sql.run"}
    body["params"] = {"database": "retail", "sql": sql}
    assert (
        httpx.post(server.url + "/rpc", json=body, timeout=60).json()["result"]["rows"] == expected
    )


def test_nlsql_serve_sends_answers_uncompressed(data_dir):
    # uvicorn deflates on the event loop: a 60 MB answer held every other client for 4 s.
    with ServerProcess() as server, connect(ws_url(server)) as ws:
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        send(ws, 1, "ping")
        assert reply(ws, 1)["result"]["pong"] is True
