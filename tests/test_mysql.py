"""The MySQL backend against a real MariaDB: samples loaded, same answers as SQLite, read-only.

The session's MariaDB (`mariadb` fixture, tests/services.py) gets both samples through the real
`nlsql samples load` command, then a databases file serves them as `retail_mysql` and
`finance_mysql` through the reader user (SELECT only) next to the SQLite samples.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest
from conftest import ServerThread
from nlsql_server.agents import data
from nlsql_server.app import create_app
from nlsql_server.databases import pooled, urls
from nlsql_server.databases.base import DatabaseSchema
from nlsql_server.databases.mysql import MysqlDatabase
from nlsql_server.databases.registry import Registry
from nlsql_server.exceptions import (
    DatabaseUnavailable,
    InvalidParams,
    QueryFailed,
    UnsafeSql,
)
from nlsql_server.services import Services
from nlsql_server.settings import Settings
from parity import ask as _ask
from parity import assert_parity, assert_same_rows
from preflight_cases import assert_plans_are_read
from services import MariaDB, PostgreSQL, free_port
from websockets.sync.client import connect

SEED_QUESTIONS = (
    "Show me the top 5 customers by total purchase amount",
    "What is the average order value per month for 2024?",
)
SAMPLES = ("retail", "finance")


def _nlsql(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> Any:
    return subprocess.run(
        [sys.executable, "-m", "nlsql_server", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | (env or {}),
        check=False,
    )


@dataclass(frozen=True)
class Loaded:
    server: MariaDB | PostgreSQL
    config: Path
    load_seconds: float


def load_samples(server: MariaDB | PostgreSQL, suffix: str, folder: Path) -> Loaded:
    """Both samples loaded into `server` by `nlsql samples load`, and a databases file in
    `folder` serving them as `<sample>_<suffix>`."""
    started = time.perf_counter()
    done = _nlsql("samples", "load", "--url", server.admin_url)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    config = folder / "databases.toml"
    config.write_text(
        "".join(
            f'[databases.{name}_{suffix}]\nurl = "{server.url(name)}"\nsample = "{name}"\n\n'
            for name in SAMPLES
        )
    )
    label = type(server).__name__
    print(f"\n{label} started in {server.started_in:.2f} s; samples loaded in {seconds:.1f} s")
    return Loaded(server, config, seconds)


@pytest.fixture(scope="session")
def loaded(mariadb: MariaDB, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """Both samples loaded by `nlsql samples load`, and a databases file serving them."""
    return load_samples(mariadb, "mysql", tmp_path_factory.mktemp("config"))


@pytest.fixture(scope="module")
def services(loaded: Loaded, data_dir: Path) -> Iterator[Services]:
    built = Services.from_settings(Settings(data_dir=data_dir, databases_file=loaded.config))
    yield built
    built.close()


def _mysql(services: Services, sample: str) -> MysqlDatabase:
    database = services.registry.get(f"{sample}_mysql")
    assert isinstance(database, MysqlDatabase)
    return database


# -- loading and schema -------------------------------------------------------------------------


def test_samples_load_reports_and_skips_when_up_to_date(loaded: Loaded) -> None:
    again = _nlsql("samples", "load", "--url", loaded.server.admin_url)
    assert again.returncode == 0, again.stderr
    assert "retail -> retail: 8 tables" in again.stdout
    assert again.stdout.count("up to date") == 2
    assert "[databases.retail_mysql]" in again.stdout
    assert "admin-secret" not in again.stdout  # the snippet never repeats a password


def test_samples_load_refuses_a_database_holding_other_tables(loaded: Loaded) -> None:
    admin = pymysql.connect(
        host="127.0.0.1", port=loaded.server.port, user="nlsql_admin", password="admin-secret"
    )
    with admin, admin.cursor() as cursor:
        cursor.execute("CREATE DATABASE IF NOT EXISTS mine_finance")
        cursor.execute("CREATE TABLE IF NOT EXISTS mine_finance.precious (id INT PRIMARY KEY)")
    refused = _nlsql(
        "samples",
        "load",
        "--url",
        loaded.server.admin_url,
        "--prefix",
        "mine_",
        "--sample",
        "finance",
    )
    assert refused.returncode == 1
    assert "precious" in refused.stderr and "--replace" in refused.stderr
    replaced = _nlsql(
        "samples", "load", "--url", loaded.server.admin_url, "--prefix", "mine_",
        "--sample", "finance", "--replace",
    )  # fmt: skip
    assert replaced.returncode == 0, replaced.stderr
    assert "finance -> mine_finance: 6 tables" in replaced.stdout
    assert "mine_finance: 100%|" in replaced.stderr  # the progress bar, finished


@pytest.mark.parametrize("sample", SAMPLES)
def test_schema_matches_sqlite(services: Services, sample: str) -> None:
    lite, my = services.registry.get(sample).schema(), _mysql(services, sample).schema()
    assert my.table_names == lite.table_names
    for ours, theirs in zip(my.tables, lite.tables):
        assert [c.name for c in ours.columns] == [c.name for c in theirs.columns]
        assert [c.kind for c in ours.columns] == [c.kind for c in theirs.columns], ours.name
        assert [c.nullable for c in ours.columns] == [c.nullable for c in theirs.columns]
        assert ours.primary_key == theirs.primary_key
        assert set(ours.foreign_keys) == set(theirs.foreign_keys), ours.name
        assert ours.row_count == theirs.row_count


def test_schema_is_cached_until_it_changes(loaded: Loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = pymysql.connect(
        host="127.0.0.1", port=loaded.server.port, user="nlsql_admin", password="admin-secret"
    )
    with admin, admin.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS scratch")
        cursor.execute("CREATE DATABASE scratch")
        cursor.execute("CREATE TABLE scratch.first (id INT PRIMARY KEY)")
        database = urls.open_database("scratch", loaded.server.url("scratch"))
        try:
            first = database.schema()
            assert first.table_names == ["first"]
            assert database.schema() is first  # within the check interval: no query at all
            monkeypatch.setattr(pooled, "SCHEMA_CHECK_SECONDS", 0.0)
            assert database.schema() is first  # fingerprint unchanged: the same object
            cursor.execute("CREATE TABLE scratch.second (id INT PRIMARY KEY, name TEXT)")
            changed = database.schema()
            assert changed is not first and changed.table_names == ["first", "second"]
        finally:
            database.close()


# -- parity with SQLite through the whole pipeline -----------------------------------------------


@pytest.mark.parametrize("question", SEED_QUESTIONS)
def test_seed_questions_give_the_same_rows(services: Services, question: str) -> None:
    lite = _ask(services, question, "retail")
    my = _ask(services, question, "retail_mysql")
    assert my["columns"] == lite["columns"]
    assert my["row_count"] == lite["row_count"] > 0
    assert_same_rows(my["rows"], lite["rows"])
    assert "DATE_FORMAT" in my["sql"] or "LIMIT" in my["sql"]  # rendered for MySQL


def test_offline_questions_give_the_same_rows(services: Services) -> None:
    checked = assert_parity(services, "_mysql")
    print(f"\n{checked} questions gave equal rows on SQLite and MariaDB")


# -- values --------------------------------------------------------------------------------------


def test_values_come_back_as_sqlite_would_give_them(services: Services) -> None:
    database = _mysql(services, "retail")
    result = database.execute(
        "SELECT CAST(2.50 AS DECIMAL(5, 2)), SUM(quantity), AVG(quantity), "
        "CAST('2024-02-29' AS DATE), CAST('2024-02-29 13:45:00' AS DATETIME), "
        "CAST('13:45:00' AS TIME), x'ff00', CAST('caf\u00e9' AS BINARY), NULL "
        "FROM order_items WHERE order_item_id <= 2",
        10,
    )
    decimal, total, average, day, moment, clock, raw, text, nothing = result.rows[0]
    assert decimal == 2.5 and isinstance(decimal, float)
    assert isinstance(total, int) and isinstance(average, float)
    assert (day, moment, clock) == ("2024-02-29", "2024-02-29 13:45:00", "13:45:00")
    assert (raw, text, nothing) == ("ff00", "caf\u00e9", None)
    json.dumps(result.to_dict())  # every value is JSON-ready


def test_a_truncated_result_leaves_the_pool_healthy(services: Services) -> None:
    database = _mysql(services, "retail")
    result = database.execute("SELECT * FROM order_items", 10)
    assert result.truncated and result.row_count == 10
    assert database.execute("SELECT COUNT(*) FROM orders", 5).rows == [[60000]]


def test_distinct_values_most_frequent_first(services: Services) -> None:
    mine = _mysql(services, "retail").distinct_values("orders", "status", 10)
    assert mine == services.registry.get("retail").distinct_values("orders", "status", 10)


# -- read-only, in depth -------------------------------------------------------------------------


def test_writes_are_refused_by_the_read_only_transaction_and_user(
    loaded: Loaded, services: Services
) -> None:
    reader = _mysql(services, "retail")
    sneaky = "INSERT INTO regions (region_id, region_name) VALUES (99, 'Atlantis')"
    with pytest.raises(UnsafeSql):
        data.run(reader, sneaky, 10)  # wall 1: safety
    with pytest.raises(QueryFailed, match="read-only"):
        reader.execute(sneaky, 10)  # walls 2 and 3, past safety
    # The transaction alone stops a user who could write...
    admin = urls.open_database("retail_admin", loaded.server.url("retail", admin=True))
    try:
        with pytest.raises(QueryFailed, match="read-only"):
            admin.execute(sneaky, 10)
        with pytest.raises(QueryFailed):
            admin.execute("DROP TABLE payments", 10)
    finally:
        admin.close()
    # ...and the user alone stops a write outside any read-only transaction.
    raw = pymysql.connect(
        host="127.0.0.1", port=loaded.server.port, user="nlsql_reader", password="reader-secret"
    )
    with raw, raw.cursor() as cursor, pytest.raises(pymysql.err.OperationalError) as denied:
        cursor.execute("INSERT INTO retail.regions VALUES (99, 'Atlantis')")
    assert denied.value.args[0] == 1142  # INSERT command denied
    assert reader.execute("SELECT COUNT(*) FROM regions", 5).rows == [[4]]


def test_a_slow_query_is_stopped_by_the_time_limit(loaded: Loaded) -> None:
    database = MysqlDatabase(
        "slow", urls.parse_mysql_url(loaded.server.url("retail")), timeout=0.5, pool_size=1
    )
    try:
        started = time.perf_counter()
        with pytest.raises(QueryFailed, match="longer than 0.5 s") as stopped:
            database.execute("SELECT COUNT(*) FROM order_items a, order_items b", 10)
        assert time.perf_counter() - started < 10
        assert stopped.value.data["mysql_code"] == 1969
        assert database.flavour == "mariadb"
        assert database.execute("SELECT 1", 1).rows == [[1]]  # the session is still usable
    finally:
        database.close()


# -- connections ---------------------------------------------------------------------------------


def test_an_unreachable_server_gives_an_error_a_person_can_act_on() -> None:
    port = free_port()
    database = urls.open_database("gone", f"mysql://reader:pw@127.0.0.1:{port}/retail")
    with pytest.raises(DatabaseUnavailable) as caught:
        database.schema()
    assert f"127.0.0.1:{port}" in caught.value.message
    assert "Is the server running" in caught.value.message
    assert "pw" not in database.url


def test_wrong_password_and_unknown_database_are_explained(loaded: Loaded) -> None:
    port = loaded.server.port
    wrong = urls.open_database("w", f"mysql://nlsql_reader:nope@127.0.0.1:{port}/retail")
    with pytest.raises(DatabaseUnavailable, match="refused user 'nlsql_reader'"):
        wrong.execute("SELECT 1", 1)
    missing = urls.open_database("m", loaded.server.url("no_such_db"))
    with pytest.raises(DatabaseUnavailable, match="no database 'no_such_db'"):
        missing.execute("SELECT 1", 1)


def test_the_pool_shares_few_connections_and_replaces_dead_ones(
    loaded: Loaded, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = MysqlDatabase(
        "pooled", urls.parse_mysql_url(loaded.server.url("retail")), pool_size=2
    )
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
    admin = pymysql.connect(
        host="127.0.0.1", port=loaded.server.port, user="nlsql_admin", password="admin-secret"
    )
    with admin, admin.cursor() as cursor:
        for ping_after in (0.0, 3600.0):  # found dead by the ping, or by the first statement
            monkeypatch.setattr(pooled, "PING_AFTER_SECONDS", ping_after)
            cursor.execute(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'nlsql_reader'"
            )
            for (thread_id,) in cursor.fetchall():
                cursor.execute(f"KILL {int(thread_id)}")
            assert database.execute("SELECT COUNT(*) FROM regions", 5).rows == [[4]]
    database.close()


# -- URLs and the databases file -----------------------------------------------------------------


def test_urls() -> None:
    plain = urls.parse_mysql_url("mysql://me:p%40ss@db.example:3307/shop")
    assert (plain.user, plain.password, plain.host, plain.port) == (
        "me",
        "p@ss",
        "db.example",
        3307,
    )
    assert plain.database == "shop" and not plain.tls and plain.ssl_context() is None
    assert plain.public_url() == "mysql://me@db.example:3307/shop"
    tidb = urls.parse_mysql_url("tidb://u.root:pw@gateway01.tidbcloud.com/test")
    assert tidb.port == 4000 and tidb.tls and tidb.verify_cert and tidb.verify_identity
    context = tidb.ssl_context()
    assert context is not None and context.check_hostname
    local = urls.parse_mysql_url("tidb://root@127.0.0.1:4000/test?ssl=false")
    assert not local.tls
    pinned = urls.parse_mysql_url("mysql://u@h/db?ssl_ca=/etc/ssl/certs/ca-certificates.crt")
    assert pinned.tls and pinned.verify_cert and not pinned.verify_identity
    with pytest.raises(
        InvalidParams, match="sqlite:///, duckdb://, mysql://, tidb:// or postgresql://"
    ):
        urls.open_database("x", "mssql://u@h/db")
    with pytest.raises(InvalidParams, match="ssl_cert"):
        urls.parse_mysql_url("mysql://u@h/db?ssl_cert=x")
    assert urls.redact("mysql://me:secret@h/db") == "mysql://me:***@h/db"
    assert urls.sqlite_path("sqlite:///data/x.db", Path("/srv")) == Path("/srv/data/x.db")
    assert urls.sqlite_path("sqlite:////abs/x.db") == Path("/abs/x.db")
    with pytest.raises(DatabaseUnavailable, match="names no database"):
        urls.open_database("x", "mysql://u@h:3306/")


def test_databases_file(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from nlsql_server.samples import ensure_sample

    ensure_sample("finance", data_dir)
    monkeypatch.setenv("SHOP_PASSWORD", "s3cret")
    (tmp_path / "shop.toml").write_text('dialect = "mysql"\n')
    config = tmp_path / "databases.toml"
    config.write_text(
        '[databases.shop]\nurl = "mysql://reader:${SHOP_PASSWORD}@db.internal/shop"\n'
        'description = "The web shop"\nglossary = "shop.toml"\n\n'
        f'[databases.books]\nurl = "sqlite:///{data_dir / "finance.sqlite"}"\n'
        'sample = "finance"\n'
    )
    monkeypatch.setenv("NLSQL_DATABASES", str(config))
    registry = Registry(Settings(data_dir=data_dir))
    assert registry.names() == ["shop", "books", "retail", "finance"]
    assert registry.default_name() == "shop"
    shop = registry.get("shop")
    assert isinstance(shop, MysqlDatabase) and shop.params.password == "s3cret"
    assert "s3cret" not in shop.url and shop.description == "The web shop"
    books = registry.get("books")
    assert books.dialect == "sqlite" and isinstance(books.schema(), DatabaseSchema)
    assert registry.glossary("books").terms  # the finance sample's glossary
    assert Registry(Settings(data_dir=data_dir, samples=False)).names() == ["shop", "books"]
    config.write_text('[databases.bad]\nurl = "mysql://u:${NOT_SET_ANYWHERE}@h/db"\n')
    with pytest.raises(InvalidParams, match="NOT_SET_ANYWHERE"):
        Registry(Settings(data_dir=data_dir))
    yaml_config = tmp_path / "databases.yaml"
    yaml_config.write_text("databases:\n  shop:\n    url: mysql://u@h/db\n")
    try:
        import yaml  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        with pytest.raises(InvalidParams, match="PyYAML"):
            Registry(Settings(data_dir=data_dir, databases_file=yaml_config))
    else:
        assert "shop" in Registry(Settings(data_dir=data_dir, databases_file=yaml_config)).names()


# -- the CLI -------------------------------------------------------------------------------------


def test_cli_sql_runs_one_checked_statement(loaded: Loaded) -> None:
    env = {"NLSQL_DATABASES": str(loaded.config)}
    table = _nlsql("sql", "--db", "retail_mysql", "SELECT COUNT(*) AS n FROM orders", env=env)
    assert table.returncode == 0, table.stderr
    assert "60000" in table.stdout and "(1 rows)" in table.stdout
    by_url = _nlsql(
        "sql", "--db", loaded.server.url("finance"), "--format", "json",
        "SELECT status, COUNT(*) AS n FROM invoices GROUP BY status ORDER BY status",
    )  # fmt: skip
    assert by_url.returncode == 0, by_url.stderr
    answer = json.loads(by_url.stdout)
    assert answer["columns"] == ["status", "n"] and answer["row_count"] == len(answer["rows"]) > 1
    refused = _nlsql("sql", "--db", "retail_mysql", "DELETE FROM orders", env=env)
    assert refused.returncode == 1 and "read-only" in refused.stderr


def test_a_client_that_goes_away_stops_its_mysql_query(loaded: Loaded, data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir, databases_file=loaded.config, query_timeout=300)
    marker = "order_items a, order_items b, order_items c"
    admin = pymysql.connect(
        host="127.0.0.1", port=loaded.server.port, user="nlsql_admin", password="admin-secret"
    )

    def running() -> bool:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                "WHERE INFO LIKE %s AND INFO NOT LIKE '%%PROCESSLIST%%'",
                (f"%{marker}%",),
            )
            return bool(cursor.fetchone()[0])

    def wait_until(condition: Any, what: str) -> None:
        deadline = time.monotonic() + 30
        while not condition():
            assert time.monotonic() < deadline, what
            time.sleep(0.05)

    request = {"jsonrpc": "2.0", "id": 1, "method": "sql.run"}
    request["params"] = {
        "database": "retail_mysql",
        "sql": f"SELECT COUNT(*) FROM {marker}",
        "confirm": True,  # a cartesian join: it would wait for confirmation
    }
    with admin, ServerThread(create_app(settings)) as server:
        with connect(server.url.replace("http://", "ws://") + "/ws") as ws:
            ws.send(json.dumps(request))
            wait_until(running, "the slow query never reached MariaDB")
        # The old server left it running on MariaDB until its time limit (here 300 s).
        wait_until(lambda: not running(), "KILL QUERY never reached MariaDB")


def test_a_large_result_as_arrow_holds_what_json_holds(services: Services) -> None:
    from nlsql_server import tools

    sql = (
        "SELECT order_id, CAST(order_date AS DATE) AS day, "
        "CAST(order_id / 7 AS DECIMAL(12, 2)) AS amount FROM orders ORDER BY order_id LIMIT 6000"
    )
    as_arrow = asyncio.run(tools.run_sql(services, "retail_mysql", sql, arrow=True))
    as_rows = asyncio.run(tools.run_sql(services, "retail_mysql", sql))
    table = as_arrow["arrow"].table  # read from the unbuffered cursor 65,536 rows at a time
    assert [str(t) for t in table.schema.types] == ["int64", "string", "double"]
    rows = [list(row.values()) for row in table.to_pylist()]
    assert rows == as_rows["rows"] and len(rows) == 6000 and as_arrow["rows"] == []
    assert as_arrow["column_types"] == as_rows["column_types"] == ["integer", "date", "number"]


def test_the_plan_is_read_before_a_query_runs(services: Services) -> None:
    assert_plans_are_read(services, "retail_mysql")
