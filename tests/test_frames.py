"""Questions about a notebook's DataFrames: the server gets a description (names, types, row
counts, a few text values) and answers with DuckDB SQL it never runs; the kernel runs it over
the frames. Through a real server, and in-process for the kernel's part."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from conftest import ServerThread
from nlsql_server.app import create_app
from nlsql_server.exceptions import UnsafeSql
from nlsql_server.settings import Settings

from nlsql_jupyter import frames

ORDERS = pd.DataFrame(
    {
        "order_id": range(1, 9),
        "product": ["Laptop", "Phone", "Desk", "Laptop", "Phone", "Laptop", "Chair", "Desk"],
        "city": ["Berlin", "Paris", "Berlin", "Rome", "Berlin", "Paris", "Rome", "Berlin"],
        "revenue": [1200.25, 800.5, 300.75, 1100.125, 750.0, 1300.5, 150.25, 320.0],
        "ordered_at": pd.date_range("2024-01-15", periods=8, freq="MS"),
    }
)


@pytest.fixture(scope="module")
def server(data_dir: Path) -> Iterator[ServerThread]:
    with ServerThread(create_app(Settings(data_dir=data_dir))) as running:
        yield running


def rpc(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(f"{url}/rpc", json=body, timeout=60).json()


def test_the_description_holds_no_row() -> None:
    described = frames.describe({"orders": ORDERS})
    assert [(c["name"], c["type"]) for c in described[0]["columns"]] == [
        ("order_id", "BIGINT"),
        ("product", "VARCHAR"),
        ("city", "VARCHAR"),
        ("revenue", "DOUBLE"),
        ("ordered_at", "TIMESTAMP"),
    ]
    assert described[0]["rows"] == 8
    text = repr(described)
    assert "1200.25" not in text and "2024" not in text  # no measure, no date, no id
    assert described[0]["columns"][2]["samples"] == ["Berlin", "Paris", "Rome"]


def test_the_server_writes_duckdb_sql_it_never_runs(server: ServerThread) -> None:
    described = frames.describe({"orders": ORDERS})
    reply = rpc(server.url, "ask", {"question": "top 2 products by revenue", "frames": described})
    answer = reply["result"]
    assert answer["executed"] is False and answer["rows"] == []
    ran = frames.run(answer["sql"], {"orders": ORDERS}, 100)
    assert ran.rows == [["Laptop", 3600.875], ["Phone", 1550.5]] and not ran.truncated
    assert ran.columns[0] == "product"
    listed = rpc(server.url, "databases.list", {})["result"]
    assert [d["name"] for d in listed] == ["retail", "finance"]  # described frames stay unlisted
    # Their samples are no data: nothing runs on them, by name or by mistake.
    ran = rpc(server.url, "sql.run", {"database": answer["database"], "sql": "SELECT 1"})
    assert "rows are in the kernel" in ran["error"]["message"]


def test_a_follow_up_continues_on_the_same_frames(server: ServerThread) -> None:
    described = frames.describe({"orders": ORDERS})
    session = rpc(server.url, "session.open", {})["result"]["session_id"]
    first = rpc(
        server.url,
        "ask",
        {"question": "revenue by city", "frames": described, "session_id": session},
    )["result"]
    second = rpc(
        server.url,
        "ask",
        {"question": "only in Berlin", "frames": described, "session_id": session},
    )["result"]
    assert first["database"] == second["database"]
    assert frames.run(second["sql"], {"orders": ORDERS}, 100).rows == [["Berlin", 2571.0]]


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"database": "retail"}, "not both"),
        (
            {"frames": [{"name": "t", "rows": 1, "columns": [{"name": "a", "type": "NOPE("}]}]},
            "type",
        ),
        ({"frames": [{"name": "t", "rows": 1, "columns": []}]}, "columns"),
    ],
)
def test_a_bad_description_is_refused_with_a_reason(
    server: ServerThread, params: dict[str, Any], says: str
) -> None:
    params = {"question": "how many rows", "frames": frames.describe({"orders": ORDERS})} | params
    reply = rpc(server.url, "ask", params)
    assert reply["error"]["data"]["code"] == "invalid_params" and says in reply["error"]["message"]


def test_the_kernel_runs_only_reads_and_no_file(tmp_path: Path) -> None:
    for sql in (
        "DELETE FROM orders",
        "SELECT * FROM read_csv('/etc/passwd')",
        f"COPY orders TO '{tmp_path / 'x.csv'}'",
    ):
        with pytest.raises(UnsafeSql):
            frames.run(sql, {"orders": ORDERS}, 10)
    assert list(tmp_path.iterdir()) == []


def test_a_name_sql_cannot_use_is_refused() -> None:
    with pytest.raises(frames.FrameError, match="cannot be a table name"):
        frames.checked({"my orders": ORDERS})
    with pytest.raises(frames.FrameError, match="not a pandas DataFrame"):
        frames.checked({"orders": [1, 2]})


# -- in a real kernel, against a server that records what it receives ----------------------------


class Recording:
    """ASGI middleware keeping every request body and WebSocket message the server receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def recorded() -> Any:
            message = await receive()
            chunk = message.get("body") or message.get("text") or message.get("bytes") or b""
            self.received.append(
                chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
            )
            return message

        await self.app(scope, recorded, send)


KERNEL_CELLS = [
    "import pandas as pd\n"
    "orders = pd.DataFrame({\n"
    "    'order_id': [31415926, 27182818, 14142135, 17320508],\n"
    "    'product': ['Laptop', 'Phone', 'Laptop', 'Desk'],\n"
    "    'city': ['Berlin', 'Paris', 'Berlin', 'Rome'],\n"
    "    'revenue': [98765.4321, 12345.6789, 55555.125, 777.75],\n"
    "    'ordered_at': pd.to_datetime(['2023-03-04', '2023-05-06', '2023-07-08', '2023-09-10']),\n"
    "})",
    "%%ask --from orders\ntop 2 products by revenue",
    "top = _\nprint(top.engine, top.row_count, top.df.iloc[0]['product'], round(top.df.iloc[0, 1], 4))",
    "%nlsql use orders",
    "%%ask\nhow many orders are in Berlin",
    "print(list(_.rows))",
    "%%ask\ndelete the orders",
]


def test_a_kernel_asks_about_its_dataframe_and_no_row_reaches_the_server(
    data_dir: Path,
) -> None:
    import nbformat
    from nbclient import NotebookClient

    recording = Recording(create_app(Settings(data_dir=data_dir)))
    with ServerThread(recording) as running:
        cells = [f"%load_ext nlsql_jupyter\n%nlsql connect {running.url}", *KERNEL_CELLS]
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    printed = [
        "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").strip()
        for cell in notebook.cells
    ]
    assert printed[3] == "offline 2 Laptop 154320.5571"
    assert "Asking about the DataFrame orders" in printed[4]
    assert printed[6] == "[[2]]"
    declined = notebook.cells[7].outputs
    assert not [o for o in declined if o.output_type == "error"]  # a calm decline, no traceback
    seen = "\n".join(recording.received)
    assert '"frames"' in seen and "Berlin" in seen  # the description went, text samples too
    for value in ("31415926", "98765", "12345.6789", "2023-03-04", "2023"):
        assert value not in seen, value  # no id, no measure, no date: no row value at all
