"""Copy the sample databases into a MySQL, MariaDB, TiDB or PostgreSQL server (`nlsql samples load`).

PostgreSQL has its own DDL and COPY in `load_postgres`; the plan (skip, load or refuse), the
progress bar and the config snippet are shared.

The DDL is the SQLite schema transpiled by sqlglot, with the types MySQL needs: TEXT that is a
key, unique or indexed becomes VARCHAR(255) (MySQL cannot index TEXT whole), REAL is DOUBLE,
DATE stays DATE; primary keys, unique keys, foreign keys and indexes are kept. Databases use
`utf8mb4_bin`, SQLite's own (binary) comparison, so that the same question gives the same rows
on both. Rows go in as batched multi-row INSERTs (what pymysql's `executemany` would send,
formatted by a faster encoder) while a thread sends the previous batch; the samples load side by
side, each on its own connection, under one progress bar.

Each table carries the comment `nlsql sample <name> v<version>` once it is complete: loading
again skips a database that is up to date, reloads one from another version or an interrupted
load, and refuses to touch a database holding other tables unless `replace` is given.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import pymysql
import sqlglot
from pymysql.constants.SERVER_STATUS import SERVER_STATUS_NO_BACKSLASH_ESCAPES
from sqlglot import exp
from tqdm import tqdm

from ..databases.mysql import MysqlParams, connect
from ..databases.postgres import PostgresParams
from ..databases.urls import parse_mysql_url, parse_postgres_url, scheme_of
from ..exceptions import InvalidParams, QueryFailed
from . import SAMPLE_NAMES, ensure_sample

#: Rows per INSERT statement and per commit (statements near 200 KB, TiDB transactions small).
BATCH_ROWS = 4_000
_COMMENT = "nlsql sample {name} v{version}"
LOADING = " (loading)"
INT32 = (-(2**31), 2**31 - 1)


@dataclass(frozen=True)
class LoadedSample:
    """What `load_samples` did with one sample."""

    sample: str
    database: str
    tables: int
    rows: int
    seconds: float
    skipped: bool = False


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "''")


def sqlite_quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class SqliteTable:
    name: str
    create_sql: str
    columns: tuple[str, ...]
    rows: int


def _sqlite_tables(conn: sqlite3.Connection) -> list[SqliteTable]:
    tables = []
    for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
    ):
        columns = tuple(r[1] for r in conn.execute(f"PRAGMA table_info({sqlite_quote(name)})"))
        (rows,) = conn.execute(f"SELECT COUNT(*) FROM {sqlite_quote(name)}").fetchone()
        tables.append(SqliteTable(name, sql, columns, rows))
    return tables


def _keyed_columns(conn: sqlite3.Connection, table: str) -> set[str]:
    """Columns MySQL must index: in a primary key, a unique key, an index or a foreign key."""
    keyed = {r[1] for r in conn.execute(f"PRAGMA table_info({sqlite_quote(table)})") if r[5]}
    for index in conn.execute(f"PRAGMA index_list({sqlite_quote(table)})"):
        keyed.update(r[2] for r in conn.execute(f"PRAGMA index_info({sqlite_quote(index[1])})"))
    keyed.update(r[3] for r in conn.execute(f"PRAGMA foreign_key_list({sqlite_quote(table)})"))
    for other in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        for fk in conn.execute(f"PRAGMA foreign_key_list({sqlite_quote(other[0])})"):
            if fk[2] == table and fk[4]:
                keyed.add(fk[4])
    keyed.discard(None)  # type: ignore[arg-type]
    return keyed


def _mysql_type(
    conn: sqlite3.Connection, table: str, column: str, kind: exp.DataType | None, keyed: bool
) -> exp.DataType | None:
    """The MySQL type for one column, or None to keep what sqlglot made of the SQLite type."""
    col, tbl = sqlite_quote(column), sqlite_quote(table)
    if kind is None or kind.this in (exp.DataType.Type.TEXT, exp.DataType.Type.UNKNOWN):
        if not keyed:
            return exp.DataType.build("TEXT")
        (longest,) = conn.execute(f"SELECT MAX(LENGTH({col})) FROM {tbl}").fetchone()
        return exp.DataType.build(f"VARCHAR({max(255, longest or 0)})", dialect="mysql")
    if kind.this in (exp.DataType.Type.VARBINARY, exp.DataType.Type.BLOB) and not kind.expressions:
        return exp.DataType.build("LONGBLOB", dialect="mysql")
    if kind.this == exp.DataType.Type.INT:
        low, high = conn.execute(f"SELECT MIN({col}), MAX({col}) FROM {tbl}").fetchone()
        if (low is not None and low < INT32[0]) or (high is not None and high > INT32[1]):
            return exp.DataType.build("BIGINT")
    return None


def mysql_ddl(conn: sqlite3.Connection, table: SqliteTable, comment: str) -> str:
    """``CREATE TABLE`` for MySQL, transpiled from the SQLite table's own DDL."""
    tree = sqlglot.parse_one(table.create_sql, read="sqlite")
    keyed = _keyed_columns(conn, table.name)
    for column in tree.find_all(exp.ColumnDef):
        kind = column.args.get("kind")
        replacement = _mysql_type(conn, table.name, column.name, kind, column.name in keyed)
        if replacement is not None:
            column.set("kind", replacement)
    return f"{tree.sql(dialect='mysql', identify=True)} COMMENT='{_escape(comment)}'"


def mysql_indexes(conn: sqlite3.Connection, table: str) -> list[str]:
    """The table's explicit ``CREATE INDEX`` statements, transpiled to MySQL."""
    statements = []
    for (sql,) in conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
        (table,),
    ):
        tree = sqlglot.parse_one(sql, read="sqlite")
        tree.set("exists", False)
        statements.append(tree.sql(dialect="mysql", identify=True))
    return statements


def _existing(cursor: Any, database: str) -> dict[str, str] | None:
    """Tables of `database` → their comment, or None when the database does not exist."""
    cursor.execute(
        "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,)
    )
    if not cursor.fetchone()[0]:
        return None
    cursor.execute(
        "SELECT TABLE_NAME, TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
        (database,),
    )
    return {name: comment for name, comment in cursor.fetchall()}


@dataclass(frozen=True)
class SamplePlan:
    """One sample to copy: decided (skip, load, or refuse) before any loading starts."""

    sample: str
    database: str
    path: Path
    comment: str
    tables: tuple[SqliteTable, ...]
    skip: bool

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


def plan_sample(
    existing: dict[str, str] | None,
    address: str,
    sample: str,
    database: str,
    data_dir: Path,
    replace: bool,
) -> SamplePlan:
    """What to do with one sample, given the tables → comments of its target (None: no database)."""
    path = ensure_sample(sample, data_dir)
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as source:
        (version,) = source.execute("PRAGMA user_version").fetchone()
        tables = tuple(_sqlite_tables(source))
    comment = _COMMENT.format(name=sample, version=version)
    skip = False
    if existing is not None and not replace:
        foreign = sorted(n for n, c in existing.items() if not c.startswith("nlsql sample "))
        if foreign:
            raise InvalidParams(
                f"The database {database!r} on {address} already holds tables that "
                f"are not the {sample} sample ({', '.join(foreign[:5])}): choose another "
                "--prefix, or pass --replace to drop and reload it.",
                database=database,
            )
        skip = set(existing) == {t.name for t in tables} and set(existing.values()) == {comment}
    return SamplePlan(sample, database, path, comment, tables, skip)


def _load_one(params: MysqlParams, plan: SamplePlan, bar: tqdm) -> LoadedSample:
    """Drop, create and fill one database on a connection of its own."""
    started = time.perf_counter()
    try:
        with (
            closing(connect(params, database="")) as server,
            closing(sqlite3.connect(f"{plan.path.resolve().as_uri()}?mode=ro", uri=True)) as source,
        ):
            cursor = server.cursor()
            cursor.execute(f"DROP DATABASE IF EXISTS {_quote(plan.database)}")
            cursor.execute(
                f"CREATE DATABASE {_quote(plan.database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            )
            cursor.execute(f"USE {_quote(plan.database)}")
            cursor.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            for table in plan.tables:
                cursor.execute(mysql_ddl(source, table, plan.comment + LOADING))
                for statement in mysql_indexes(source, table.name):
                    cursor.execute(statement)
                _copy_rows(source, server, table, bar)
            for table in plan.tables:  # complete: mark every table with the sample's version
                cursor.execute(
                    f"ALTER TABLE {_quote(table.name)} COMMENT = '{_escape(plan.comment)}'"
                )
            server.commit()
    except pymysql.MySQLError as exc:
        message = exc.args[1] if len(exc.args) > 1 else str(exc)
        raise QueryFailed(
            f"Loading {plan.sample} into {plan.database!r} on {params.address} failed: {message}",
            database=plan.database,
        ) from exc
    seconds = time.perf_counter() - started
    return LoadedSample(plan.sample, plan.database, len(plan.tables), plan.rows, seconds)


_BACKSLASH_ESCAPES = str.maketrans(
    {0: "\\0", 10: "\\n", 13: "\\r", 26: "\\Z", 39: "\\'", 34: '\\"', 92: "\\\\"}
)
_QUOTE_ONLY = str.maketrans({39: "''"})


def literal_encoder(no_backslash_escapes: bool = False) -> Callable[[Any], str]:
    """A function writing one SQLite value as a MySQL literal.

    pymysql's generic escaping took two thirds of the load time; SQLite hands us only int,
    float, str, bytes and None, so a five-way switch does the job in about half the time.
    """
    table = _QUOTE_ONLY if no_backslash_escapes else _BACKSLASH_ESCAPES

    def literal(value: Any) -> str:
        kind = type(value)
        if kind is int:
            return str(value)
        if kind is str:
            return "'" + value.translate(table) + "'"
        if kind is float:
            if not math.isfinite(value):
                return "NULL"
            return repr(value)
        if value is None:
            return "NULL"
        if kind is bytes:
            return "X'" + value.hex() + "'"
        return "'" + str(value).translate(table) + "'"

    return literal


def _copy_rows(
    source: sqlite3.Connection,
    server: pymysql.Connection[Any],
    table: SqliteTable,
    bar: tqdm,
) -> None:
    """Multi-row INSERTs of `BATCH_ROWS` rows, formatted here while a thread sends the last."""
    literal = literal_encoder(bool(server.server_status & SERVER_STATUS_NO_BACKSLASH_ESCAPES))
    head = (
        f"INSERT INTO {_quote(table.name)} ({', '.join(_quote(c) for c in table.columns)}) VALUES "
    )
    select = f"SELECT {', '.join(sqlite_quote(c) for c in table.columns)} FROM "
    rows = source.execute(select + sqlite_quote(table.name) + " ORDER BY rowid")
    batches: queue.Queue[tuple[str, int] | None] = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def send() -> None:
        cursor = server.cursor()
        while (item := batches.get()) is not None:
            if failure:
                continue  # keep draining so the producer never blocks
            try:
                cursor.execute(item[0])
                server.commit()
                bar.update(item[1])
                bar.set_postfix_str(table.name, refresh=False)
            except BaseException as exc:  # handed to the producer thread, re-raised there
                failure.append(exc)

    sender = threading.Thread(target=send, name=f"load-{table.name}", daemon=True)
    sender.start()
    try:
        while (batch := rows.fetchmany(BATCH_ROWS)) and not failure:
            values = ",".join(["(" + ",".join(map(literal, row)) + ")" for row in batch])
            batches.put((head + values, len(batch)))
    finally:
        batches.put(None)
        sender.join()
    if failure:
        raise failure[0]


def load_samples(
    url: str,
    *,
    data_dir: Path,
    prefix: str = "",
    names: Sequence[str] = SAMPLE_NAMES,
    replace: bool = False,
    progress: TextIO | None = sys.stderr,
) -> list[LoadedSample]:
    """Load the samples into the server at `url` as databases `<prefix><name>`, side by side.

    `url` names a server (`mysql://root@127.0.0.1:3306/`, `postgresql://postgres@host/postgres`);
    its user needs to create databases.
    Nothing is loaded unless every sample can be: raises `DatabaseUnavailable` when the server
    cannot be reached, `InvalidParams` when a database of that name holds other tables,
    `QueryFailed` when the server refuses a statement.
    """
    load_one: Callable[[SamplePlan, tqdm], LoadedSample]
    if scheme_of(url) == "postgresql":
        from . import load_postgres

        pg = parse_postgres_url(url)
        plans = load_postgres.plans(pg, names, prefix, data_dir, replace)
        load_one = functools.partial(load_postgres.load_one, pg)
    else:
        params = parse_mysql_url(url)
        with closing(connect(params, database="")) as server, server.cursor() as cursor:
            plans = [
                plan_sample(
                    _existing(cursor, f"{prefix}{sample}"),
                    params.address,
                    sample,
                    f"{prefix}{sample}",
                    data_dir,
                    replace,
                )
                for sample in names
            ]
        load_one = functools.partial(_load_one, params)
    todo = [plan for plan in plans if not plan.skip]
    done: dict[str, LoadedSample] = {
        plan.sample: LoadedSample(
            plan.sample, plan.database, len(plan.tables), plan.rows, 0.0, skipped=True
        )
        for plan in plans
        if plan.skip
    }
    if todo:
        started = time.perf_counter()
        label = ", ".join(f"{p.sample} -> {p.database}" for p in todo)
        # tqdm's update() is thread-safe: the samples load side by side into one bar.
        bar = tqdm(
            total=sum(p.rows for p in todo),
            desc=label,
            unit=" rows",
            unit_scale=True,
            file=progress,
            disable=progress is None,
            mininterval=0.1,
        )
        with ThreadPoolExecutor(max_workers=len(todo), thread_name_prefix="load") as pool:
            futures = [pool.submit(load_one, plan, bar) for plan in todo]
            try:
                for future in futures:
                    loaded = future.result()
                    done[loaded.sample] = loaded
            finally:
                bar.set_postfix_str(f"in {time.perf_counter() - started:.1f} s")
                bar.close()
    return [done[plan.sample] for plan in plans]


def config_snippet(url: str, loaded: Sequence[LoadedSample]) -> str:
    """Lines for a databases file (`NLSQL_DATABASES`) that serve the loaded samples."""
    params: MysqlParams | PostgresParams
    lines = ["# Serve them: add to your databases file (NLSQL_DATABASES), ideally with a user"]
    if scheme_of(url) == "postgresql":
        params, scheme = parse_postgres_url(url), "postgres"
        lines.append("# that may only read, e.g. GRANT pg_read_all_data TO reader.")
    else:
        params = parse_mysql_url(url)
        scheme = params.scheme
        lines.append("# that may only SELECT, e.g. GRANT SELECT ON retail.* TO 'reader'@'%'.")
    for item in loaded:
        public = dataclasses.replace(params, database=item.database).public_url()
        lines += [
            "",
            f"[databases.{item.database}_{scheme}]",
            f'url = "{public}"',
            f'sample = "{item.sample}"',
        ]
    return "\n".join(lines)
