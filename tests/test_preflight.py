"""The pre-flight cost check: a query whose plan reads more rows than the server's budget waits
for the client's confirmation, on every door (JSON-RPC, the CLI, MCP, `%%ask` with its "Run
anyway" button), while ordinary queries run as before. Real SQLite files, a real uvicorn server,
the CLI as a subprocess, a real IPython shell with the widget objects."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from conftest import ServerThread
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from llm_server import ScriptedLlm, services_for
from mcp import Client
from nlsql_server import pipeline
from nlsql_server.agents import data
from nlsql_server.app import create_app
from nlsql_server.databases import plans
from nlsql_server.databases.base import DatabaseSchema
from nlsql_server.databases.sqlite import SqliteDatabase
from nlsql_server.exceptions import NeedsConfirmation as ServerNeedsConfirmation
from nlsql_server.services import Services
from nlsql_server.settings import Settings
from preflight_cases import assert_plans_are_read

from nlsql_jupyter.answer import Answer
from nlsql_jupyter.confirm import Unconfirmed
from nlsql_jupyter.exceptions import NeedsConfirmation
from nlsql_jupyter.runtime import get_runtime

EVENTS = 5_000
#: Every event against every event: 5,000 × 5,000 rows, over the default budget (10 million).
CARTESIAN = "SELECT COUNT(*) AS n FROM events a, events b WHERE a.amount < b.amount"
ORDINARY = "SELECT kind, SUM(amount) AS total FROM events GROUP BY kind"


@pytest.fixture(scope="module")
def events_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`events` (5,000 rows, an integer key) and `kinds` (10 rows) in a SQLite file."""
    path = tmp_path_factory.mktemp("preflight") / "events.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE kinds (id INTEGER PRIMARY KEY, name TEXT)")
        db.executemany("INSERT INTO kinds VALUES (?, ?)", [(i, f"kind {i}") for i in range(10)])
        db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, kind_id INTEGER REFERENCES kinds(id), "
            "kind TEXT, amount REAL)"
        )
        db.executemany(
            "INSERT INTO events VALUES (?, ?, ?, ?)",
            [(i, i % 10, f"kind {i % 10}", i * 1.5) for i in range(EVENTS)],
        )
    db.close()
    return path


def serving(events_db: Path, data_dir: Path, **settings: Any) -> ServerThread:
    config = events_db.with_name(f"databases-{len(settings)}.toml")
    config.write_text(f'[databases.events]\nurl = "sqlite:///{events_db}"\n')
    return ServerThread(
        create_app(Settings(data_dir=data_dir, databases_file=config, samples=False, **settings))
    )


@pytest.fixture(scope="module")
def default_server(events_db: Path, data_dir: Path) -> Iterator[ServerThread]:
    """The default budget."""
    with serving(events_db, data_dir) as running:
        yield running


@pytest.fixture(scope="module")
def thrifty_server(events_db: Path, data_dir: Path) -> Iterator[ServerThread]:
    """A budget of 1,000 rows: a plain "how many events" (a scan of 5,000) asks first."""
    with serving(events_db, data_dir, cost_budget_rows=1_000) as running:
        yield running


def rpc(server: ServerThread, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    response: dict[str, Any] = httpx.post(f"{server.url}/rpc", json=body, timeout=60).json()
    return response


# -- the estimate ----------------------------------------------------------------------------


def test_the_plan_says_how_a_query_reaches_its_rows(events_db: Path):
    db = SqliteDatabase("events", events_db)
    by_key = db.estimate("SELECT * FROM events WHERE id = 7")
    assert (by_key.kind, by_key.rows) == ("index lookup", 1)
    assert by_key.steps == ("look up about 1 row of events by its key",)

    scan = db.estimate(ORDINARY)
    assert (scan.kind, scan.rows) == ("full scan", EVENTS)
    assert scan.steps[0] == "read all 5,000 rows of events"

    joined = db.estimate(
        "SELECT k.name, COUNT(*) FROM events AS e JOIN kinds AS k ON k.id = e.kind_id GROUP BY 1"
    )
    assert joined.kind == "full scan" and joined.rows == 2 * EVENTS  # aliases resolved
    assert "look up about 1 row of kinds by its key" in joined.words

    cartesian = db.estimate(CARTESIAN)
    assert cartesian.kind == "cartesian join"
    assert cartesian.rows == EVENTS + EVENTS * EVENTS
    assert cartesian.steps[1] == "for each of 5,000 rows so far, read all 5,000 rows of events"

    correlated = db.estimate(
        "SELECT name, (SELECT SUM(amount) FROM events e WHERE e.kind = k.name) FROM kinds k"
    )
    assert correlated.rows == 10 + 10 * EVENTS  # the subquery scans events once per kind
    assert correlated.kind == "cartesian join"


def test_a_budget_of_zero_asks_the_database_nothing(events_db: Path):
    db = SqliteDatabase("events", events_db)
    assert data.run(db, CARTESIAN, 10, budget=0).rows[0][0] > 0
    with pytest.raises(Exception) as raised:
        data.run(db, CARTESIAN, 10, budget=10_000_000)
    assert getattr(raised.value, "code", None) == "needs_confirmation"


# -- JSON-RPC ---------------------------------------------------------------------------------


def test_sql_run_over_the_budget_waits_for_confirm(default_server: ServerThread):
    refused = rpc(default_server, "sql.run", {"database": "events", "sql": CARTESIAN})
    error = refused["error"]
    assert error["code"] == -32000
    assert error["data"]["code"] == "needs_confirmation"
    assert error["data"]["sql"] == CARTESIAN and error["data"]["budget"] == 10_000_000
    estimate = error["data"]["estimate"]
    assert estimate["kind"] == "cartesian join" and estimate["rows"] == 25_005_000
    assert "read all 5,000 rows of events" in estimate["words"]
    assert "25,005,000 rows" in error["message"] and "confirm" in error["message"]

    ran = rpc(default_server, "sql.run", {"database": "events", "sql": CARTESIAN, "confirm": True})
    assert ran["result"]["rows"] == [[12_497_500]]

    ordinary = rpc(default_server, "sql.run", {"database": "events", "sql": ORDINARY})
    assert ordinary["result"]["row_count"] == 10  # cheap: no confirmation


def test_confirm_must_be_a_boolean(default_server: ServerThread):
    refused = rpc(
        default_server, "sql.run", {"database": "events", "sql": CARTESIAN, "confirm": "yes"}
    )
    assert refused["error"]["data"]["code"] == "invalid_params"
    assert refused["error"]["data"]["param"] == "confirm"


def test_ask_over_the_budget_returns_the_sql_and_estimate_then_runs_when_confirmed(
    thrifty_server: ServerThread,
):
    asked = {"question": "how many events are there", "database": "events"}
    error = rpc(thrifty_server, "ask", asked)["error"]
    assert error["data"]["code"] == "needs_confirmation"
    assert error["data"]["question"] == "how many events are there"
    assert "FROM events" in error["data"]["sql"] and error["data"]["engine"] == "offline"
    assert error["data"]["estimate"]["rows"] >= EVENTS and error["data"]["budget"] == 1_000

    answered = rpc(thrifty_server, "ask", asked | {"confirm": True})["result"]
    assert answered["rows"] == [[EVENTS]]


def test_the_default_budget_lets_the_sample_questions_through(server: ServerThread):
    for question in (
        "Show me the top 5 customers by total purchase amount",
        "What is the average order value per month for 2024?",
        "customers who never ordered",
        "how many orders were cancelled",
    ):
        response = rpc(server, "ask", {"question": question, "database": "retail"})
        assert "result" in response, (question, response.get("error"))


# -- the CLI ----------------------------------------------------------------------------------


def nlsql(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "nlsql_server", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=os.environ | env,
    )


def test_the_cli_prints_the_estimate_and_runs_only_with_yes(events_db: Path):
    stopped = nlsql("sql", "--db", str(events_db), CARTESIAN)
    assert stopped.returncode == 3, stopped.stderr
    assert "25,005,000 rows (cartesian join)" in stopped.stderr and "--yes" in stopped.stderr
    assert "for each of 5,000 rows so far, read all 5,000 rows of events" in stopped.stderr
    assert stopped.stdout == ""

    ran = nlsql("sql", "--db", str(events_db), "--yes", CARTESIAN)
    assert ran.returncode == 0, ran.stderr
    assert "12497500" in ran.stdout


def test_cli_ask_waits_for_yes_too(events_db: Path):
    budget = {"NLSQL_COST_BUDGET_ROWS": "1000"}
    stopped = nlsql("ask", "--db", str(events_db), "how many events are there", **budget)
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert "not run: it would read about" in stopped.stdout and "SELECT" in stopped.stdout
    ran = nlsql("ask", "--db", str(events_db), "--yes", "how many events are there", **budget)
    assert ran.returncode == 0 and "5000" in ran.stdout


# -- MCP --------------------------------------------------------------------------------------


def test_mcp_execute_query_needs_confirm_true(default_server: ServerThread):
    async def main() -> dict[str, Any]:
        async with Client(f"{default_server.url}/mcp") as client:
            return {
                "asked": await client.call_tool(
                    "execute_query", {"database": "events", "sql": CARTESIAN}
                ),
                "confirmed": await client.call_tool(
                    "execute_query", {"database": "events", "sql": CARTESIAN, "confirm": True}
                ),
                "ordinary": await client.call_tool(
                    "execute_query", {"database": "events", "sql": ORDINARY}
                ),
            }

    seen = anyio.run(main)
    asked = seen["asked"]
    assert asked.is_error is True
    said = asked.structured_content
    assert said["error"] == "needs_confirmation" and said["sql"] == CARTESIAN
    assert said["estimate"]["kind"] == "cartesian join"
    assert "confirm" in asked.content[0].text and "25,005,000" in asked.content[0].text
    assert seen["confirmed"].structured_content["rows"] == [[12_497_500]]
    assert seen["ordinary"].is_error is False


# -- the notebook -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ip(thrifty_server: ServerThread) -> Iterator[InteractiveShell]:
    """A shell with the extension loaded, connected to the 1,000-row-budget server."""
    shell = InteractiveShell.instance()
    result = shell.run_cell("%load_ext nlsql_jupyter")
    assert result.success, result.error_in_exec
    get_runtime().connect(thrifty_server.url)
    shell.run_cell("%nlsql use events")
    yield shell
    get_runtime().connect(None)
    shell.run_cell("%unload_ext nlsql_jupyter")


def test_ask_shows_the_estimate_and_run_anyway_shows_the_answer(ip: InteractiveShell):
    with capture_output() as captured:
        result = ip.run_cell("%%ask --out counted\nhow many events are there")
    assert result.success, result.error_in_exec  # "Run All" goes on
    waiting = result.result
    assert isinstance(waiting, Unconfirmed) and not waiting and waiting.df.empty
    text = "\n".join(o.data.get("text/plain", "") for o in captured.outputs)
    assert "Not run yet: this query would read about" in text and "budget is 1,000 rows" in text
    assert "read all" in text and "FROM events" in text and "Traceback" not in text
    assert waiting.button.description == "Run anyway" and waiting.output.outputs == ()
    assert ip.user_ns["counted"] is waiting

    waiting.button.click()  # as the front end does

    assert isinstance(waiting.answer, Answer)
    assert waiting.answer.df.iloc[0, 0] == EVENTS and waiting.df.iloc[0, 0] == EVENTS
    assert waiting.button.disabled and "1 rows" in waiting.status.value
    [shown] = waiting.output.outputs
    assert "FROM events" in shown["data"]["text/plain"] and "5000" in shown["data"]["text/plain"]
    assert shown["metadata"]["nlsql"]["question"] == "how many events are there"
    assert ip.user_ns["counted"] is waiting and waiting.df.iloc[0, 0] == EVENTS


def test_yes_runs_at_once_and_strict_raises(ip: InteractiveShell):
    with capture_output():
        ran = ip.run_cell("%%ask --yes\nhow many events are there")
    assert isinstance(ran.result, Answer) and ran.result.df.iloc[0, 0] == EVENTS

    ip.run_cell("%config AskMagics.strict = True")
    try:
        with capture_output() as captured:
            raised = ip.run_cell("%%ask\nhow many events are there")
    finally:
        ip.run_cell("%config AskMagics.strict = False")
    assert isinstance(raised.error_in_exec, NeedsConfirmation)
    assert raised.error_in_exec.estimate["rows"] >= EVENTS
    assert "NeedsConfirmation: " in captured.stdout + captured.stderr
    assert "Traceback" not in captured.stdout + captured.stderr


def test_the_retail_sample_plans(data_dir: Path):
    services = Services.from_settings(Settings(data_dir=data_dir))
    try:
        assert_plans_are_read(services, "retail")
    finally:
        services.close()


def test_the_llms_dear_sql_waits_for_the_user_and_is_not_retried(
    llm_server: ScriptedLlm, data_dir: Path
):
    services = services_for(llm_server, data_dir)
    dear = "SELECT COUNT(*) AS pairs FROM customers a, customers b WHERE a.city < b.city"
    llm_server.enqueue(f"```sql\n{dear}\n```", f"```sql\n{dear}\n```")
    question = "how many pairs of customers are there"
    try:
        with pytest.raises(ServerNeedsConfirmation) as waiting:
            asyncio.run(pipeline.ask(services, question, database="retail", engine="llm"))
        assert waiting.value.data["engine"] == "llm"
        assert waiting.value.data["estimate"]["kind"] == "cartesian join"
        assert len(llm_server.requests) == 1  # not sent back to the model as an error
        answered = asyncio.run(
            pipeline.ask(services, question, database="retail", engine="llm", confirm=True)
        )
        assert answered["rows"][0][0] > 12_000_000  # ran: every pair of cities compared
    finally:
        services.close()


def test_nlsql_sql_asks_first_too_and_runs_with_yes(ip: InteractiveShell):
    with capture_output() as captured:
        refused = ip.run_cell("%nlsql sql --db events SELECT COUNT(*) AS n FROM events")
    assert isinstance(refused.error_in_exec, NeedsConfirmation)
    said = captured.stdout + captured.stderr
    assert "--yes" in said and "Traceback" not in said
    with capture_output():
        ran = ip.run_cell("%nlsql sql --db events --yes SELECT COUNT(*) AS n FROM events")
    assert isinstance(ran.result, Answer) and ran.result.df.iloc[0, 0] == EVENTS


def test_mcp_ask_needs_confirm_true_too(thrifty_server: ServerThread):
    asked = {"question": "how many events are there", "database": "events"}

    async def main() -> dict[str, Any]:
        async with Client(f"{thrifty_server.url}/mcp") as client:
            return {
                "asked": await client.call_tool("ask", asked),
                "confirmed": await client.call_tool("ask", asked | {"confirm": True}),
            }

    seen = anyio.run(main)
    said = seen["asked"].structured_content
    assert seen["asked"].is_error is True and said["error"] == "needs_confirmation"
    assert said["question"] == "how many events are there" and "FROM events" in said["sql"]
    assert seen["confirmed"].structured_content["rows"] == [[EVENTS]]


def test_mariadbs_rows_with_a_filter_share_are_read():
    """MariaDB writes `rows` as `7 (50%)` when a rowid filter applies."""
    row = {"id": 1, "select_type": "SIMPLE", "table": "t", "type": "ref", "key": "i"}
    estimate = plans.mysql([row | {"rows": "7 (50%)"}], DatabaseSchema(()), "SELECT 1 FROM t")
    assert (estimate.kind, estimate.rows) == ("index lookup", 7)
