"""Follow-ups: a question that names only what changes refines the previous turn's plan.

Checked on the engine (with the plan passed through JSON, as a Redis session stores it) and
through the real server: JSON-RPC over HTTP with a session id, sessions kept in a real Redis.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ServerThread
from nlsql_server.agents.data import build_context
from nlsql_server.databases.sqlite import SqliteDatabase
from nlsql_server.engines.base import EngineContext, PriorTurn
from nlsql_server.engines.offline import OfflineEngine
from nlsql_server.engines.offline.memory import dump, load
from nlsql_server.engines.offline.schema_index import index_for
from nlsql_server.engines.offline.words import tokenize
from nlsql_server.exceptions import CannotAnswer
from nlsql_server.glossary import Glossary
from nlsql_server.samples import ensure_sample, glossary_path
from test_offline_engine import assert_same

ENGINE = OfflineEngine()
REVENUE = "o.status NOT IN ('cancelled', 'returned')"
BY_COUNTRY = (
    "SELECT c.country, SUM(o.total_amount) AS v FROM orders o JOIN customers c USING (customer_id) "
    "JOIN regions r ON r.region_id = c.region_id WHERE {where} GROUP BY c.country"
)


class Conversation:
    """Questions asked one after another, each seeing the earlier turns as a session keeps them."""

    def __init__(self, db: SqliteDatabase, context: EngineContext) -> None:
        self.db, self.context, self.turns = db, context, []

    def ask(self, question: str) -> list[list[Any]]:
        generated = ENGINE.generate(question, replace(self.context, history=tuple(self.turns)))
        stored = json.loads(json.dumps(generated.understood))  # what Redis hands back
        self.turns.append(PriorTurn(question, generated.sql, generated.engine, stored))
        return self.db.execute(generated.sql, 100_000).rows


@pytest.fixture(scope="module")
def retail(data_dir: Path) -> tuple[SqliteDatabase, EngineContext]:
    db = SqliteDatabase("retail", ensure_sample("retail", data_dir))
    return db, build_context(db, db.schema(), Glossary.load(glossary_path("retail")))


def test_filter_grain_and_rank_refine_the_previous_question(retail):
    db, context = retail
    talk = Conversation(db, context)
    year = "o.order_date LIKE '2025-%'"
    rows = talk.ask("revenue by country in 2025")
    assert_same(
        rows, db.execute(BY_COUNTRY.format(where=f"{REVENUE} AND {year}"), 1000).rows, False
    )

    europe = f"{REVENUE} AND {year} AND r.region_name = 'Europe'"
    rows = talk.ask("now only for Europe")
    assert_same(rows, db.execute(BY_COUNTRY.format(where=europe), 1000).rows, False)

    rows = talk.ask("and the bottom 2?")
    gold = BY_COUNTRY.format(where=europe) + " ORDER BY v ASC LIMIT 2"
    assert_same(rows, db.execute(gold, 1000).rows, True)

    rows = talk.ask("same but per quarter")
    assert len(rows) == 2 and {len(r) for r in rows} == {3}, "country, quarter, revenue"
    assert all(r[1].startswith("2025-Q") for r in rows)


def test_a_period_replaces_the_period_and_a_grain_the_grain(retail):
    db, context = retail
    talk = Conversation(db, context)
    talk.ask("monthly revenue in 2024")
    rows = talk.ask("what about 2023?")
    gold = (
        "SELECT substr(order_date, 1, 7) AS m, SUM(total_amount) FROM orders o "
        f"WHERE {REVENUE} AND order_date LIKE '2023-%' GROUP BY m ORDER BY m"
    )
    assert_same(rows, db.execute(gold, 1000).rows, True)
    rows = talk.ask("same but per quarter")
    assert [r[0] for r in rows] == ["2023-Q1", "2023-Q2", "2023-Q3", "2023-Q4"]


def test_a_whole_question_is_not_merged_into_the_last(retail):
    db, context = retail
    talk = Conversation(db, context)
    talk.ask("revenue by country in 2025")
    assert talk.ask("how many customers are there") == [[5000]]
    assert talk.ask("how many customers are there please") == [[5000]]


def test_cue_words_around_a_follow_up(retail):
    db, context = retail
    talk = Conversation(db, context)
    talk.ask("number of orders by channel")
    rows = talk.ask("for 2024 instead")
    gold = "SELECT channel, COUNT(*) FROM orders WHERE order_date LIKE '2024-%' GROUP BY channel"
    assert_same(rows, db.execute(gold, 10).rows, False)
    rows = talk.ask("what about Canada?")
    gold = (
        "SELECT o.channel, COUNT(*) FROM orders o JOIN customers c USING (customer_id) "
        "WHERE o.order_date LIKE '2024-%' AND c.country = 'Canada' GROUP BY o.channel"
    )
    assert_same(rows, db.execute(gold, 10).rows, False)


def test_a_follow_up_without_a_previous_answer_cannot_be_answered(retail):
    _, context = retail
    for question in ("now only for Europe", "and the bottom 5?", "same but per quarter"):
        with pytest.raises(CannotAnswer):
            ENGINE.generate(question, context)


def test_a_follow_up_that_changes_nothing_is_refused(retail):
    db, context = retail
    talk = Conversation(db, context)
    talk.ask("revenue by region")
    with pytest.raises(CannotAnswer):
        talk.ask("and what about the weather")


def test_the_stored_plan_rebuilds_to_the_same_plan(retail):
    _, context = retail
    index = index_for(context)
    for question in ("total sales by category in 2025", "customers with more than 30 orders",
                     "what share of orders were cancelled", "customers without orders in 2025",
                     "revenue in the last 3 months by channel"):  # fmt: skip
        understood = ENGINE.generate(question, context).understood
        stored = json.loads(json.dumps(understood["plan"]))
        plan = ENGINE._plan(tokenize(question), index)
        assert load(stored, context.glossary, set(index.tables)) == plan
        assert dump(plan) == stored


# -- through the real server ---------------------------------------------------------------


def rpc(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    reply = httpx.post(f"{url}/rpc", json=body, timeout=60).json()
    assert "result" in reply, reply
    return reply["result"]


@pytest.fixture(scope="module")
def redis_server(data_dir: Path, redis_url: str):
    from nlsql_server.app import create_app
    from nlsql_server.settings import Settings

    with ServerThread(create_app(Settings(data_dir=data_dir, redis_url=redis_url))) as running:
        yield running


def test_follow_ups_through_json_rpc_with_a_redis_session(redis_server, retail):
    db, _ = retail
    sid = rpc(redis_server.url, "session.open", {})["session_id"]
    rpc(redis_server.url, "session.use", {"session_id": sid, "database": "retail"})

    def ask(question: str) -> dict[str, Any]:
        params = {"question": question, "session_id": sid, "engine": "offline"}
        return rpc(redis_server.url, "ask", params)

    ask("revenue by country in 2025")
    answer = ask("now only for Europe")
    europe = f"{REVENUE} AND o.order_date LIKE '2025-%' AND r.region_name = 'Europe'"
    assert_same(answer["rows"], db.execute(BY_COUNTRY.format(where=europe), 1000).rows, False)
    answer = ask("and the bottom 2?")
    gold = BY_COUNTRY.format(where=europe) + " ORDER BY v ASC LIMIT 2"
    assert_same(answer["rows"], db.execute(gold, 1000).rows, True)

    # another session has no previous answer to refine
    other = rpc(redis_server.url, "session.open", {})["session_id"]
    params = {"question": "and the bottom 2?", "session_id": other, "database": "retail",
              "engine": "offline"}  # fmt: skip
    body = {"jsonrpc": "2.0", "id": 2, "method": "ask", "params": params}
    reply = httpx.post(f"{redis_server.url}/rpc", json=body, timeout=60).json()
    assert "result" not in reply
    assert reply["error"]["data"]["code"] == "cannot_answer"


def test_a_session_copy_of_the_context_reuses_the_schema_index(retail):
    """Each session question gets a context copy with its history: the index is not rebuilt."""
    _, context = retail
    turn = PriorTurn("revenue by region", "SELECT 1", "offline")
    assert index_for(replace(context, history=(turn,))) is index_for(context)
