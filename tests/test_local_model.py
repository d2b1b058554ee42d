"""The LLM engine against a real model: Qwen2.5-Coder-1.5B-Instruct served by llama.cpp.

Behaviour, not SQL text: what the model writes parses, passes the safety check, runs on the
retail sample and returns rows; and given a real database error it writes SQL that runs. A
handful of questions only: each costs seconds of CPU on a 2-core machine.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from nlsql_server import pipeline
from nlsql_server.databases import safety
from nlsql_server.engines.llm import Attempt
from nlsql_server.exceptions import QueryFailed
from nlsql_server.services import Services
from nlsql_server.settings import Settings

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def services(local_llm_url: str, data_dir: Path) -> Iterator[Services]:
    from benchmarks.accuracy.local_llm import ALIAS

    built = Services.from_settings(
        Settings(
            data_dir=data_dir,
            llm_base_url=local_llm_url,
            llm_model=ALIAS,
            llm_temperature=0.0,
            llm_timeout=600.0,
        )
    )
    yield built
    built.close()


def ask(services: Services, question: str, **kwargs: Any) -> dict[str, Any]:
    return asyncio.run(pipeline.ask(services, question, database="retail", **kwargs))


@pytest.mark.parametrize(
    "question",
    [
        "number of orders per year",
        "top 5 products by units sold",
        "average order amount per sales channel",
    ],
)
def test_the_model_answers_with_sql_that_runs_and_returns_rows(
    services: Services, question: str
) -> None:
    answer = ask(services, question, engine="llm")
    assert answer["engine"] == "llm"
    sqlglot.parse_one(answer["sql"], read="sqlite")
    assert answer["row_count"] > 0, answer["sql"]


def test_given_a_real_database_error_the_model_writes_sql_that_runs(services: Services) -> None:
    db = services.registry.get("retail")
    wrong = "SELECT YEAR(order_date) AS year, COUNT(*) AS orders FROM orders GROUP BY 1"
    with pytest.raises(QueryFailed) as refused:
        db.execute(wrong, 10)
    context = services.contexts.get(db, services.registry.glossary("retail"))

    fixed = services.nlp.llm.generate(
        "number of orders per year", context, (Attempt(wrong, refused.value.message),)
    )

    safety.check(fixed.sql, "sqlite")
    assert db.execute(fixed.sql, 100).row_count > 0, fixed.sql


def test_a_follow_up_refines_the_previous_answer(services: Services) -> None:
    first = ask(services, "number of orders per sales channel", engine="llm", session_id="local-1")
    follow = ask(services, "now only for 2024", engine="llm", session_id="local-1")
    assert first["row_count"] > 0 and follow["row_count"] > 0, follow["sql"]
    assert "2024" in follow["sql"] and "channel" in follow["sql"].lower()
