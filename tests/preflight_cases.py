"""The pre-flight checks every backend's plan must pass on the `retail` sample (5,000 customers,
60,000 orders): the same statements, the same verdicts, on SQLite, MariaDB, PostgreSQL and
DuckDB."""

from __future__ import annotations

import asyncio

import pytest
from nlsql_server import tools
from nlsql_server.databases.base import Database
from nlsql_server.exceptions import NeedsConfirmation
from nlsql_server.services import Services

#: Every customer against every customer: 25 million pairs, over the default budget.
CARTESIAN = "SELECT COUNT(*) AS n FROM customers a, customers b WHERE a.signup_date < b.signup_date"
#: An ordinary question's SQL: each order finds its customer by key.
JOINED = (
    "SELECT c.country, SUM(o.total_amount) AS total FROM orders o "
    "JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.country"
)


def assert_plans_are_read(services: Services, name: str) -> None:
    """Key lookups, an ordinary join and a cartesian join are told apart, and only the
    cartesian join waits for confirmation (through `tools.run_sql`, as `sql.run` runs)."""
    database: Database = services.registry.get(name)

    by_key = database.estimate("SELECT first_name FROM customers WHERE customer_id = 7")
    assert by_key is not None
    if database.dialect == "duckdb":  # no row index: a filtered scan (zone maps skip blocks)
        assert by_key.kind == "full scan" and by_key.rows == 5_000, by_key
    else:
        assert by_key.kind in ("index lookup", "constant") and by_key.rows <= 1, by_key

    joined = database.estimate(JOINED)
    assert joined is not None and joined.kind == "full scan", joined
    assert 10_000 <= joined.rows <= 1_000_000, joined  # well under the budget

    cartesian = database.estimate(CARTESIAN)
    assert cartesian is not None and cartesian.kind == "cartesian join", cartesian
    assert cartesian.rows > services.settings.cost_budget_rows, cartesian
    assert "5,000 rows of customers" in cartesian.words, cartesian.words

    with pytest.raises(NeedsConfirmation) as waiting:
        asyncio.run(tools.run_sql(services, name, CARTESIAN))
    assert waiting.value.data["estimate"]["kind"] == "cartesian join"
    ran = asyncio.run(tools.run_sql(services, name, CARTESIAN, confirm=True))
    assert ran["row_count"] == 1 and ran["rows"][0][0] > 0
    assert asyncio.run(tools.run_sql(services, name, JOINED))["row_count"] > 0
