"""The sidebar's comm (`nlsql_jupyter.comm`) against a real server, without a browser: the comm
records what the kernel would send the panel."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import comm
import pytest
from comm.base_comm import BaseComm
from conftest import ServerThread
from IPython.core.interactiveshell import InteractiveShell

from nlsql_jupyter.comm import TARGET, SidebarChannel
from nlsql_jupyter.runtime import Runtime


class RecordingComm(BaseComm):
    """A comm whose messages to the frontend are kept in `sent` (data of each `comm_msg`)."""

    def __init__(self, **kwargs: Any) -> None:
        self.sent: list[dict[str, Any]] = []
        super().__init__(target_name=TARGET, **kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, *args: Any, **keys: Any) -> None:
        if msg_type == "comm_msg":
            self.sent.append(data)

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        """What the panel sends; returns the kernel's last answer."""
        self.handle_msg({"content": {"comm_id": self.comm_id, "data": request}})
        return self.sent[-1]


@pytest.fixture
def runtime(server: ServerThread) -> Iterator[Runtime]:
    runtime = Runtime(server.url)
    yield runtime
    runtime.close()


@pytest.fixture
def panel(runtime: Runtime) -> Iterator[RecordingComm]:
    opened = RecordingComm()
    SidebarChannel(opened, runtime)
    yield opened
    opened.close()


def test_state_has_the_databases_the_status_and_no_history_yet(
    panel: RecordingComm, server: ServerThread
):
    state = panel.ask({"type": "state"})
    assert state["type"] == "state"
    assert state["database"] == "retail"
    assert {db["name"]: db["tables"] for db in state["databases"]} == {"retail": 8, "finance": 6}
    assert state["server"] == server.url and state["embedded"] is False
    assert state["connected"] is True and state["degraded"] is False
    assert state["session_id"] and state["error"] is None
    assert set(state["transports"]) == {"websocket", "http"}
    assert "breaker closed" in state["transports"]["websocket"]
    assert state["history"] == []


def test_use_moves_the_kernel_session_like_nlsql_use(panel: RecordingComm, runtime: Runtime):
    state = panel.ask({"type": "use", "database": "finance"})
    assert state["database"] == "finance"
    assert runtime.state.database == runtime.session.database == "finance"
    assert runtime.session.refresh()["database"] == "finance"


def test_an_unknown_database_is_reported_on_the_panel(panel: RecordingComm, runtime: Runtime):
    state = panel.ask({"type": "use", "database": "nope"})
    assert state["error"].startswith("UnknownDatabase:") and "nope" in state["error"]
    assert state["database"] == runtime.state.database == "retail"


def test_changes_made_in_the_notebook_are_pushed_without_a_request(
    panel: RecordingComm, runtime: Runtime
):
    panel.ask({"type": "state"})
    before = len(panel.sent)
    runtime.use("finance")  # %nlsql use finance
    assert panel.sent[-1]["database"] == "finance"
    answer = runtime.ask("how many accounts are there", database="finance")
    pushed = panel.sent[-1]
    assert len(panel.sent) > before + 1
    [turn] = pushed["history"]
    assert turn["question"] == "how many accounts are there"
    assert turn["sql"] == answer.sql and turn["database"] == "finance"
    assert turn["row_count"] == answer.row_count and turn["at"].endswith("+00:00")


def test_nothing_is_pushed_before_the_panel_asks_nor_after_it_closes(runtime: Runtime):
    quiet = RecordingComm()
    SidebarChannel(quiet, runtime)
    runtime.use("finance")
    assert quiet.sent == []  # nbclient and other frontends without a panel pay nothing
    quiet.ask({"type": "state"})
    quiet.handle_close({"content": {"comm_id": quiet.comm_id, "data": {}}})  # the panel went
    sent = len(quiet.sent)
    runtime.use("retail")
    assert len(quiet.sent) == sent


def test_schema_lists_tables_with_columns(panel: RecordingComm):
    schema = panel.ask({"type": "schema", "database": "retail"})
    assert schema["database"] == "retail" and schema["error"] is None
    tables = {t["name"]: t for t in schema["tables"]}
    assert "customers" in tables and tables["customers"]["rows"] > 0
    columns = {c["name"]: c for c in tables["customers"]["columns"]}
    assert columns["customer_id"]["primary_key"] is True and columns["customer_id"]["type"]
    missing = panel.ask({"type": "schema", "database": "nope"})
    assert missing["tables"] == [] and "nope" in missing["error"]


def test_a_dead_server_is_reported_not_raised(runtime: Runtime, dead_url: str):
    opened = RecordingComm()
    SidebarChannel(opened, runtime)
    runtime.connect(dead_url)
    state = opened.ask({"type": "state"})
    assert state["error"] and state["connected"] is False and state["databases"] == []


def test_loading_the_extension_registers_the_target():
    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("nlsql_jupyter")
    try:
        assert TARGET in comm.get_comm_manager().targets
    finally:
        shell.extension_manager.unload_extension("nlsql_jupyter")
