"""Copy the sample databases into a PostgreSQL server: one database per sample, tables in `public`.

The DDL is the SQLite schema transpiled by sqlglot, with REAL as DOUBLE PRECISION (SQLite's
REAL is a double; PostgreSQL's a single) and INTEGER as BIGINT where a value needs it; keys and
indexes are kept. Databases are created with the `C` collation, SQLite's own (binary)
comparison, so that the same question gives the same rows on both. Rows go in through
``COPY … FROM STDIN``; each table's comment (``COMMENT ON TABLE``) marks the sample's version
once it is complete, as on MySQL.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import psycopg
import sqlglot
from sqlglot import exp
from tqdm import tqdm

from ..databases.postgres import PostgresParams, connect
from ..exceptions import QueryFailed
from .load import (
    INT32,
    LOADING,
    LoadedSample,
    SamplePlan,
    SqliteTable,
    plan_sample,
    sqlite_quote,
)

#: Rows per progress-bar update.
_REPORT_EVERY = 5_000


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def postgres_ddl(conn: sqlite3.Connection, table: SqliteTable) -> tuple[str, list[str]]:
    """``CREATE TABLE`` for PostgreSQL, transpiled from the SQLite table's own DDL, and its
    foreign keys as ``ALTER TABLE`` statements: checked once after the rows are in, not row by
    row while they go in."""
    tree = sqlglot.parse_one(table.create_sql, read="sqlite")
    foreign_keys = []
    for key in list(tree.find_all(exp.ForeignKey)):
        foreign_keys.append(
            f"ALTER TABLE {_quote(table.name)} ADD {key.sql(dialect='postgres', identify=True)}"
        )
        key.pop()
    for column in tree.find_all(exp.ColumnDef):
        kind = column.args.get("kind")
        if kind is None or kind.this == exp.DataType.Type.UNKNOWN:
            column.set("kind", exp.DataType.build("TEXT"))
        elif kind.this in (exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE):
            column.set("kind", exp.DataType.build("DOUBLE PRECISION", dialect="postgres"))
        elif kind.this == exp.DataType.Type.INT:
            col, tbl = sqlite_quote(column.name), sqlite_quote(table.name)
            low, high = conn.execute(f"SELECT MIN({col}), MAX({col}) FROM {tbl}").fetchone()
            if (low is not None and low < INT32[0]) or (high is not None and high > INT32[1]):
                column.set("kind", exp.DataType.build("BIGINT"))
    return tree.sql(dialect="postgres", identify=True), foreign_keys


def postgres_indexes(conn: sqlite3.Connection, table: str) -> list[str]:
    """The table's explicit ``CREATE INDEX`` statements, transpiled to PostgreSQL."""
    return [
        sqlglot.parse_one(sql, read="sqlite").sql(dialect="postgres", identify=True)
        for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
            "AND sql IS NOT NULL",
            (table,),
        )
    ]


def _existing(params: PostgresParams, database: str) -> dict[str, str] | None:
    """Tables of `database` → their comment, or None when the database does not exist."""
    with closing(connect(params)) as server:
        found = server.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
        if found.fetchone() is None:
            return None
    with closing(connect(params, database=database)) as conn:
        rows = conn.execute(
            "SELECT c.relname, coalesce(obj_description(c.oid, 'pg_class'), '') "
            "FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        ).fetchall()
    return {name: comment for name, comment in rows}


def plans(
    params: PostgresParams, names: Sequence[str], prefix: str, data_dir: Path, replace: bool
) -> list[SamplePlan]:
    """One plan per sample: skip it (up to date), load it, or refuse (the database is not ours)."""
    return [
        plan_sample(
            _existing(params, prefix + sample),
            params.address,
            sample,
            prefix + sample,
            data_dir,
            replace,
        )
        for sample in names
    ]


def load_one(params: PostgresParams, plan: SamplePlan, bar: tqdm) -> LoadedSample:
    """Drop, create and fill one database on connections of its own."""
    started = time.perf_counter()
    name = _quote(plan.database)
    try:
        with closing(connect(params)) as server:
            server.autocommit = True  # CREATE DATABASE runs outside a transaction
            server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            server.execute(
                f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' "
                "LC_COLLATE 'C' LC_CTYPE 'C'"
            )
        with (
            closing(connect(params, database=plan.database)) as conn,
            closing(sqlite3.connect(f"{plan.path.resolve().as_uri()}?mode=ro", uri=True)) as source,
        ):
            foreign_keys: list[str] = []
            for table in plan.tables:
                create, keys = postgres_ddl(source, table)
                foreign_keys += keys
                conn.execute(create)
                conn.execute(
                    f"COMMENT ON TABLE {_quote(table.name)} IS {_literal(plan.comment + LOADING)}"
                )
                _copy_rows(source, conn, table, bar)
                for statement in postgres_indexes(source, table.name):
                    conn.execute(statement)
            for statement in foreign_keys:
                conn.execute(statement)
            for table in plan.tables:  # complete: mark every table with the sample's version
                conn.execute(f"COMMENT ON TABLE {_quote(table.name)} IS {_literal(plan.comment)}")
                conn.execute(f"ANALYZE {_quote(table.name)}")
            conn.commit()
    except psycopg.Error as exc:
        raise QueryFailed(
            f"Loading {plan.sample} into {plan.database!r} on {params.address} failed: {exc}",
            database=plan.database,
        ) from exc
    seconds = time.perf_counter() - started
    return LoadedSample(plan.sample, plan.database, len(plan.tables), plan.rows, seconds)


def _copy_rows(
    source: sqlite3.Connection, conn: psycopg.Connection[object], table: SqliteTable, bar: tqdm
) -> None:
    columns = ", ".join(_quote(c) for c in table.columns)
    select = f"SELECT {', '.join(sqlite_quote(c) for c in table.columns)} FROM "
    rows = source.execute(select + sqlite_quote(table.name) + " ORDER BY rowid")
    with conn.cursor().copy(f"COPY {_quote(table.name)} ({columns}) FROM STDIN") as copy:
        pending = 0
        for row in rows:
            copy.write_row(row)
            pending += 1
            if pending == _REPORT_EVERY:
                bar.update(pending)
                bar.set_postfix_str(table.name, refresh=False)
                pending = 0
        bar.update(pending)
