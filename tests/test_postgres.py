"""The PostgreSQL backend against a real PostgreSQL: samples loaded, same answers as SQLite,
read-only, bounded, cancellable.

The session's PostgreSQL (`postgres` fixture, tests/services.py) gets both samples through the
real `nlsql samples load` command as its superuser; a databases file then serves them as
`retail_postgres` and `finance_postgres` through the reader role (`pg_read_all_data` only)
next to the SQLite samples.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from conftest import ServerThread
from nlsql_server.agents import data
from nlsql_server.app import create_app
from nlsql_server.databases import pooled, postgres, urls
from nlsql_server.databases.postgres import PostgresDatabase
from nlsql_server.exceptions import DatabaseUnavailable, QueryFailed, UnsafeSql
from nlsql_server.services import Services
from nlsql_server.settings import Settings
from parity import ask as _ask
from parity import assert_parity, assert_same_rows
from preflight_cases import assert_plans_are_read
from services import PostgreSQL, free_port
from test_mysql import SAMPLES, SEED_QUESTIONS, Loaded, _nlsql, load_samples
from websockets.sync.client import connect


@pytest.fixture(scope="session")
def pg_loaded(postgres: PostgreSQL, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """Both samples loaded by `nlsql samples load`, and a databases file serving them."""
    return load_samples(postgres, "postgres", tmp_path_factory.mktemp("pgconfig"))


@pytest.fixture(scope="module")
def services(pg_loaded: Loaded, data_dir: Path) -> Iterator[Services]:
    built = Services.from_settings(Settings(data_dir=data_dir, databases_file=pg_loaded.config))
    yield built
    built.close()


def _pg(services: Services, sample: str) -> PostgresDatabase:
    database = services.registry.get(f"{sample}_postgres")
    assert isinstance(database, PostgresDatabase)
    return database


def _admin(server: PostgreSQL, database: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(server.url(database, admin=True), autocommit=True)


# -- loading and schema -------------------------------------------------------------------------


def test_samples_load_reports_and_skips_when_up_to_date(pg_loaded: Loaded) -> None:
    again = _nlsql("samples", "load", "--url", pg_loaded.server.admin_url)
    assert again.returncode == 0, again.stderr
    assert "retail -> retail: 8 tables" in again.stdout
    assert again.stdout.count("up to date") == 2
    assert "[databases.retail_postgres]" in again.stdout
    assert "admin-secret" not in again.stdout  # the snippet never repeats a password


def test_samples_load_refuses_a_database_holding_other_tables(pg_loaded: Loaded) -> None:
    with _admin(pg_loaded.server) as admin:
        admin.execute("DROP DATABASE IF EXISTS mine_finance")
        admin.execute("CREATE DATABASE mine_finance")
    with _admin(pg_loaded.server, "mine_finance") as admin:
        admin.execute("CREATE TABLE precious (id INT PRIMARY KEY)")
    url = pg_loaded.server.admin_url
    refused = _nlsql("samples", "load", "--url", url, "--prefix", "mine_", "--sample", "finance")
    assert refused.returncode == 1
    assert "precious" in refused.stderr and "--replace" in refused.stderr
    replaced = _nlsql(
        "samples", "load", "--url", url, "--prefix", "mine_", "--sample", "finance", "--replace"
    )
    assert replaced.returncode == 0, replaced.stderr
    assert "finance -> mine_finance: 6 tables" in replaced.stdout
    database = urls.open_database("mine", pg_loaded.server.url("mine_finance"))
    try:
        assert "precious" not in database.schema().table_names
        assert database.execute("SELECT COUNT(*) FROM vendors", 1).rows[0][0] > 0
    finally:
        database.close()


@pytest.mark.parametrize("sample", SAMPLES)
def test_schema_matches_sqlite(services: Services, sample: str) -> None:
    lite, pg = services.registry.get(sample).schema(), _pg(services, sample).schema()
    assert pg.table_names == lite.table_names
    for ours, theirs in zip(pg.tables, lite.tables):
        assert [c.name for c in ours.columns] == [c.name for c in theirs.columns]
        assert [c.kind for c in ours.columns] == [c.kind for c in theirs.columns], ours.name
        assert [c.nullable for c in ours.columns] == [c.nullable for c in theirs.columns]
        assert ours.primary_key == theirs.primary_key
        assert set(ours.foreign_keys) == set(theirs.foreign_keys), ours.name
        assert ours.row_count == theirs.row_count


def test_schema_is_cached_until_it_changes(
    pg_loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _admin(pg_loaded.server) as admin:
        admin.execute("DROP DATABASE IF EXISTS scratch")
        admin.execute("CREATE DATABASE scratch")
    with _admin(pg_loaded.server, "scratch") as admin:
        admin.execute("CREATE TABLE first (id INT PRIMARY KEY)")
        database = urls.open_database("scratch", pg_loaded.server.url("scratch"))
        try:
            first = database.schema()
            assert first.table_names == ["first"]
            assert database.schema() is first  # within the check interval: no query at all
            monkeypatch.setattr(pooled, "SCHEMA_CHECK_SECONDS", 0.0)
            assert database.schema() is first  # fingerprint unchanged: the same object
            admin.execute("CREATE TABLE second (id INT PRIMARY KEY, name TEXT)")
            changed = database.schema()
            assert changed is not first and changed.table_names == ["first", "second"]
            admin.execute("ALTER TABLE second DROP COLUMN name")
            altered = database.schema().table("second")
            assert altered is not None and [c.name for c in altered.columns] == ["id"]
        finally:
            database.close()


# -- parity with SQLite through the whole pipeline -----------------------------------------------


@pytest.mark.parametrize("question", SEED_QUESTIONS)
def test_seed_questions_give_the_same_rows(services: Services, question: str) -> None:
    lite = _ask(services, question, "retail")
    pg = _ask(services, question, "retail_postgres")
    assert pg["columns"] == lite["columns"]
    assert pg["row_count"] == lite["row_count"] > 0
    assert_same_rows(pg["rows"], lite["rows"])
    assert "STRFTIME" not in pg["sql"].upper()  # rendered for PostgreSQL


def test_offline_questions_give_the_same_rows(services: Services) -> None:
    checked = assert_parity(services, "_postgres")
    print(f"\n{checked} questions gave equal rows on SQLite and PostgreSQL")


# -- values and results -------------------------------------------------------------------------


def test_values_come_back_as_sqlite_would_give_them(services: Services) -> None:
    database = _pg(services, "retail")
    result = database.execute(
        "SELECT CAST(2.50 AS NUMERIC(5, 2)), SUM(quantity), AVG(quantity), SUM(order_item_id), "
        "DATE '2024-02-29', TIMESTAMP '2024-02-29 13:45:00', TIME '13:45:00', "
        "'\\xff00'::bytea, convert_to('caf\u00e9', 'UTF8'), NULL, quantity > 0, "
        "'{\"a\": 1}'::jsonb FROM order_items WHERE order_item_id <= 2 GROUP BY quantity "
        "ORDER BY quantity LIMIT 1",
        10,
    )
    decimal, total, average, big_sum, day, moment, clock, raw, text, nothing, flag, doc = (
        result.rows[0]
    )
    assert decimal == 2.5 and isinstance(decimal, float)
    assert isinstance(total, int) and isinstance(big_sum, int) and isinstance(average, float)
    assert (day, moment, clock) == ("2024-02-29", "2024-02-29 13:45:00", "13:45:00")
    assert (raw, text, nothing, flag, doc) == ("ff00", "caf\u00e9", None, 1, '{"a": 1}')
    json.dumps(result.to_dict())  # every value is JSON-ready


def test_a_huge_result_is_never_fetched_whole(services: Services) -> None:
    database = _pg(services, "retail")
    started = time.perf_counter()
    # 32 billion rows: a client-side cursor would try to fetch them all.
    result = database.execute("SELECT a.order_item_id FROM order_items a, order_items b", 10)
    assert result.truncated and result.row_count == 10
    assert time.perf_counter() - started < 10
    assert database.execute("SELECT COUNT(*) FROM orders", 5).rows == [[60000]]
    assert data.run(database, "EXPLAIN SELECT * FROM orders", 5).rows  # not a cursor query


def test_distinct_values_most_frequent_first(services: Services) -> None:
    mine = _pg(services, "retail").distinct_values("orders", "status", 10)
    assert mine == services.registry.get("retail").distinct_values("orders", "status", 10)


# -- read-only, in depth -------------------------------------------------------------------------


def test_writes_are_refused_by_the_read_only_transaction_and_role(
    pg_loaded: Loaded, services: Services
) -> None:
    reader = _pg(services, "retail")
    sneaky = "INSERT INTO regions (region_id, region_name) VALUES (99, 'Atlantis')"
    with pytest.raises(UnsafeSql):
        data.run(reader, sneaky, 10)  # wall 1: safety
    with pytest.raises(QueryFailed, match="read-only"):
        reader.execute(sneaky, 10)  # walls 2 and 3, past safety
    # The transaction alone stops a superuser...
    admin = urls.open_database("retail_admin", pg_loaded.server.url("retail", admin=True))
    try:
        for sql in (sneaky, "DROP TABLE payments", "SELECT nextval('x')", "TRUNCATE payments"):
            with pytest.raises(QueryFailed):
                admin.execute(sql, 10)
        with pytest.raises(QueryFailed, match="read-only"):
            admin.execute("CREATE TABLE stolen AS SELECT * FROM customers", 10)
    finally:
        admin.close()
    # ...and the role alone stops a write outside any read-only transaction.
    with (
        psycopg.connect(pg_loaded.server.url("retail"), autocommit=True) as raw,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        raw.execute("INSERT INTO regions VALUES (99, 'Atlantis')")
    assert reader.execute("SELECT COUNT(*) FROM regions", 5).rows == [[4]]


def test_a_slow_query_is_stopped_by_the_time_limit(pg_loaded: Loaded) -> None:
    params = urls.parse_postgres_url(pg_loaded.server.url("retail"))
    database = PostgresDatabase("slow", params, timeout=0.5, pool_size=1)
    try:
        started = time.perf_counter()
        with pytest.raises(QueryFailed, match="longer than 0.5 s") as stopped:
            database.execute("SELECT COUNT(*) FROM order_items a, order_items b", 10)
        assert time.perf_counter() - started < 10
        assert stopped.value.data["sqlstate"] == "57014"
        assert database.execute("SELECT 1", 1).rows == [[1]]  # the session is still usable
        assert database.server_version.startswith(("1", "2"))
    finally:
        database.close()


# -- connections ---------------------------------------------------------------------------------


def test_an_unreachable_server_gives_an_error_a_person_can_act_on() -> None:
    port = free_port()
    database = urls.open_database("gone", f"postgresql://reader:pw@127.0.0.1:{port}/retail")
    with pytest.raises(DatabaseUnavailable) as caught:
        database.schema()
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "Is the server running" in caught.value.message
    assert "pw" not in database.url


def test_wrong_password_and_unknown_database_are_explained(pg_loaded: Loaded) -> None:
    port = pg_loaded.server.port
    wrong = urls.open_database("w", f"postgres://nlsql_reader:nope@127.0.0.1:{port}/retail")
    with pytest.raises(DatabaseUnavailable, match="refused user 'nlsql_reader'"):
        wrong.execute("SELECT 1", 1)
    missing = urls.open_database("m", pg_loaded.server.url("no_such_db"))
    with pytest.raises(DatabaseUnavailable, match="no database 'no_such_db'"):
        missing.execute("SELECT 1", 1)
    tls = urls.open_database("t", pg_loaded.server.url("retail") + "?sslmode=require")
    with pytest.raises(DatabaseUnavailable, match="TLS handshake.*sslmode=disable"):
        tls.execute("SELECT 1", 1)


def test_big_tables_keep_the_planner_estimate(
    pg_loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres, "EXACT_COUNT_BELOW", 10_000)
    database = urls.open_database("estimated", pg_loaded.server.url("retail"))
    try:
        schema = database.schema()
        regions, items = schema.table("regions"), schema.table("order_items")
        assert regions is not None and regions.row_count == 4  # counted
        assert items is not None and items.row_count is not None
        assert abs(items.row_count - 180_512) < 180_512 * 0.05  # `reltuples`, after ANALYZE
    finally:
        database.close()


def test_a_server_that_drops_the_query_is_reported_as_lost(pg_loaded: Loaded) -> None:
    import threading

    params = urls.parse_postgres_url(pg_loaded.server.url("retail"))
    database = PostgresDatabase("dropped", params, timeout=300, pool_size=1)
    caught: list[BaseException] = []

    def slow() -> None:
        try:
            database.execute("SELECT COUNT(*) FROM order_items a, order_items b", 1)
        except BaseException as exc:
            caught.append(exc)

    worker = threading.Thread(target=slow)
    worker.start()
    with _admin(pg_loaded.server) as admin:
        deadline = time.monotonic() + 30
        while worker.is_alive() and time.monotonic() < deadline:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE state = 'active' "
                "AND usename = 'nlsql_reader' AND query LIKE 'FETCH %'"
            ).fetchall()
            if killed:
                break
            time.sleep(0.05)
    worker.join(30)
    assert len(caught) == 1 and isinstance(caught[0], DatabaseUnavailable), caught
    assert "Lost the connection" in caught[0].message and params.address in caught[0].message
    assert database.execute("SELECT 1", 1).rows == [[1]]  # a new connection replaces it
    database.close()


def test_the_pool_shares_few_connections_and_replaces_dead_ones(
    pg_loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    params = urls.parse_postgres_url(pg_loaded.server.url("retail"))
    database = PostgresDatabase("pooled", params, pool_size=2)
    results: list[Any] = []

    def work() -> None:
        for _ in range(5):
            results.append(database.execute("SELECT COUNT(*) FROM regions", 5).rows)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [[[4]]] * 30
    assert database._pool.idle() <= 2
    with _admin(pg_loaded.server) as admin:
        for ping_after in (0.0, 3600.0):  # found dead by the ping, or by the first statement
            monkeypatch.setattr(pooled, "PING_AFTER_SECONDS", ping_after)
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = 'nlsql_reader' AND application_name = 'nlsql'"
            )
            time.sleep(0.1)
            assert database.execute("SELECT COUNT(*) FROM regions", 5).rows == [[4]]
    database.close()


# -- URLs, the CLI, cancellation ----------------------------------------------------------------


def test_urls() -> None:
    plain = urls.parse_postgres_url("postgresql://me:p%40ss@db.example/shop")
    assert (plain.user, plain.password, plain.host, plain.port) == (
        "me",
        "p@ss",
        "db.example",
        5432,
    )
    assert (
        plain.sslmode == "prefer" and plain.public_url() == "postgresql://me@db.example:5432/shop"
    )
    assert urls.parse_postgres_url("postgres://u@h/db?ssl=false").sslmode == "disable"
    pinned = urls.parse_postgres_url("postgres://u@h/db?ssl_ca=/etc/ca.pem")
    assert (pinned.sslmode, pinned.sslrootcert) == ("verify-ca", "/etc/ca.pem")
    full = urls.parse_postgres_url("postgresql://u@h/db?sslmode=verify-full&connect_timeout=3")
    assert full.sslmode == "verify-full" and full.connect_timeout == 3
    assert "sslmode=verify-full" in full.public_url()
    schema = urls.parse_postgres_url("postgres://u@h/db?options=-c%20search_path%3Dsales")
    assert schema.options == "-c search_path=sales"
    assert urls.parse_postgres_url(schema.public_url()).options == schema.options
    assert urls.name_from_url("postgresql://u@h:5433/shop") == "shop"
    assert urls.redact("postgres://me:secret@h/db") == "postgres://me:***@h/db"
    urls.check_url("postgresql+psycopg://u@h/db?options=-csearch_path%3Dsales")
    with pytest.raises(urls.InvalidParams, match="sslmode"):
        urls.parse_postgres_url("postgresql://u@h/db?sslmode=sometimes")
    with pytest.raises(urls.InvalidParams, match="Unknown URL option 'sslcert'"):
        urls.check_url("postgresql://u@h/db?sslcert=x")
    with pytest.raises(DatabaseUnavailable, match="names no database"):
        urls.open_database("x", "postgresql://u@h:5432/")


def test_a_search_path_in_the_url_picks_the_schema(pg_loaded: Loaded) -> None:
    with _admin(pg_loaded.server, "finance") as admin:
        admin.execute("CREATE SCHEMA IF NOT EXISTS sales")
        admin.execute("CREATE TABLE IF NOT EXISTS sales.deals (deal_id INT PRIMARY KEY)")
    url = pg_loaded.server.url("finance") + "?options=-csearch_path%3Dsales"
    database = urls.open_database("sales", url)
    try:
        assert database.schema().table_names == ["deals"]
        assert database.execute("SELECT COUNT(*) FROM deals", 1).rows == [[0]]
    finally:
        database.close()


def test_cli_sql_runs_one_checked_statement(pg_loaded: Loaded) -> None:
    env = {"NLSQL_DATABASES": str(pg_loaded.config)}
    table = _nlsql("sql", "--db", "retail_postgres", "SELECT COUNT(*) AS n FROM orders", env=env)
    assert table.returncode == 0, table.stderr
    assert "60000" in table.stdout and "(1 rows)" in table.stdout
    by_url = _nlsql(
        "sql", "--db", pg_loaded.server.url("finance"), "--format", "json",
        "SELECT status, COUNT(*) AS n FROM invoices GROUP BY status ORDER BY status",
    )  # fmt: skip
    assert by_url.returncode == 0, by_url.stderr
    answer = json.loads(by_url.stdout)
    assert answer["columns"] == ["status", "n"] and answer["row_count"] == len(answer["rows"]) > 1
    refused = _nlsql("sql", "--db", "retail_postgres", "DELETE FROM orders", env=env)
    assert refused.returncode == 1 and "read-only" in refused.stderr


def test_a_client_that_goes_away_stops_its_postgres_query(
    pg_loaded: Loaded, data_dir: Path
) -> None:
    settings = Settings(data_dir=data_dir, databases_file=pg_loaded.config, query_timeout=300)
    marker = "order_items a, order_items b, order_items c"
    admin = _admin(pg_loaded.server)

    def running() -> bool:
        # A server-side cursor's query runs as `FETCH`: any the reader runs is ours.
        found = admin.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND usename = 'nlsql_reader' AND (query LIKE %s OR query LIKE 'FETCH %%')",
            (f"%{marker}%",),
        ).fetchone()
        return bool(found and found[0])

    def wait_until(condition: Any, what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.05)

    request = {"jsonrpc": "2.0", "id": 1, "method": "sql.run"}
    request["params"] = {
        "database": "retail_postgres",
        "sql": f"SELECT COUNT(*) FROM {marker}",
        "confirm": True,  # a cartesian join: it would wait for confirmation
    }
    with admin, ServerThread(create_app(settings)) as server:
        with connect(server.url.replace("http://", "ws://") + "/ws") as ws:
            ws.send(json.dumps(request))
            wait_until(running, "the slow query never reached PostgreSQL")
        wait_until(lambda: not running(), "the cancel request never reached PostgreSQL")


def test_a_large_result_as_arrow_holds_what_json_holds(services: Services) -> None:
    from nlsql_server import tools

    sql = (
        "SELECT order_id, CAST(order_date AS DATE) AS day, "
        "CAST(order_id / 7.0 AS NUMERIC(12, 2)) AS amount FROM orders ORDER BY order_id LIMIT 6000"
    )
    as_arrow = asyncio.run(tools.run_sql(services, "retail_postgres", sql, arrow=True))
    as_rows = asyncio.run(tools.run_sql(services, "retail_postgres", sql))
    table = as_arrow["arrow"].table  # read from the server-side cursor, in batches
    assert [str(t) for t in table.schema.types] == ["int64", "string", "double"]
    rows = [list(row.values()) for row in table.to_pylist()]
    assert rows == as_rows["rows"] and len(rows) == 6000 and as_arrow["rows"] == []
    assert as_arrow["column_types"] == as_rows["column_types"] == ["integer", "date", "number"]


def test_the_plan_is_read_before_a_query_runs(services: Services) -> None:
    assert_plans_are_read(services, "retail_postgres")
