"""Read-only safety in depth, on a real SQLite file, a real DuckDB file and real MariaDB and
PostgreSQL servers.

DuckDB gets its own corpus too (`HOSTILE_DUCKDB`: file, network and settings functions), refused
by the check and, run past it, by the engine's locked-down read-only connection.
The MariaDB time limit and schema cache are tested in tests/test_mysql.py.

The hostile corpus (tests/hostile_sql.py) goes through the same door every caller uses,
`agents.data.run`. On MariaDB it runs as the *admin* user, so that nothing but the safety module
and the read-only transaction stand between it and the data: DDL would even commit implicitly.
Each database's checksum must be the same afterwards. On PostgreSQL, the shared corpus and
PostgreSQL's own run as a superuser; the statements the read-only transaction should stop by
itself (`STOPPED_BY_POSTGRES`) also run past the safety check.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
from hostile_sql import (
    ALLOWED,
    ALLOWED_DUCKDB,
    ALLOWED_MYSQL,
    ALLOWED_POSTGRES,
    ALLOWED_SQLITE,
    HOSTILE,
    HOSTILE_DUCKDB,
    HOSTILE_POSTGRES,
    ROLLED_BACK_BY_POSTGRES,
    STOPPED_BY_POSTGRES,
)
from nlsql_server.agents import data
from nlsql_server.databases import safety, urls
from nlsql_server.databases.base import Database
from nlsql_server.databases.duck import DuckdbDatabase, materialize
from nlsql_server.databases.sqlite import SqliteDatabase
from nlsql_server.exceptions import QueryFailed, UnsafeSql
from nlsql_server.settings import Settings
from services import ADMIN, MariaDB, PostgreSQL

SCHEMA = (
    "CREATE TABLE customers (customer_id INTEGER PRIMARY KEY, name VARCHAR(40), country CHAR(2))",
    "CREATE TABLE orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER, "
    "total DECIMAL(10, 2), status VARCHAR(12))",
)
ROWS = (
    "INSERT INTO customers VALUES (1, 'Ada', 'DE'), (2, 'Grace', 'US'), (3, 'Linus', 'FI')",
    "INSERT INTO orders VALUES (1, 1, 12.50, 'paid'), (2, 1, 99.00, 'refunded'), "
    "(3, 2, 5.25, 'paid'), (4, 3, 42.00, 'paid')",
)
#: Files the corpus tries to create; none may exist afterwards.
FILE_TARGETS = (
    "/tmp/nlsql-stolen.csv",
    "/tmp/nlsql-stolen.bin",
    "/tmp/nlsql-evil.db",
    "/tmp/nlsql-copy.db",
    "/tmp/nlsql-x",
)


def _refused(database: Database, statements: tuple[str, ...]) -> list[str]:
    """The statements that were *not* refused by the safety check (should be none)."""
    escaped = []
    for sql in statements:
        try:
            data.run(database, sql, 100)
        except UnsafeSql:
            continue
        except Exception as exc:  # refused later, by the database: the first wall missed it
            escaped.append(f"{sql!r} reached the database ({type(exc).__name__}: {exc})")
        else:
            escaped.append(f"{sql!r} ran")
    return escaped


def _files_created() -> list[str]:
    return [p for p in FILE_TARGETS if Path(p).exists()]


def test_the_corpus_is_large_and_varied() -> None:
    assert len(HOSTILE) >= 100
    assert len(set(HOSTILE)) == len(HOSTILE)
    reasons = set()
    for sql in HOSTILE:
        with pytest.raises(UnsafeSql) as refused:
            safety.check(sql, "mysql")
        reasons.add(refused.value.data["reason"])
    assert {"write", "not_read_only", "multiple_statements", "comment", "file_access"} <= reasons
    assert {"function", "lock", "session", "system_schema"} <= reasons


def test_postgres_corpus_is_refused_for_what_it_does() -> None:
    reasons = {}
    for sql in HOSTILE_POSTGRES:
        with pytest.raises(UnsafeSql) as refused:
            safety.check(sql, "postgres")
        reasons[sql] = refused.value.data["reason"]
    assert reasons["SELECT pg_catalog.pg_sleep(10)"] == "function"
    assert reasons["SELECT nextval('orders_seq')"] == "function"
    assert reasons["SELECT pg_try_advisory_lock(1)"] == "function"
    assert reasons["SELECT * FROM orders FOR NO KEY UPDATE"] == "lock"
    assert reasons["WITH d AS (DELETE FROM orders RETURNING *) SELECT COUNT(*) FROM d"] == "write"
    assert reasons["SELECT * INTO TEMP stolen FROM customers"] == "write"
    assert reasons["SELECT rolname, rolpassword FROM pg_catalog.pg_authid"] == "system_schema"
    assert reasons["COPY customers TO PROGRAM 'touch /tmp/nlsql-x'"] == "not_read_only"
    for sql in ALLOWED_POSTGRES:
        assert safety.check(sql, "postgres") is not None, sql


@pytest.mark.parametrize(
    ("sql", "reason", "words"),
    [
        ("WITH x AS (SELECT 1) DELETE FROM orders", "not_read_only", "found DELETE"),
        ("SELECT 1; DROP TABLE orders", "multiple_statements", "one statement"),
        ("SELECT * FROM t INTO OUTFILE '/tmp/x'", "file_access", "OUTFILE"),
        ("SELECT LOAD_FILE('/etc/passwd')", "function", "LOAD_FILE"),
        ("SELECT SLEEP(10)", "function", "SLEEP"),
        ("SELECT 1 /*!50000 , SLEEP(5) */", "comment", "Executable comments"),
        ("SELECT * FROM orders FOR UPDATE", "lock", "Locking reads"),
        ("ATTACH '/tmp/x.db' AS x", "not_read_only", "ATTACH statements are not allowed"),
        ("PRAGMA query_only = 0", "not_read_only", "PRAGMA statements are not allowed"),
        ("SET autocommit = 0", "not_read_only", "SET statements are not allowed"),
        ("CALL p()", "not_read_only", "CALL statements are not allowed"),
        ("START TRANSACTION", "not_read_only", "START statements are not allowed"),
        ("SELECT * FROM mysql.user", "system_schema", "mysql"),
        ("EXPLAIN QUERY PLAN DELETE FROM orders", "not_read_only", "DELETE"),
    ],
)
def test_each_refusal_says_why(sql: str, reason: str, words: str) -> None:
    with pytest.raises(UnsafeSql, match=words) as refused:
        safety.check(sql, "sqlite" if "PLAN" in sql else "mysql")
    assert refused.value.data["reason"] == reason
    assert refused.value.to_dict()["code"] == "unsafe_sql"


def test_reads_with_scary_words_in_strings_and_names_pass() -> None:
    for sql in ALLOWED:
        for dialect in ("sqlite", "mysql"):
            assert safety.check(sql, dialect) is not None, sql


# -- SQLite ------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_db(tmp_path: Path) -> SqliteDatabase:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        for sql in SCHEMA + ROWS:
            conn.execute(sql)
    conn.close()
    return SqliteDatabase("shop", path, timeout=0.5)


def _sqlite_checksum(db: SqliteDatabase) -> str:
    return hashlib.sha256(db.path.read_bytes()).hexdigest()


def test_sqlite_refuses_the_whole_corpus_and_nothing_changes(sqlite_db: SqliteDatabase) -> None:
    before = _sqlite_checksum(sqlite_db)
    assert _refused(sqlite_db, HOSTILE) == []
    assert _sqlite_checksum(sqlite_db) == before
    assert _files_created() == []
    assert sorted(p.name for p in sqlite_db.path.parent.iterdir()) == ["shop.db"]


def test_sqlite_checksum_sees_a_real_write(sqlite_db: SqliteDatabase) -> None:
    """The checksum is not blind: one row written by another client changes it."""
    before = _sqlite_checksum(sqlite_db)
    with sqlite3.connect(sqlite_db.path) as conn:
        conn.execute("UPDATE customers SET name = 'Eve' WHERE customer_id = 1")
    conn.close()
    assert _sqlite_checksum(sqlite_db) != before


def test_sqlite_runs_reads_explain_and_introspection(sqlite_db: SqliteDatabase) -> None:
    for sql in ALLOWED + ALLOWED_SQLITE:
        result = data.run(sqlite_db, sql, 100)
        assert result.columns, sql
    plan = data.run(sqlite_db, ALLOWED_SQLITE[0], 100)
    assert any("orders" in str(cell) for row in plan.rows for cell in row)


def test_sqlite_file_refuses_writes_past_the_safety_check(sqlite_db: SqliteDatabase) -> None:
    """Walls two and three: `mode=ro` and `query_only` hold even when the check is skipped."""
    for sql in ("DELETE FROM orders", "CREATE TABLE t (a)", "UPDATE customers SET name = 'x'"):
        with pytest.raises(QueryFailed, match="readonly|read-only|attempt to write"):
            sqlite_db.execute(sql, 10)
    assert data.run(sqlite_db, "SELECT COUNT(*) FROM orders", 5).rows == [[4]]


def test_row_limit_marks_the_answer_truncated(sqlite_db: SqliteDatabase) -> None:
    result = data.run(sqlite_db, "SELECT * FROM orders ORDER BY order_id", 3)
    assert result.truncated and [r[0] for r in result.rows] == [1, 2, 3]
    whole = data.run(sqlite_db, "SELECT * FROM orders", 4)
    assert not whole.truncated and whole.row_count == 4


def test_sqlite_time_limit_stops_a_runaway_query(sqlite_db: SqliteDatabase) -> None:
    forever = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT COUNT(*) FROM n"
    )
    with pytest.raises(QueryFailed, match="longer than 0.5 s"):
        data.run(sqlite_db, forever, 10)
    assert data.run(sqlite_db, "SELECT 1", 1).rows == [[1]]


def test_sqlite_schema_is_cached_until_the_schema_changes(sqlite_db: SqliteDatabase) -> None:
    first = sqlite_db.schema()
    assert sqlite_db.schema() is first  # no second catalog read
    with sqlite3.connect(sqlite_db.path) as conn:
        conn.execute("ALTER TABLE customers ADD COLUMN email TEXT")
    conn.close()
    changed = sqlite_db.schema()
    assert changed is not first
    customers = changed.table("customers")
    assert customers is not None and customers.column("email") is not None


def test_sqlite_schema_cache_sees_changes_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    writer = sqlite3.connect(path)
    writer.execute("PRAGMA journal_mode = wal")
    writer.execute("CREATE TABLE a (x INTEGER)")
    writer.commit()
    db = SqliteDatabase("wal", path)
    assert db.schema().table_names == ["a"]
    writer.execute("CREATE TABLE b (y INTEGER)")
    writer.commit()  # lands in the -wal file; the main file is untouched until a checkpoint
    assert db.schema().table_names == ["a", "b"]
    writer.close()


# -- DuckDB ------------------------------------------------------------------------------------


@pytest.fixture
def duck_db(tmp_path: Path) -> Iterator[DuckdbDatabase]:
    """The same shop as a DuckDB file, plus a folder of files (a CSV) served as tables."""
    import duckdb

    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as conn:
        for sql in SCHEMA + ROWS:
            conn.execute(sql)
        conn.execute("COPY customers TO '" + str(tmp_path / "customers.csv") + "' (HEADER)")
    database = DuckdbDatabase("shop", path, timeout=0.5)
    yield database
    database.close()


def _folder_checksum(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_duckdb_corpus_is_refused_by_the_check() -> None:
    escaped = []
    for sql in HOSTILE + HOSTILE_DUCKDB:
        try:
            safety.check(sql, "duckdb")
        except UnsafeSql:
            continue
        escaped.append(sql)
    assert escaped == []
    for sql in ALLOWED + ALLOWED_DUCKDB:
        assert safety.check(sql.replace("`", '"'), "duckdb") is not None, sql


def test_duckdb_refuses_the_whole_corpus_and_nothing_changes(duck_db: DuckdbDatabase) -> None:
    folder = duck_db.path.parent
    before = _folder_checksum(folder)
    assert _refused(duck_db, HOSTILE + HOSTILE_DUCKDB) == []
    assert _folder_checksum(folder) == before
    assert _files_created() == []


def test_duckdb_engine_holds_past_the_check(duck_db: DuckdbDatabase) -> None:
    """Run straight at the engine, skipping the check: no file is read, written or attached,
    no setting changes, nothing is written, and /etc/passwd never comes back."""
    folder = duck_db.path.parent
    before = _folder_checksum(folder)
    for sql in HOSTILE_DUCKDB + HOSTILE:
        try:
            result = duck_db.execute(sql, 100)
        except QueryFailed:
            continue
        assert "root:" not in repr(result.rows), sql
    assert _folder_checksum(folder) == before
    assert _files_created() == []
    assert duck_db.execute("SELECT COUNT(*) FROM orders", 5).rows == [[4]]
    assert data.run(duck_db, "SELECT current_database()", 1).rows == [["shop"]]


def test_duckdb_files_as_tables_need_no_file_access(
    tmp_path: Path, duck_db: DuckdbDatabase
) -> None:
    built = materialize({"customers": "customers.csv"}, tmp_path, tmp_path / "cache")
    files = DuckdbDatabase("files", built, timeout=0.5)
    try:
        assert files.execute("SELECT COUNT(*) FROM customers", 5).rows == [[3]]
        with pytest.raises(QueryFailed, match="outside the database"):
            files.execute(f"SELECT * FROM read_csv('{tmp_path / 'customers.csv'}')", 5)
    finally:
        files.close()


def test_duckdb_runs_reads_and_stops_a_runaway_query(duck_db: DuckdbDatabase) -> None:
    for sql in ALLOWED + ALLOWED_DUCKDB:
        assert data.run(duck_db, sql.replace("`", '"'), 100).columns, sql
    with pytest.raises(QueryFailed, match="longer than 0.5 s"):
        data.run(duck_db, "SELECT COUNT(*) FROM range(1000000000000) a", 10)
    assert data.run(duck_db, "SELECT 1", 1).rows == [[1]]


# -- MariaDB -----------------------------------------------------------------------------------

HOSTILE_DB = "nlsql_hostile"


def _admin(mariadb: MariaDB) -> Any:
    return pymysql.connect(
        host="127.0.0.1",
        port=mariadb.port,
        user=ADMIN[0],
        password=ADMIN[1],
        autocommit=True,
    )


@pytest.fixture(scope="module")
def maria(mariadb: MariaDB) -> Iterator[Database]:
    conn = _admin(mariadb)
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {HOSTILE_DB}")
        cursor.execute(f"CREATE DATABASE {HOSTILE_DB}")
        cursor.execute(f"USE {HOSTILE_DB}")
        for sql in SCHEMA + ROWS:
            cursor.execute(sql)
    conn.close()
    # Admin, not the SELECT-only reader: only the safety check and the transaction protect it.
    database = urls.open_database(
        "hostile",
        mariadb.url(HOSTILE_DB, admin=True),
        settings=Settings(query_timeout=1.0, samples=False),
    )
    yield database
    database.close()


def _maria_checksum(mariadb: MariaDB) -> tuple[Any, ...]:
    conn = _admin(mariadb)
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT GROUP_CONCAT(CONCAT(TABLE_NAME, ':', TABLE_TYPE) ORDER BY TABLE_NAME) "
            "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
            (HOSTILE_DB,),
        )
        tables = cursor.fetchone()
        cursor.execute(f"CHECKSUM TABLE {HOSTILE_DB}.customers, {HOSTILE_DB}.orders EXTENDED")
        sums = cursor.fetchall()
        cursor.execute(
            "SELECT (SELECT COUNT(*) FROM information_schema.ROUTINES), "
            "(SELECT COUNT(*) FROM information_schema.TRIGGERS), "
            "(SELECT COUNT(*) FROM mysql.user), "
            "(SELECT COUNT(*) FROM information_schema.SCHEMATA), @@global.read_only"
        )
        server = cursor.fetchone()
    conn.close()
    return tables, sums, server


def test_mariadb_refuses_the_whole_corpus_and_nothing_changes(
    maria: Database, mariadb: MariaDB
) -> None:
    before = _maria_checksum(mariadb)
    assert _refused(maria, HOSTILE) == []
    assert _maria_checksum(mariadb) == before
    assert _files_created() == []


def test_mariadb_checksum_sees_a_real_write(maria: Database, mariadb: MariaDB) -> None:
    before = _maria_checksum(mariadb)
    conn = _admin(mariadb)
    with conn.cursor() as cursor:
        cursor.execute(f"UPDATE {HOSTILE_DB}.orders SET total = total + 1 WHERE order_id = 1")
        changed = _maria_checksum(mariadb)
        cursor.execute(f"UPDATE {HOSTILE_DB}.orders SET total = total - 1 WHERE order_id = 1")
    conn.close()
    assert changed != before
    assert _maria_checksum(mariadb) == before


def test_mariadb_runs_reads_explain_and_introspection(maria: Database) -> None:
    for sql in ALLOWED + ALLOWED_MYSQL:
        assert data.run(maria, sql, 100).columns, sql
    tables = data.run(maria, "SHOW TABLES", 10).rows
    assert sorted(r[0] for r in tables) == ["customers", "orders"]


# -- PostgreSQL --------------------------------------------------------------------------------

PG_SETUP = (
    "CREATE SEQUENCE orders_seq",
    "CREATE PROCEDURE do_evil() LANGUAGE sql AS $$ DELETE FROM orders $$",
)


@pytest.fixture(scope="module")
def pg(postgres: PostgreSQL) -> Iterator[Database]:
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {HOSTILE_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {HOSTILE_DB}")
    with psycopg.connect(postgres.url(HOSTILE_DB, admin=True), autocommit=True) as conn:
        for sql in SCHEMA + ROWS + PG_SETUP:
            conn.execute(sql)
    # The superuser: only the safety check and the transaction protect the data.
    database = urls.open_database(
        "hostile",
        postgres.url(HOSTILE_DB, admin=True),
        settings=Settings(query_timeout=1.0, samples=False),
    )
    yield database
    database.close()


def _pg_checksum(postgres: PostgreSQL) -> tuple[Any, ...]:
    with psycopg.connect(postgres.url(HOSTILE_DB, admin=True), autocommit=True) as conn:
        rows = [
            conn.execute(
                f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)) FROM {t} t"
            ).fetchone()
            for t in ("customers", "orders")
        ]
        catalog = conn.execute(
            "SELECT (SELECT string_agg(concat_ws(':', relname, relkind, relnatts), ',' "
            "ORDER BY relname) FROM pg_class WHERE relnamespace = 'public'::regnamespace), "
            "(SELECT last_value::text || is_called::text FROM orders_seq), "
            "(SELECT COUNT(*) FROM pg_largeobject_metadata), "
            "(SELECT COUNT(*) FROM pg_extension), (SELECT COUNT(*) FROM pg_roles), "
            "(SELECT COUNT(*) FROM pg_database), "
            "(SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'), "
            "obj_description('orders'::regclass, 'pg_class')"
        ).fetchone()
    return tuple(rows), catalog


def test_postgres_refuses_both_corpora_and_nothing_changes(
    pg: Database, postgres: PostgreSQL
) -> None:
    before = _pg_checksum(postgres)
    assert len(HOSTILE_POSTGRES) >= 60 and len(set(HOSTILE_POSTGRES)) == len(HOSTILE_POSTGRES)
    assert _refused(pg, HOSTILE + HOSTILE_POSTGRES) == []
    assert _pg_checksum(postgres) == before
    assert _files_created() == []
    print(f"\n{len(HOSTILE) + len(HOSTILE_POSTGRES)} hostile statements refused on PostgreSQL")


def test_postgres_read_only_transaction_stops_them_past_the_safety_check(
    pg: Database, postgres: PostgreSQL
) -> None:
    before = _pg_checksum(postgres)
    ran = []
    for sql in STOPPED_BY_POSTGRES + ROLLED_BACK_BY_POSTGRES:
        try:
            pg.execute(sql, 10)  # as the superuser, past `safety`
        except QueryFailed:
            continue
        ran.append(sql)
    assert ran == list(ROLLED_BACK_BY_POSTGRES)  # and they leave nothing behind:
    assert _pg_checksum(postgres) == before
    assert _files_created() == []
    assert pg.execute("SELECT COUNT(*) FROM orders", 1).rows == [[4]]  # the pool is healthy
    print(
        f"\n{len(STOPPED_BY_POSTGRES)} statements stopped by the read-only transaction, "
        f"{len(ROLLED_BACK_BY_POSTGRES)} undone by its rollback"
    )


def test_postgres_checksum_sees_a_real_write(pg: Database, postgres: PostgreSQL) -> None:
    before = _pg_checksum(postgres)
    with psycopg.connect(postgres.url(HOSTILE_DB, admin=True), autocommit=True) as conn:
        conn.execute("SELECT nextval('orders_seq')")
        changed = _pg_checksum(postgres)
        conn.execute("SELECT setval('orders_seq', 1, false)")
    assert changed != before
    assert _pg_checksum(postgres) == before


def test_postgres_runs_reads_explain_and_introspection(pg: Database) -> None:
    for sql in [s for s in ALLOWED if "`" not in s] + list(ALLOWED_POSTGRES):
        assert data.run(pg, sql, 100).columns, sql
