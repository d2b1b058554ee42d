"""Parity of a backend with SQLite: the offline engine's questions give the same rows.

Shared by the tests of every backend that serves the samples (MariaDB, PostgreSQL, DuckDB): each registers
them as `retail<suffix>` and `finance<suffix>` beside the SQLite samples and calls
`assert_parity`.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any

import pytest
from nlsql_server import pipeline
from nlsql_server.exceptions import CannotAnswer
from nlsql_server.services import Services

#: Questions the offline engine answers on both samples, besides test_offline_engine.py's.
QUESTIONS: tuple[tuple[str, str], ...] = (
    ("retail", "How many orders are there?"),
    ("retail", "Revenue by region"),
    ("retail", "Revenue by category in 2024"),
    ("retail", "Total revenue per year"),
    ("retail", "Number of customers by segment"),
    ("retail", "How many customers are in each country?"),
    ("retail", "Top 10 products by units sold"),
    ("retail", "Orders by status"),
    ("retail", "Orders by channel in 2025"),
    ("retail", "Average order value by channel"),
    ("retail", "Gross profit by category"),
    ("retail", "New customers per month in 2023"),
    ("retail", "How many cancelled orders were there in 2024?"),
    ("retail", "Top 3 employees by revenue"),
    ("retail", "Revenue per quarter in 2024"),
    ("retail", "Which cities have the most customers?"),
    ("retail", "Average unit price by category"),
    ("retail", "Total payments by method"),
    ("retail", "Revenue in Europe by country"),
    ("retail", "How many products are in each category?"),
    ("retail", "List the products in Electronics"),
    ("finance", "Total spend by vendor"),
    ("finance", "How many invoices are overdue?"),
    ("finance", "Invoices by status"),
    ("finance", "Budget by department for 2024"),
    ("finance", "Total transaction amount per month in 2024"),
    ("finance", "Top 5 vendors by invoice amount"),
    ("finance", "Expenses by department"),
    ("finance", "Number of accounts by account type"),
    ("finance", "Average invoice amount by vendor country"),
)


def _same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, int | float)
            and isinstance(b, int | float)
            and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
        )
    return bool(a == b)


def assert_same_rows(left: Sequence[Sequence[Any]], right: Sequence[Sequence[Any]]) -> None:
    """Equal rows in the same order, floats within a hair (summation order differs)."""
    assert len(left) == len(right)
    for a, b in zip(left, right):
        assert len(a) == len(b)
        assert all(_same_value(x, y) for x, y in zip(a, b)), (a, b)


def ask(services: Services, question: str, database: str) -> dict[str, Any]:
    return asyncio.run(pipeline.ask(services, question, database=database))


def offline_questions() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Questions to answer alike on both backends, and questions both must decline.

    The offline engine's own test cases (tests/test_offline_engine.py) plus ours, without repeats.
    """
    import test_offline_engine as offline

    cases = [(case[0], case[1]) for case in offline.CASES]
    seen = {(db, q.lower()) for db, q in cases}
    answerable = cases + [(db, q) for db, q in QUESTIONS if (db, q.lower()) not in seen]
    declined = [(case[0], case[1]) for case in offline.CANNOT]
    return answerable, declined


def assert_parity(services: Services, suffix: str) -> int:
    """Every offline question gives the same columns and rows on `<sample><suffix>` as on the
    SQLite sample (as sets when no order is asked), and both decline the same; returns how many
    questions were compared."""
    answerable, declined = offline_questions()
    assert len(answerable) >= 20
    differ: list[str] = []
    for sample, question in answerable:
        lite = ask(services, question, sample)
        try:
            other = ask(services, question, f"{sample}{suffix}")
        except Exception as exc:  # listed with the rest, not the first failure alone
            differ.append(f"{sample}: {question}\n  {lite['sql']}\n  {type(exc).__name__}: {exc}")
            continue
        left, right = lite["rows"], other["rows"]
        if "ORDER BY" not in lite["sql"].upper():  # no order asked: compare as sets
            left, right = sorted(left, key=repr), sorted(right, key=repr)
        try:
            assert other["columns"] == lite["columns"]
            assert_same_rows(right, left)
        except AssertionError:
            differ.append(f"{sample}: {question}\n  {lite['sql']}\n  {other['sql']}")
    assert not differ, f"{len(differ)} of {len(answerable)} differ:\n" + "\n".join(differ)
    for sample, question in declined:
        for database in (sample, f"{sample}{suffix}"):
            with pytest.raises(CannotAnswer):
                ask(services, question, database)
    return len(answerable)
