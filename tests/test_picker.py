"""The ipywidgets database picker against a real server (widgets need no browser here: outside a
kernel their comm is a no-op, the traits still change)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ServerThread
from ipywidgets.embed import dependency_state
from nlsql_server import protocol
from nlsql_server.app import create_app
from nlsql_server.settings import Settings

from nlsql_jupyter.exceptions import UnknownDatabase
from nlsql_jupyter.picker import DatabasePicker, picker
from nlsql_jupyter.runtime import Runtime


@pytest.fixture
def runtime(server: ServerThread) -> Iterator[Runtime]:
    runtime = Runtime(server.url)
    yield runtime
    runtime.close()


def attempts(runtime: Runtime) -> int:
    stats = runtime.client.stats()
    return int(stats["websocket"]["attempts"] + stats["http"]["attempts"])


def test_lists_the_databases_with_dialect_and_table_count(runtime: Runtime):
    shown = picker(runtime)
    labels = dict((name, label) for label, name in shown.dropdown.options)
    assert set(labels) == {"retail", "finance"}
    assert labels["retail"].startswith("retail — sqlite, 8 tables · A fictional retailer")
    assert labels["finance"].startswith("finance — sqlite, 6 tables")
    assert shown.dropdown.value == runtime.session.database == "retail"
    assert shown.message.value == "" and shown.retry.layout.display == "none"


def test_choosing_moves_the_kernel_and_the_server_session(runtime: Runtime):
    shown = picker(runtime)
    shown.dropdown.value = "finance"
    assert runtime.session.database == "finance"
    assert runtime.state.database == "finance"
    assert runtime.session.refresh()["database"] == "finance"
    assert shown.message.value == ""


def test_use_from_anywhere_moves_every_picker(runtime: Runtime):
    first, second = picker(runtime), picker(runtime)
    first.dropdown.value = "finance"
    assert second.dropdown.value == "finance"
    assert picker(runtime).dropdown.value == "finance"  # one state per kernel
    runtime.use("retail")
    assert first.dropdown.value == second.dropdown.value == "retail"

    second.close()
    runtime.use("finance")
    assert first.dropdown.value == "finance" and second.dropdown.value == "retail"


def test_light_follows_every_request_without_polling(runtime: Runtime):
    shown = picker(runtime)
    assert "WebSocket · breaker closed" in shown.light.value
    assert "#15803d" in shown.light.value  # green
    shown.light.value = ""
    runtime.ping()  # a request the picker did not make
    assert "WebSocket" in shown.light.value


def test_client_tells_listeners_and_survives_a_failing_one(runtime: Runtime):
    told: list[tuple[str, type | None]] = []

    def broken(method: str, error: Exception | None) -> None:
        raise RuntimeError("a listener bug")

    runtime.client.add_listener(broken)
    runtime.client.add_listener(lambda method, error: told.append((method, type(error))))
    runtime.ping()
    with pytest.raises(UnknownDatabase):
        runtime.client.call(protocol.SCHEMA_TABLES, {"database": "nope"})
    assert told == [(protocol.PING, type(None)), (protocol.SCHEMA_TABLES, UnknownDatabase)]
    runtime.client.remove_listener(broken)
    runtime.ping()
    assert len(told) == 3


def test_dead_server_shows_a_message_and_retry(runtime: Runtime, server: ServerThread, dead_url):
    runtime.connect(dead_url)
    shown = picker(runtime)  # constructible: no exception
    assert shown.dropdown.options == () and shown.dropdown.value is None
    assert "ServerUnavailable: cannot reach the nlsql server" in shown.message.value
    assert shown.retry.layout.display is None
    assert "disconnected" in shown.light.value and "connection refused" in shown.light.value

    shown.retry.click()
    shown.choose("finance")
    assert "ServerUnavailable" in shown.message.value

    runtime.connect(server.url)  # the list is re-read, the light follows the new client
    assert {name for _, name in shown.dropdown.options} == {"retail", "finance"}
    assert shown.dropdown.value == "retail"
    assert shown.message.value == "" and shown.retry.layout.display == "none"
    assert "WebSocket" in shown.light.value


def test_choosing_after_the_server_died_says_so(data_dir: Path):
    with ServerThread(create_app(Settings(data_dir=data_dir))) as server:
        runtime = Runtime(server.url)
        shown = picker(runtime)
        assert shown.dropdown.value == "retail"
    try:
        shown.dropdown.value = "finance"  # no exception reaches the widget's caller
        assert "ServerUnavailable: cannot reach" in shown.message.value
        assert shown.dropdown.value == "retail"  # back to what the session still has
        assert "disconnected" in shown.light.value and "#b91c1c" in shown.light.value
    finally:
        runtime.close()


def test_schema_loads_when_opened_and_samples_per_table(runtime: Runtime):
    shown = picker(runtime)
    assert shown.schema.selected_index is None  # collapsed
    assert shown.schema.titles == ("Schema of retail (8 tables)",)
    assert shown.tables.options == ()

    before = attempts(runtime)
    shown.schema.selected_index = 0
    assert attempts(runtime) == before + 1  # the table list only, no samples yet
    listed = [name for _, name in shown.tables.options]
    assert listed == [
        "categories", "customers", "employees", "order_items",
        "orders", "payments", "products", "regions",
    ]  # fmt: skip
    assert ("orders (7 columns, 60,000 rows)", "orders") in shown.tables.options

    shown.tables.value = "orders"
    detail = shown.table_detail.value
    assert "<b>order_id</b></td>" in detail and "INTEGER" in detail and "PK" in detail
    assert "FK → customers.customer_id" in detail
    assert "delivered" in detail and "online" in detail  # status and channel samples
    assert attempts(runtime) == before + 1 + 2  # one sample call per text column

    shown.tables.value = "customers"
    shown.tables.value = "orders"
    assert attempts(runtime) == before + 1 + 2 + 6  # orders again came from the cache

    runtime.use("finance")  # open: the view follows the database
    assert shown.schema.titles == ("Schema of finance (6 tables)",)
    assert "transactions" in [name for _, name in shown.tables.options]
    assert shown.tables.value is None  # finance has no orders table

    shown.tables.value = "vendors"
    runtime.use("retail")
    runtime.use("finance")  # back: the table shown stays shown
    assert shown.tables.value == "vendors" and "<b>vendor_id</b>" in shown.table_detail.value


def test_widget_state_is_saved_for_an_exported_notebook(runtime: Runtime):
    shown = picker(runtime)
    shown.dropdown.value = "finance"
    state = dependency_state(shown)
    assert shown.model_id in state and shown.dropdown.model_id in state
    dropdown = state[shown.dropdown.model_id]["state"]
    assert dropdown["_options_labels"][dropdown["index"]].startswith("finance — sqlite")
    assert "WebSocket" in state[shown.light.model_id]["state"]["value"]
    modules = {model["model_module"] for model in state.values()}
    assert modules <= {"@jupyter-widgets/controls", "@jupyter-widgets/base"}  # no custom JS


def test_picker_is_a_displayable_widget(runtime: Runtime):
    shown = picker(runtime)
    assert isinstance(shown, DatabasePicker)
    bundle = shown._repr_mimebundle_()
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == shown.model_id
