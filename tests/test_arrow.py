"""Large results as Arrow (issue 13): through a real uvicorn server on 127.0.0.1, real
WebSockets and real HTTP, a client that asks gets a large result's rows as an Arrow stream that
holds exactly what JSON holds; small results, and clients that do not ask, get JSON as before.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow as pa
import pytest
from conftest import ServerThread
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from nlsql_server import protocol
from nlsql_server.app import create_app
from nlsql_server.settings import Settings
from websockets.sync.client import connect

from nlsql_jupyter.answer import Answer
from nlsql_jupyter.client import ClientConfig, HybridClient
from nlsql_jupyter.client.transports import WebSocketTransport
from nlsql_jupyter.display import show_answer
from nlsql_jupyter.exceptions import TransportError

ROWS = 12_000  # past the default NLSQL_ARROW_MIN_ROWS (5,000)
ALL = "SELECT * FROM facts ORDER BY id"
SMALL = "SELECT * FROM facts ORDER BY id LIMIT 10"


def make_database(directory: Path) -> Path:
    """`facts(id, qty, price, name, day)`: integers, integers and reals with NULLs, text with
    NULLs, ISO dates."""
    path = directory / "facts.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE facts (id INTEGER PRIMARY KEY, qty INTEGER, price REAL, name TEXT, "
            "day TEXT)"
        )
        db.executemany(
            "INSERT INTO facts VALUES (?, ?, ?, ?, ?)",
            [
                (
                    n,
                    None if n % 7 == 0 else n % 50,
                    None if n % 11 == 0 else n * 0.25,
                    None if n % 13 == 0 else f"name {n % 97} é",
                    f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}",
                )
                for n in range(1, ROWS + 1)
            ],
        )
    config = directory / "databases.toml"
    config.write_text(f'[databases.facts]\nurl = "sqlite:///{path.as_posix()}"\n')
    return config


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Settings:
    config = make_database(tmp_path_factory.mktemp("arrow"))
    return Settings(data_dir=data_dir, databases_file=config, row_limit=50_000)


@pytest.fixture(scope="module")
def served(settings: Settings) -> Iterator[ServerThread]:
    with ServerThread(create_app(settings)) as running:
        yield running


def cut_before_binary_frames(app: Any) -> Any:
    """The app, with every WebSocket closed by the server where its first binary frame was due
    (after the response that announced it: a transfer broken midway); HTTP untouched."""

    async def wrapped(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await app(scope, receive, send)
        closed = False

        async def cutting(message: dict[str, Any]) -> None:
            nonlocal closed
            if message["type"] == "websocket.send" and message.get("bytes") is not None:
                if not closed:
                    await send({"type": "websocket.close", "code": 1011})
                closed = True
            if not closed:
                await send(message)

        await app(scope, receive, cutting)

    return wrapped


def client(url: str, **options: Any) -> HybridClient:
    return HybridClient(ClientConfig(url, **options))


def run_sql(url: str, sql: str, **options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """`sql.run`'s result through a fresh client, and that client's transport statistics."""
    with client(url, **options) as c:
        return c.call("sql.run", {"database": "facts", "sql": sql}), c.stats()


def table_rows(table: pa.Table) -> list[list[Any]]:
    return [list(row.values()) for row in table.to_pylist()]


def test_a_large_result_comes_as_arrow_over_the_websocket_equal_to_json(served):
    arrow, stats = run_sql(served.url, ALL)
    plain, _ = run_sql(served.url, ALL, arrow=False)  # a JSON-only client, same server
    assert isinstance(arrow["table"], pa.Table)
    assert arrow["rows"] == [] and arrow["row_count"] == ROWS == len(plain["rows"])
    assert arrow["arrow"]["rows"] == ROWS and arrow["arrow"]["frames"] >= 1
    assert (stats["websocket"]["successes"], stats["websocket"]["arrow"]) == (1, 1)
    assert stats["http"]["attempts"] == 0
    assert table_rows(arrow["table"]) == plain["rows"]
    assert arrow["column_types"] == plain["column_types"]
    assert plain["column_types"] == ["integer", "integer", "number", "text", "date"]
    assert "arrow" not in plain and "table" not in plain


def test_a_large_result_comes_as_arrow_over_http_equal_to_json(served):
    arrow, stats = run_sql(served.url, ALL, websocket=False)
    plain, _ = run_sql(served.url, ALL, websocket=False, arrow=False)
    assert (stats["http"]["successes"], stats["http"]["arrow"]) == (1, 1)
    assert arrow["rows"] == [] and arrow["arrow"] == {"rows": ROWS}
    assert table_rows(arrow["table"]) == plain["rows"]
    assert arrow["column_types"] == plain["column_types"]


def test_over_http_the_stream_carries_the_json_rpc_response_in_its_schema(served):
    body = protocol.request(
        "sql.run", {"database": "facts", "sql": ALL, "arrow": True}, request_id="big"
    )
    accept = {"accept": protocol.ARROW_MEDIA_TYPE}
    reply = httpx.post(f"{served.url}/rpc", json=body, headers=accept, timeout=60)
    assert reply.headers["content-type"] == protocol.ARROW_MEDIA_TYPE
    reader = pa.ipc.open_stream(reply.content)
    table = reader.read_all()
    envelope = json.loads(reader.schema.metadata[protocol.ARROW_RESPONSE_KEY.encode()])
    assert envelope["id"] == "big" and envelope["result"]["row_count"] == table.num_rows == ROWS
    assert table.column_names == ["id", "qty", "price", "name", "day"]
    # the param without the Accept header, or the header without the param: JSON
    for headers, params in ((None, body["params"]), (accept, {"database": "facts", "sql": ALL})):
        other = httpx.post(
            f"{served.url}/rpc", json={**body, "params": params}, headers=headers, timeout=60
        )
        assert other.headers["content-type"] == "application/json"
        assert len(other.json()["result"]["rows"]) == ROWS


def test_frames_on_the_websocket_are_tagged_with_their_request(served):
    ws_url = served.url.replace("http://", "ws://") + "/ws"
    with connect(ws_url, max_size=None) as ws:
        ws.send(json.dumps(protocol.request("sql.run", {"database": "facts", "sql": ALL}, 1)))
        ws.send(
            json.dumps(
                protocol.request("sql.run", {"database": "facts", "sql": ALL, "arrow": True}, 2)
            )
        )
        ws.send(json.dumps(protocol.request("ping", None, 3)))
        texts: dict[Any, dict[str, Any]] = {}
        payloads: list[bytes] = []
        while len(texts) < 3 or len(payloads) < texts[2]["result"]["arrow"]["frames"]:
            frame = ws.recv(timeout=60)
            if isinstance(frame, str):
                message = json.loads(frame)
                texts[message["id"]] = message
                continue
            request_id, index, payload = protocol.read_arrow_frame(frame)
            assert (request_id, index) == (2, len(payloads))
            payloads.append(bytes(payload))
    assert texts[3]["result"]["pong"] is True
    assert len(texts[1]["result"]["rows"]) == ROWS and "arrow" not in texts[1]["result"]
    stream = b"".join(payloads)
    assert len(stream) == texts[2]["result"]["arrow"]["bytes"]
    assert table_rows(pa.ipc.open_stream(stream).read_all()) == texts[1]["result"]["rows"]


def test_frames_of_an_abandoned_request_do_not_reach_the_next_one(served):
    transport = WebSocketTransport(ClientConfig(served.url))
    try:
        ping = transport.call(protocol.request("ping", None, 1), timeout=30)
        assert ping["result"]["pong"] is True
        # a request whose caller gave up: its response and frames arrive while no one waits
        stale = protocol.request("sql.run", {"database": "facts", "sql": ALL, "arrow": True}, 2)
        assert transport._conn is not None
        transport._conn.send(json.dumps(stale))
        time.sleep(1.0)
        body = {"database": "facts", "sql": ALL.replace("ORDER BY id", "ORDER BY id DESC")}
        fresh = transport.call(protocol.request("sql.run", body | {"arrow": True}, 3), timeout=60)
    finally:
        transport.close()
    assert fresh["id"] == 3
    assert fresh["result"]["table"].column("id")[0].as_py() == ROWS  # its own rows, not 2's


def test_small_results_stay_json(served):
    for websocket in (True, False):
        result, stats = run_sql(served.url, SMALL, websocket=websocket)
        assert "table" not in result and "arrow" not in result
        assert [row[0] for row in result["rows"]] == list(range(1, 11))
        assert stats["websocket"]["arrow"] == stats["http"]["arrow"] == 0


def test_a_transfer_cut_midway_is_a_clear_error_and_the_client_falls_back(settings):
    with ServerThread(cut_before_binary_frames(create_app(settings))) as cut:
        transport = WebSocketTransport(ClientConfig(cut.url))
        message = protocol.request("sql.run", {"database": "facts", "sql": ALL, "arrow": True}, 1)
        with pytest.raises(
            TransportError, match=r"in the middle of an Arrow result \(0 of 1 frames"
        ):
            transport.call(message, timeout=60)
        transport.close()
        result, stats = run_sql(cut.url, ALL)
    assert result["table"].num_rows == ROWS  # over HTTP, after the WebSocket failed
    assert stats["websocket"]["failures"] == 1
    assert "in the middle of an Arrow result" in stats["websocket"]["last_error"]
    assert (stats["http"]["successes"], stats["http"]["arrow"]) == (1, 1)


def test_the_dataframe_from_arrow_has_the_json_dtypes(served):
    frames = []
    for arrow in (True, False):
        result, _ = run_sql(served.url, ALL, arrow=arrow)
        answer = Answer.from_result(result | {"question": "all facts", "sql": ALL})
        frames.append(answer.df)
    from_arrow, from_json = frames
    assert str(from_arrow["id"].dtype) == "int64"
    assert str(from_arrow["qty"].dtype) == "Int64"  # integers with NULLs
    assert str(from_arrow["price"].dtype) == "float64"
    assert pd.api.types.is_string_dtype(from_arrow["name"])
    assert pd.api.types.is_datetime64_any_dtype(from_arrow["day"])
    assert from_arrow["qty"].isna().sum() == ROWS // 7
    pd.testing.assert_frame_equal(from_arrow, from_json)


def test_an_ask_answer_as_arrow_shows_its_first_rows_and_holds_them_all(served):
    with client(served.url) as c:
        result = c.ask("list all orders", database="retail")
    answer = Answer.from_result(result)
    assert isinstance(answer.table, pa.Table) and answer.rows == ()
    assert len(answer.df) == answer.row_count == 50_000  # the server's row limit
    assert answer.truncated
    InteractiveShell.instance()
    with capture_output() as captured:
        show_answer(answer, display_rows=20, static_chart=False)
    shown = [o.data.get("text/plain", "") for o in captured.outputs]
    assert any(text.startswith("Showing 20 of 50000 rows") for text in shown)
    table = next(
        o.data["text/html"] for o in captured.outputs if "<table" in o.data.get("text/html", "")
    )
    first = answer.df.iloc[0]
    assert table.count("<tr>") == 20  # the first 20 rows (the header is styled), from Arrow
    assert f"<td>{first.iloc[1]}</td>" in table


def test_arrow_keeps_the_size_cap_and_shows_mixed_columns_as_text(settings):
    capped = settings.model_copy(update={"max_result_bytes": 200_000, "arrow_min_rows": 100})
    sql = "SELECT id, CASE WHEN id % 1000 = 0 THEN 'n/a' ELSE qty END AS mixed, name FROM facts"
    with ServerThread(create_app(capped)) as small:
        arrow, _ = run_sql(small.url, sql)
        plain, _ = run_sql(small.url, sql, arrow=False)
    # the cap cuts both at the same row, and both say so
    assert arrow["row_count"] == len(plain["rows"]) < ROWS
    assert arrow["truncated"] and plain["truncated"]
    assert arrow["note"] == plain["note"] and "NLSQL_MAX_RESULT_BYTES" in arrow["note"]
    # a column of numbers and text comes as text, each value as JSON would show it
    table = arrow["table"]
    assert table.schema.field("mixed").type == pa.string()
    expected = [None if v is None else str(v) for v in (row[1] for row in plain["rows"])]
    assert table.column("mixed").to_pylist() == expected
    assert "n/a" in expected
