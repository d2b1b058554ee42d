"""The LLM engine against a scripted OpenAI-compatible server over real HTTP (tests/llm_server.py).

What is checked is what the engine sends (only the linked schema, the dialect's rules, earlier
turns, the error of a failed try) and what it does with replies (one read-only statement or a
clear error), plus the time-out, the breaker and the engine choice.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from llm_server import Scripted, ScriptedLlm, services_for
from nlsql_server import pipeline, tools
from nlsql_server.breaker import CircuitBreaker
from nlsql_server.databases.base import Column, DatabaseSchema, Table
from nlsql_server.engines.base import EngineContext
from nlsql_server.engines.llm import LlmConfig, LlmEngine, LlmNotConfigured, LlmUnavailable
from nlsql_server.engines.llm.chat import ChatClient
from nlsql_server.engines.llm.examples import load_examples
from nlsql_server.engines.llm.reply import checked, extract
from nlsql_server.exceptions import CannotAnswer, InvalidParams, QueryFailed, UnsafeSql
from nlsql_server.services import Services
from nlsql_server.settings import Settings

GOOD_SQL = "SELECT channel, COUNT(*) AS orders FROM orders GROUP BY channel"


def ask(services: Services, question: str, **kwargs: Any) -> dict[str, Any]:
    return asyncio.run(pipeline.ask(services, question, **kwargs))


def fenced(sql: str) -> str:
    return f"Here is the query:\n```sql\n{sql}\n```\nIt counts orders per channel."


# -- the prompt carries the linked schema only -----------------------------------------------


def make_wide_database(path: Path) -> None:
    """500 tables: invoices and suppliers, plus 498 unrelated ones no question names."""
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE suppliers (supplier_id INTEGER PRIMARY KEY, supplier_name TEXT);
        CREATE TABLE invoices (invoice_id INTEGER PRIMARY KEY,
            supplier_id INTEGER REFERENCES suppliers(supplier_id), amount REAL, issued DATE);
        INSERT INTO suppliers VALUES (1, 'Acme'), (2, 'Globex');
        INSERT INTO invoices VALUES (1, 1, 10.0, '2024-01-02'), (2, 1, 5.0, '2024-02-03'),
            (3, 2, 7.5, '2024-03-04');
        """
    )
    for i in range(498):
        conn.execute(
            f"CREATE TABLE telemetry_probe_{i:03d} "
            "(probe_key INTEGER PRIMARY KEY, sensor_label TEXT, reading REAL)"
        )
    conn.commit()
    conn.close()


def test_prompt_holds_only_the_linked_part_of_a_500_table_schema(
    llm_server: ScriptedLlm, data_dir: Path, tmp_path: Path
) -> None:
    make_wide_database(tmp_path / "wide.sqlite")
    services = services_for(llm_server, data_dir, samples=False)
    services.registry.add_sqlite("wide", tmp_path / "wide.sqlite")
    llm_server.enqueue(
        fenced(
            "SELECT s.supplier_name, SUM(i.amount) AS total FROM invoices i "
            "JOIN suppliers s ON s.supplier_id = i.supplier_id GROUP BY s.supplier_name"
        )
    )
    answer = ask(services, "total invoice amount per supplier", database="wide", engine="llm")

    assert answer["engine"] == "llm"
    assert sorted(answer["rows"]) == [["Acme", 15.0], ["Globex", 7.5]]
    (prompt,) = llm_server.prompts
    assert "CREATE TABLE invoices" in prompt and "CREATE TABLE suppliers" in prompt
    assert "REFERENCES suppliers(supplier_id)" in prompt
    assert "telemetry_probe" not in prompt
    assert "SQLite" in prompt and "strftime" in prompt
    assert llm_server.requests[0]["model"] == "scripted"


def test_prompt_carries_sample_values_glossary_and_examples(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir)
    llm_server.enqueue(fenced(GOOD_SQL))
    ask(services, "revenue per product category in Europe", database="retail", engine="llm")

    system = llm_server.requests[0]["messages"][0]["content"]
    assert "'Europe'" in system  # a sample value of regions.region_name, the one matched first
    assert "revenue / sales / turnover" in system  # the glossary term
    assert "Which 3 product categories sold the most units?" in system  # a fitting example
    assert "YEAR()" in system  # SQLite guidance names what not to use


# -- retries carry the database's error ------------------------------------------------------


def test_a_database_error_triggers_a_retry_that_carries_the_error(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir)
    llm_server.enqueue(
        fenced("SELECT YEAR(order_date) AS year, COUNT(*) FROM orders GROUP BY YEAR(order_date)"),
        fenced(
            "SELECT strftime('%Y', order_date) AS year, COUNT(*) AS orders FROM orders "
            "GROUP BY year ORDER BY year"
        ),
    )
    answer = ask(services, "number of orders per year", database="retail", engine="llm")

    assert answer["row_count"] >= 2 and answer["columns"] == ["year", "orders"]
    assert len(answer["attempts"]) == 1 and "YEAR" in answer["attempts"][0]["error"]
    retry = llm_server.requests[1]["messages"]
    assert "YEAR(order_date)" in retry[-2]["content"]  # the failed SQL, as the model's turn
    assert "no such function: YEAR" in retry[-1]["content"]


def test_retries_stop_after_two_and_the_error_lists_every_try(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir)
    tries = [f"SELECT {name}(order_date) FROM orders" for name in ("YEAR", "MONTH", "DAY")]
    llm_server.enqueue(*map(fenced, tries))
    with pytest.raises(QueryFailed) as caught:
        ask(services, "orders per channel", database="retail", engine="llm")
    assert len(llm_server.requests) == 3
    assert [a["sql"] for a in caught.value.data["attempts"]] == [
        f"SELECT\n  {name}(order_date)\nFROM orders" for name in ("YEAR", "MONTH", "DAY")
    ]
    assert "no such function: DAY" in caught.value.message


def test_an_unsafe_reply_is_retried_with_the_reason(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir)
    llm_server.enqueue("DELETE FROM orders", fenced(GOOD_SQL))
    answer = ask(services, "orders per channel", database="retail", engine="llm")
    assert answer["row_count"] == 3
    assert "DELETE FROM orders" in llm_server.requests[1]["messages"][-2]["content"]
    assert "read-only" in llm_server.requests[1]["messages"][-1]["content"]


# -- bad replies are refused with clear errors -----------------------------------------------


@pytest.mark.parametrize(
    ("reply", "error", "words"),
    [
        ("Sorry, I cannot help with that question.", CannotAnswer, "no SQL statement"),
        ("```sql\nSELECT 1;\nSELECT 2;\n```", UnsafeSql, "Exactly one statement"),
        ("```sql\nDELETE FROM orders\n```", UnsafeSql, "read-only"),
        ("```sql\nSELECT * FROM orders; DROP TABLE orders\n```", UnsafeSql, "one statement"),
        ("", CannotAnswer, "empty reply"),
    ],
)
def test_bad_replies_are_refused(
    llm_server: ScriptedLlm, data_dir: Path, reply: str, error: type[Exception], words: str
) -> None:
    services = services_for(llm_server, data_dir, llm_retries=0)
    llm_server.enqueue(reply)
    with pytest.raises(error) as caught:
        ask(services, "orders per channel", database="retail", engine="llm")
    assert words in str(caught.value)
    assert caught.value.data["attempts"][0]["sql"] == reply  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("reply", "sql"),
    [
        ("```sql\nSELECT 1 AS one;\n```", "SELECT\n  1 AS one"),
        ("```\nselect 1 as one\n```", "SELECT\n  1 AS one"),
        ("SELECT 1 AS one\n\nThis returns the number one.", "SELECT\n  1 AS one"),
        ("Sure.\nWITH t AS (SELECT 1 AS one) SELECT one FROM t;", None),
        ('```python\nprint("x")\n```\n```sql\nSELECT 1 AS one\n```', "SELECT\n  1 AS one"),
    ],
)
def test_one_statement_is_extracted_from_the_usual_reply_shapes(
    reply: str, sql: str | None
) -> None:
    extracted = checked(reply, "sqlite")
    if sql is not None:
        assert extracted == sql
    assert extract(reply).upper().lstrip().startswith(("SELECT", "WITH"))


# -- time-out and breaker --------------------------------------------------------------------


def small_context() -> EngineContext:
    table = Table("orders", (Column("order_id", "INTEGER", primary_key=True),), row_count=1)
    return EngineContext(schema=DatabaseSchema((table,)), dialect="sqlite")


def test_a_slow_model_times_out_with_a_clear_error(llm_server: ScriptedLlm) -> None:
    config = LlmConfig(base_url=llm_server.url, api_key="k", model="m", timeout=0.3)
    engine = LlmEngine(config)
    llm_server.enqueue(Scripted(fenced("SELECT 1"), delay=2.0))
    with pytest.raises(LlmUnavailable, match=r"did not answer within 0.3 s"):
        engine.generate("how many orders", small_context())
    engine.close()


def test_the_breaker_opens_after_repeated_failures_and_closes_after_a_success(
    llm_server: ScriptedLlm,
) -> None:
    now = [1000.0]
    config = LlmConfig(base_url=llm_server.url, api_key="k", model="m", breaker_failures=3)
    engine = LlmEngine(
        config, chat=ChatClient(config, CircuitBreaker(3, 30.0, clock=lambda: now[0]))
    )
    llm_server.enqueue(*[Scripted(status=503)] * 3)
    for _ in range(3):
        with pytest.raises(LlmUnavailable, match="HTTP 503"):
            engine.generate("how many orders", small_context())
    with pytest.raises(LlmUnavailable, match="not asked again for 30 s"):
        engine.generate("how many orders", small_context())
    assert len(llm_server.requests) == 3  # the open breaker sent nothing

    now[0] += 31  # half-open: one trial call goes through and closes the breaker
    llm_server.enqueue(fenced("SELECT COUNT(*) FROM orders"))
    assert engine.generate("how many orders", small_context()).engine == "llm"
    assert engine.chat.breaker.consecutive_failures == 0
    engine.close()


def test_client_errors_do_not_trip_the_breaker(llm_server: ScriptedLlm) -> None:
    config = LlmConfig(base_url=llm_server.url, api_key="k", model="m", breaker_failures=1)
    engine = LlmEngine(config)
    llm_server.enqueue(Scripted(status=400), fenced("SELECT 1"))
    with pytest.raises(LlmUnavailable, match="HTTP 400: scripted failure 400"):
        engine.generate("how many orders", small_context())
    assert engine.generate("how many orders", small_context()).sql == "SELECT\n  1"
    engine.close()


# -- engine choice ---------------------------------------------------------------------------


def test_auto_uses_the_offline_engine_when_it_is_confident(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir, auto_min_confidence=0.0)
    answer = ask(services, "top 5 customers by total purchase amount", database="retail")
    assert answer["engine"] == "offline" and answer["row_count"] == 5
    assert llm_server.requests == []


def test_auto_asks_the_llm_below_the_confidence_threshold(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir, auto_min_confidence=1.01)
    llm_server.enqueue(fenced(GOOD_SQL))
    answer = ask(services, "top 5 customers by total purchase amount", database="retail")
    assert answer["engine"] == "llm" and answer["row_count"] == 3
    assert len(llm_server.requests) == 1


def test_auto_keeps_the_doubtful_offline_answer_when_the_llm_fails(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir, auto_min_confidence=1.01)
    llm_server.enqueue(Scripted(status=503))
    answer = ask(services, "top 5 customers by total purchase amount", database="retail")
    assert answer["engine"] == "offline" and answer["row_count"] == 5
    assert len(llm_server.requests) == 1


def test_auto_asks_the_llm_when_the_offline_engine_cannot_answer(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir)
    llm_server.enqueue(fenced(GOOD_SQL))
    answer = ask(services, "what is the meaning of life", database="retail")
    assert answer["engine"] == "llm"


def test_without_an_llm_auto_is_offline_and_llm_says_how_to_configure(data_dir: Path) -> None:
    services = Services.from_settings(Settings(data_dir=data_dir))
    assert services.settings.engine == "auto"
    answer = ask(services, "top 5 customers by total purchase amount", database="retail")
    assert answer["engine"] == "offline"
    with pytest.raises(CannotAnswer):
        ask(services, "what is the meaning of life", database="retail")
    with pytest.raises(LlmNotConfigured, match="NLSQL_LLM_BASE_URL and NLSQL_LLM_MODEL"):
        ask(services, "top 5 customers", database="retail", engine="llm")
    with pytest.raises(InvalidParams, match="Engines: auto, offline, llm"):
        ask(services, "top 5 customers", database="retail", engine="magic")


def test_the_engine_is_chosen_per_server(llm_server: ScriptedLlm, data_dir: Path) -> None:
    services = services_for(llm_server, data_dir, engine="llm")
    llm_server.enqueue(fenced(GOOD_SQL))
    assert ask(services, "top 5 customers", database="retail")["engine"] == "llm"
    seed = "top 5 customers by total purchase amount"
    offline = ask(services, seed, database="retail", engine="offline")
    assert offline["engine"] == "offline" and len(llm_server.requests) == 1


def test_configuration_defaults_suit_moonshot_and_keep_an_openai_key_at_openai() -> None:
    moonshot = LlmConfig.from_settings(Settings(llm_api_key="sk-m"))
    assert moonshot.base_url == "https://api.moonshot.ai/v1" and moonshot.model
    openai_only = LlmConfig.from_settings(Settings(openai_api_key="sk-o"))
    assert openai_only.base_url == "https://api.openai.com/v1" and openai_only.api_key == "sk-o"
    local = LlmConfig.from_settings(Settings(llm_base_url="http://127.0.0.1:8080/v1"))
    assert not local.configured  # a local server needs its model named
    with pytest.raises(LlmNotConfigured, match="NLSQL_LLM_MODEL is missing"):
        local.require()
    assert LlmConfig.from_settings(
        Settings(llm_base_url="http://127.0.0.1:8080/v1", llm_model="qwen")
    ).configured


def test_json_rpc_and_cli_take_the_engine(server: Any, data_dir: Path) -> None:
    reply = httpx.post(
        f"{server.url}/rpc",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "ask",
            "params": {"question": "top 5 customers", "database": "retail", "engine": "llm"},
        },
    ).json()
    assert reply["error"]["data"]["code"] == "llm_not_configured"
    assert "docs/llm.md" in reply["error"]["message"]

    env = {k: v for k, v in os.environ.items() if not k.endswith("API_KEY")}
    env["NLSQL_DATA_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-m", "nlsql_server.cli", "ask", "--db", "retail", "--engine", "llm"]
        + ["--format", "json", "top 5 customers"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["error_code"] == "llm_not_configured"
    bad = subprocess.run(
        [sys.executable, "-m", "nlsql_server.cli", "ask", "--db", "retail", "--engine", "x", "q"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


# -- follow-ups reach the LLM with the earlier turns -----------------------------------------


def test_a_follow_up_reaches_the_llm_with_the_previous_turns(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir)
    first = ask(services, "revenue by region", database="retail", session_id="follow-up-1")
    assert first["engine"] == "offline"
    llm_server.enqueue(fenced(GOOD_SQL))
    ask(
        services,
        "now only for Europe",
        database="retail",
        session_id="follow-up-1",
        engine="llm",
    )
    messages = llm_server.requests[0]["messages"]
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert messages[1]["content"] == "revenue by region"
    assert first["sql"].strip() in messages[2]["content"]
    assert messages[3]["content"].startswith("now only for Europe")
    assert '"revenue by region"' in messages[3]["content"]  # names what it may refine
    assert "CREATE TABLE regions" in messages[0]["content"]  # the earlier turn's tables


# -- verified examples ----------------------------------------------------------------------


@pytest.mark.parametrize("example", load_examples(), ids=lambda e: e.question[:40])
def test_every_shipped_example_runs_on_its_sample(data_dir: Path, example: Any) -> None:
    services = Services.from_settings(Settings(data_dir=data_dir))
    database = next(
        name for name in ("retail", "finance") if example.fits(services.registry.get(name).schema())
    )
    result = asyncio.run(tools.run_sql(services, database, example.sql_in("sqlite")))
    assert result["row_count"] > 0
    assert example.sql_in("mysql")  # renders in the other dialect the server speaks
