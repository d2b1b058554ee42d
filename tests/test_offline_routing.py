"""`auto` routes on the offline engine's precision signal (issue 10, part 4).

An offline answer that left a word unplaced, or a plan its checks doubted, must not shadow the
LLM's answer: the question goes to the LLM (the scripted one, the only fake here).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from llm_server import ScriptedLlm
from nlsql_server import pipeline
from nlsql_server.services import Services
from nlsql_server.settings import Settings

LLM_SQL = "SELECT channel, COUNT(*) AS orders FROM orders GROUP BY channel"


def _services(llm: ScriptedLlm, data_dir: Path) -> Services:
    return Services.from_settings(
        Settings(data_dir=data_dir, llm_base_url=llm.url, llm_model="scripted", llm_timeout=10.0)
    )


def _ask(services: Services, question: str, database: str) -> dict[str, Any]:
    return asyncio.run(pipeline.ask(services, question, database=database))


def _fenced(sql: str) -> str:
    return f"```sql\n{sql}\n```"


def test_an_unplaced_lead_in_word_sends_the_question_to_the_llm(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = _services(llm_server, data_dir)
    offline = _ask(services, "glittering revenue by region", "retail")  # no LLM reply queued
    assert offline["engine"] == "offline"  # the LLM failed: the doubtful answer is kept
    llm_server.enqueue(_fenced(LLM_SQL))
    answer = _ask(services, "glittering revenue by region", "retail")
    assert answer["engine"] == "llm"


def test_a_plan_its_checks_doubt_goes_to_the_llm(llm_server: ScriptedLlm, data_dir: Path) -> None:
    services = _services(llm_server, data_dir)
    llm_server.enqueue(_fenced("SELECT COUNT(*) FROM invoices WHERE status = 'void'"))
    answer = _ask(services, "how many invoices were flagged", "finance")
    assert answer["engine"] == "llm"


def test_a_clean_offline_answer_stays_offline(llm_server: ScriptedLlm, data_dir: Path) -> None:
    services = _services(llm_server, data_dir)
    answer = _ask(services, "revenue by region", "retail")
    assert answer["engine"] == "offline"
    assert llm_server.requests == []
