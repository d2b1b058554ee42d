"""The server over its real transports: JSON-RPC on /ws (with progress) and on POST /rpc."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

SEED_TOP = "Show me the top 5 customers by total purchase amount"
SEED_AOV = "What is the average order value per month for 2024?"


def rpc(url: str, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    return httpx.post(f"{url}/rpc", json=body, timeout=60).json()


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/ws"


def test_health_and_ping(server):
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"
    assert rpc(server.url, "ping")["result"]["pong"] is True


def test_databases_list_names_the_samples(server):
    databases = {d["name"]: d for d in rpc(server.url, "databases.list")["result"]}
    assert {"retail", "finance"} <= set(databases)
    assert databases["retail"]["dialect"] == "sqlite"
    assert "orders" in databases["retail"]["tables"]
    assert databases["finance"]["url"].startswith("sqlite:///")


def test_ask_over_websocket_streams_every_stage_before_the_result(server):
    with connect(ws_url(server.url)) as ws:
        ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 7,
                    "method": "ask",
                    "params": {"question": SEED_TOP, "database": "retail"},
                }
            )
        )
        stages = []
        while True:
            message = json.loads(ws.recv(timeout=60))
            if message.get("method") == "ask.progress":
                assert message["params"]["request_id"] == 7
                stages.append(message["params"]["stage"])
                continue
            break
    assert stages == ["linking", "generating", "validating", "executing", "charting"]
    answer = message["result"]
    assert message["id"] == 7
    assert answer["row_count"] == 5 and len(answer["rows"]) == 5
    assert answer["engine"] == "offline"
    amounts = [row[-1] for row in answer["rows"]]
    assert amounts == sorted(amounts, reverse=True)
    assert answer["chart"]["kind"] == "bar"


def test_ask_over_http_returns_progress_as_a_list(server):
    answer = rpc(server.url, "ask", {"question": SEED_AOV, "database": "retail"})["result"]
    assert answer["row_count"] == 12
    assert [row[0] for row in answer["rows"]] == [f"2024-{m:02d}" for m in range(1, 13)]
    assert [p["stage"] for p in answer["progress"]][0] == "linking"
    assert answer["chart"]["kind"] == "line"


def test_http_and_websocket_give_the_same_rows(server):
    over_http = rpc(server.url, "ask", {"question": SEED_TOP, "database": "retail"})["result"]
    with connect(ws_url(server.url)) as ws:
        ws.send(
            json.dumps(
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "ask",
                    "params": {"question": SEED_TOP, "database": "retail"},
                }
            )
        )
        while "result" not in (message := json.loads(ws.recv(timeout=60))):
            pass
    assert message["result"]["rows"] == over_http["rows"]
    assert message["result"]["sql"] == over_http["sql"]


def test_session_keeps_the_database_and_the_history(server):
    opened = rpc(server.url, "session.open")["result"]
    sid = opened["session_id"]
    assert opened["database"] == "retail"
    assert (
        rpc(server.url, "session.use", {"session_id": sid, "database": "finance"})["result"][
            "database"
        ]
        == "finance"
    )
    answer = rpc(server.url, "ask", {"question": "how many vendors are there", "session_id": sid})[
        "result"
    ]
    assert answer["database"] == "finance"
    session = rpc(server.url, "session.get", {"session_id": sid})["result"]
    assert session["database"] == "finance"
    assert [t["question"] for t in session["history"]] == ["how many vendors are there"]
    reopened = rpc(server.url, "session.open", {"session_id": sid})["result"]
    assert reopened == {"session_id": sid, "database": "finance"}


def test_unknown_database_lists_the_known_ones(server):
    error = rpc(server.url, "ask", {"question": SEED_TOP, "database": "nope"})["error"]
    assert error["data"]["code"] == "unknown_database"
    assert {"retail", "finance"} <= set(error["data"]["databases"])
    assert "retail" in error["message"]


def test_empty_question_is_refused(server):
    error = rpc(server.url, "ask", {"question": "   ", "database": "retail"})["error"]
    assert error["data"]["code"] == "empty_question"


def test_unanswerable_question_says_so(server):
    error = rpc(
        server.url, "ask", {"question": "what is the meaning of life", "database": "retail"}
    )["error"]
    assert error["data"]["code"] == "cannot_answer"


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM orders",
        "SELECT 1; DROP TABLE orders",
        "WITH x AS (SELECT 1) DELETE FROM orders",
        "PRAGMA writable_schema = ON",
    ],
)
def test_sql_run_refuses_anything_but_one_read(server, sql):
    error = rpc(server.url, "sql.run", {"database": "retail", "sql": sql})["error"]
    assert error["data"]["code"] == "unsafe_sql"
    count = rpc(server.url, "sql.run", {"database": "retail", "sql": "SELECT COUNT(*) FROM orders"})
    assert count["result"]["rows"][0][0] > 50_000


def test_sql_run_truncates_at_the_limit(server):
    result = rpc(
        server.url, "sql.run", {"database": "retail", "sql": "SELECT * FROM customers", "limit": 10}
    )["result"]
    assert result["row_count"] == 10 and result["truncated"] is True


def test_schema_describe_shows_keys(server):
    table = rpc(server.url, "schema.describe", {"database": "retail", "table": "orders"})["result"]
    assert {
        "column": "customer_id",
        "ref_table": "customers",
        "ref_column": "customer_id",
    } in table["foreign_keys"]
    assert [c["name"] for c in table["columns"] if c["primary_key"]] == ["order_id"]
    error = rpc(server.url, "schema.describe", {"database": "retail", "table": "nope"})["error"]
    assert error["data"]["code"] == "unknown_table"


def test_malformed_frames_get_an_error_and_the_connection_lives_on(server):
    with connect(ws_url(server.url)) as ws:
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == -32700
        ws.send(b"\x00\x01")
        assert json.loads(ws.recv(timeout=5))["error"]["data"]["code"] == "binary_frame"
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "no.such"}))
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == -32601
        ws.send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "ping"}))
        assert json.loads(ws.recv(timeout=5))["result"]["pong"] is True


def test_malformed_http_body_is_a_parse_error(server):
    response = httpx.post(
        f"{server.url}/rpc", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700
