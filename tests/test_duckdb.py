"""DuckDB on the server: the samples as DuckDB files answer as on SQLite, and folders of
Parquet/CSV files are tables, through a real server. Safety: tests/test_safety.py."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from conftest import ServerThread
from nlsql_server.app import create_app
from nlsql_server.databases.duck import DuckdbDatabase
from nlsql_server.services import Services
from nlsql_server.settings import Settings
from parity import assert_parity
from preflight_cases import assert_plans_are_read


def nlsql(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nlsql_server", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | (env or {}),
        check=False,
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both samples written to DuckDB files by the real `nlsql samples load`; the databases
    file it suggests, as printed."""
    folder = tmp_path_factory.mktemp("duck")
    done = nlsql("samples", "load", "--url", f"duckdb:///{folder}/")
    assert done.returncode == 0, done.stderr
    assert "retail -> retail: 8 tables, " in done.stdout
    config = folder / "databases.toml"
    config.write_text(done.stdout.split("\n\n", 1)[1])
    return config


@pytest.fixture(scope="module")
def services(loaded: Path, data_dir: Path) -> Iterator[Services]:
    built = Services.from_settings(Settings(data_dir=data_dir, databases_file=loaded))
    yield built
    built.close()


def test_offline_questions_give_the_same_rows(services: Services) -> None:
    checked = assert_parity(services, "_duckdb")
    print(f"\n{checked} questions gave equal rows on SQLite and DuckDB")


def test_the_samples_keep_their_keys_and_counts(services: Services) -> None:
    lite = services.registry.get("retail").schema()
    duck = services.registry.get("retail_duckdb").schema()
    assert duck.table_names == sorted(lite.table_names)
    for table in lite.tables:
        other = duck.table(table.name)
        assert other is not None and other.row_count == table.row_count
        assert other.primary_key == table.primary_key
        assert sorted(fk.ref_table for fk in other.foreign_keys) == sorted(
            fk.ref_table for fk in table.foreign_keys
        )


def test_values_come_back_as_sqlite_would_give_them(services: Services) -> None:
    database = services.registry.get("retail_duckdb")
    assert isinstance(database, DuckdbDatabase)
    row = database.execute(
        "SELECT CAST(2.50 AS DECIMAL(5, 2)), CAST(7 AS DECIMAL(5, 0)), DATE '2024-02-29', "
        "TIMESTAMP '2024-02-29 13:45:00', TIME '13:45:00', "
        "CAST('00000000-0000-0000-0000-000000000001' AS UUID), NULL",
        1,
    ).rows[0]
    uuid = "00000000-0000-0000-0000-000000000001"
    assert row == [2.5, 7, "2024-02-29", "2024-02-29 13:45:00", "13:45:00", uuid, None]
    assert isinstance(row[0], float) and isinstance(row[1], int)


# -- files as tables, through a real server ------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder an analyst might have: a Parquet file, a CSV file, a partitioned dataset."""
    folder = tmp_path_factory.mktemp("exports")
    with duckdb.connect() as conn:
        conn.execute(
            "COPY (SELECT i AS order_id, i % 3 + 1 AS customer_id, i * 10.5 AS amount, "
            "DATE '2024-01-01' + CAST(i AS INTEGER) AS ordered_on FROM range(1, 7) t(i)) "
            f"TO '{folder / 'orders.parquet'}' (FORMAT parquet)"
        )
        conn.execute(
            "COPY (SELECT * FROM (VALUES (1, 'Ada', 'DE'), (2, 'Grace', 'US'), (3, 'Linus', "
            f"'FI')) t(customer_id, name, country)) TO '{folder / 'customers.csv'}' (HEADER)"
        )
        (folder / "events").mkdir()
        for year in (2024, 2025):
            (folder / "events" / f"year={year}").mkdir()
            conn.execute(
                f"COPY (SELECT {year} AS year, i AS n FROM range(5) t(i)) "
                f"TO '{folder / 'events' / f'year={year}' / 'part.parquet'}' (FORMAT parquet)"
            )
    return folder


@pytest.fixture(scope="module")
def server(files: Path, data_dir: Path) -> Iterator[ServerThread]:
    config = files / "databases.toml"
    config.write_text(
        '[databases.exports]\nurl = "duckdb:///."\n'
        'description = "Every file of the exports folder"\n\n'
        '[databases.sales]\nurl = "duckdb://"\n'
        'tables = { orders = "orders.parquet", buyers = "*.csv" }\n'
    )
    settings = Settings(data_dir=data_dir, databases_file=config, samples=False)
    with ServerThread(create_app(settings)) as running:
        yield running


def rpc(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(f"{url}/rpc", json=body, timeout=60).json()


def test_each_file_of_a_folder_is_a_table(server: ServerThread) -> None:
    tables = rpc(server.url, "schema.tables", {"database": "exports"})["result"]
    names = [t["name"] for t in tables]
    assert names == ["customers", "events", "orders"]
    result = rpc(
        server.url,
        "sql.run",
        {
            "database": "exports",
            "sql": "SELECT c.name, SUM(o.amount) AS spent FROM orders o JOIN customers c "
            "USING (customer_id) GROUP BY c.name ORDER BY spent DESC",
        },
    )["result"]
    assert result["rows"] == [["Ada", 94.5], ["Linus", 73.5], ["Grace", 52.5]]
    years = rpc(
        server.url,
        "sql.run",
        {"database": "exports", "sql": "SELECT year, COUNT(*) FROM events GROUP BY 1 ORDER BY 1"},
    )["result"]
    assert years["rows"] == [[2024, 5], [2025, 5]]


def test_named_tables_and_a_question_in_plain_english(server: ServerThread) -> None:
    answer = rpc(server.url, "ask", {"database": "sales", "question": "How many orders are there?"})
    assert answer["result"]["rows"] == [[6]], answer
    listed = rpc(server.url, "databases.list", {})["result"]
    assert {d["name"]: (d["dialect"], d["tables"]) for d in listed} == {
        "exports": ("duckdb", ["customers", "events", "orders"]),
        "sales": ("duckdb", ["buyers", "orders"]),
    }


def test_a_file_outside_is_refused_with_a_reason(server: ServerThread) -> None:
    reply = rpc(
        server.url, "sql.run", {"database": "sales", "sql": "SELECT * FROM read_csv('/etc/passwd')"}
    )
    assert reply["error"]["data"]["code"] == "unsafe_sql"
    assert "READ_CSV is not allowed" in reply["error"]["message"]


def test_the_plan_is_read_before_a_query_runs(services: Services) -> None:
    assert_plans_are_read(services, "retail_duckdb")
