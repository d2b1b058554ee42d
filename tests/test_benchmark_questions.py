"""The accuracy benchmark's question set is sound: a broken gold query would silently skew it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from nlsql_server.agents import data

from benchmarks.accuracy import questions
from benchmarks.accuracy.run import services_for


@pytest.fixture(scope="module")
def question_set() -> list[questions.Question]:
    return questions.load()


def test_the_set_is_large_covers_three_schemas_and_holds_questions_out(
    question_set: list[questions.Question],
) -> None:
    assert len(question_set) >= 150
    per_database = Counter(q.database for q in question_set)
    assert {"retail", "finance", "clinic"} <= set(per_database)
    assert {q.split for q in question_set} == {"dev", "test"}
    assert len({q.shape for q in question_set}) >= 10


def test_every_gold_query_is_read_only_runs_and_answers(
    question_set: list[questions.Question], data_dir: Path
) -> None:
    services = services_for(data_dir)
    try:
        empty = []
        for q in question_set:
            db = services.registry.get(q.database)
            if not data.run(db, q.gold_sql, 1000).rows:
                empty.append(q.id)
        assert empty == [], f"gold SQL that returns no rows: {empty}"
    finally:
        services.close()
