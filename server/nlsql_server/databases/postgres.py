"""PostgreSQL through psycopg 3: a small pool, read-only transactions, a time limit.

Every statement runs in ``BEGIN READ ONLY`` with ``SET LOCAL statement_timeout`` on a pooled
connection whose session defaults to read-only transactions too, and is rolled back afterwards.
Queries are read through a server-side cursor (``DECLARE … CURSOR``), so a result bigger than
the answer's caps is never sent whole; a cancelled request cancels its query (libpq's cancel
request). The `safety` module has already checked the statement; the read-only transaction and
a user with only ``SELECT`` grants (``GRANT pg_read_all_data``) are the second and third walls.

Values come back as SQLite would give them, so answers compare equal across backends: NUMERIC
becomes int (scale 0) or float, DATE/TIMESTAMP/TIME/INTERVAL the server's ISO text, booleans
0/1, BYTEA text (UTF-8) or hex, JSON/UUID text: psycopg loaders registered once for our
connections, not conversions after the fact. psycopg errors are translated here and nowhere else.

psycopg_pool is not used: its getconn() waits its whole timeout while a background worker
retries a server that is down, where a person asking a question should hear at once why the
connection failed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import psycopg
import psycopg.errors
from psycopg.adapt import AdaptersMap, Loader
from psycopg.pq import TransactionStatus
from psycopg.types.string import TextLoader

from ..exceptions import DatabaseUnavailable, NlsqlError, QueryFailed
from . import interrupt, plans
from .base import (
    Column,
    Database,
    DatabaseSchema,
    ForeignKey,
    QueryResult,
    ResultLimits,
    Table,
    fetch_bounded,
)
from .cost import Estimate
from .pooled import Pool, SchemaCache

log = logging.getLogger(__name__)

#: Tables estimated below this many rows are counted exactly; larger ones keep `reltuples`.
EXACT_COUNT_BELOW = 1_000_000

#: Statements a server-side cursor can hold; others (EXPLAIN, SHOW) run on a plain cursor.
_CURSOR_VERBS = re.compile(
    r"^\s*(?:(?:--[^\n]*\n|/\*.*?\*/)\s*)*\(*\s*(SELECT|WITH|VALUES|TABLE)\b",
    re.IGNORECASE | re.DOTALL,
)


@dataclass(frozen=True)
class PostgresParams:
    """Where and how to connect: parsed from a `postgresql://` URL by `urls`."""

    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str = ""
    database: str = ""
    sslmode: str = "prefer"
    sslrootcert: str | None = None
    connect_timeout: float = 10.0
    #: libpq `options`, e.g. ``-c search_path=sales``: the schema introspected is the first.
    options: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def public_url(self) -> str:
        """The URL without its password, safe to print and to send to clients."""
        query = {
            "sslmode": self.sslmode if self.sslmode != "prefer" else None,
            "sslrootcert": self.sslrootcert,
            "options": self.options,
        }
        given = {key: value for key, value in query.items() if value}
        tail = "?" + urlencode(given, safe="/") if given else ""
        return f"postgresql://{self.user}@{self.address}/{self.database}{tail}"

    def connect_kwargs(self, database: str | None = None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.database if database is None else database,
            "sslmode": self.sslmode,
            "connect_timeout": max(1, round(self.connect_timeout)),
            "application_name": "nlsql",
        }
        if self.sslrootcert:
            kwargs["sslrootcert"] = self.sslrootcert
        if self.options:
            kwargs["options"] = self.options
        return kwargs


class _NumberLoader(Loader):
    """NUMERIC as SQLite would give it: SUM of integers stays an int, everything else a float."""

    def load(self, data: Any) -> int | float | None:
        text = bytes(data).decode("ascii")
        if text == "NaN":
            return None
        return float(text) if ("." in text or "e" in text or "E" in text) else int(text)


class _BoolLoader(Loader):
    def load(self, data: Any) -> int:
        return 1 if bytes(data) == b"t" else 0


class _ByteaLoader(Loader):
    """Binary strings become UTF-8 text when they are, else hex (as the MySQL backend does)."""

    def load(self, data: Any) -> str:
        raw = bytes(data)
        value = bytes.fromhex(raw[2:].decode("ascii")) if raw.startswith(b"\\x") else raw
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()


#: The loaders of our connections (text format: server-side cursors fetch text).
ADAPTERS = AdaptersMap(psycopg.adapters)
ADAPTERS.register_loader("numeric", _NumberLoader)
ADAPTERS.register_loader("bool", _BoolLoader)
ADAPTERS.register_loader("bytea", _ByteaLoader)
for _type in (
    "date", "time", "timetz", "timestamp", "timestamptz", "interval",
    "json", "jsonb", "uuid", "inet", "cidr", "macaddr", "money",
):  # fmt: skip
    ADAPTERS.register_loader(_type, TextLoader)


def connection_error(exc: BaseException, params: PostgresParams) -> DatabaseUnavailable:
    """Why a connection could not be made, said so that a person knows what to change."""
    text = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
    where = f"PostgreSQL server at {params.address}"
    lowered = str(exc).lower()
    if "ssl" in lowered or "certificate" in lowered:
        message = (
            f"The TLS handshake with the {where} failed ({text}). Give the server's CA "
            "certificate with ?sslrootcert=/path/ca.pem, or add ?sslmode=disable for a server "
            "without TLS."
        )
    elif "password authentication failed" in lowered or "no password supplied" in lowered:
        message = (
            f"The {where} refused user {params.user!r} ({text}): check the user name and "
            "password in the URL."
        )
    elif "does not exist" in lowered and "database" in lowered:
        message = (
            f"The {where} has no database {params.database!r} ({text}): check the database "
            "name in the URL, or load the samples with `nlsql samples load`."
        )
    elif (
        "connection refused" in lowered
        or "could not translate host" in lowered
        or ("timeout" in lowered)
    ):
        message = (
            f"Cannot reach the {where} ({text}). Is the server running, and are the host and "
            "port in the URL right?"
        )
    else:
        message = f"Cannot connect to the {where}: {text}"
    sqlstate = getattr(exc, "sqlstate", None)
    return DatabaseUnavailable(message, address=params.address, sqlstate=sqlstate)


def connect(params: PostgresParams, *, database: str | None = None) -> psycopg.Connection[Any]:
    """A new connection (autocommit off, SQLite-like values); errors become ours."""
    try:
        return psycopg.connect(context=ADAPTERS, **params.connect_kwargs(database))
    except psycopg.Error as exc:
        raise connection_error(exc, params) from exc


class _PostgresConnections:
    """How the pool opens PostgreSQL connections: every transaction read-only."""

    def __init__(self, params: PostgresParams) -> None:
        self.params = params
        self.version = ""

    def open(self) -> psycopg.Connection[Any]:
        conn = connect(self.params)
        try:
            # Read-only by default: a transaction begun behind our back is read-only too.
            conn.execute("SET default_transaction_read_only = on")
            conn.commit()
            conn.read_only = True  # every transaction psycopg begins: BEGIN READ ONLY
        except psycopg.Error as exc:
            _close_quietly(conn)
            raise connection_error(exc, self.params) from exc
        self.version = conn.info.parameter_status("server_version") or ""
        return conn

    def alive(self, conn: psycopg.Connection[Any]) -> bool:
        if conn.closed:
            return False
        try:
            conn.execute("SELECT 1")
            conn.rollback()
            return True
        except psycopg.Error:
            return False

    def reusable(self, conn: psycopg.Connection[Any]) -> bool:
        return not conn.closed and conn.info.transaction_status == TransactionStatus.IDLE

    def close(self, conn: psycopg.Connection[Any]) -> None:
        _close_quietly(conn)


def _close_quietly(conn: psycopg.Connection[Any]) -> None:
    # Already closed, or the socket is gone: either way nothing is left to release.
    with contextlib.suppress(Exception):
        conn.close()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _cancel(conn: psycopg.Connection[Any], name: str) -> None:
    """Stop the statement `conn` runs (its request was cancelled): a libpq cancel request."""
    try:
        conn.cancel_safe(timeout=5.0)
    except (psycopg.Error, OSError) as exc:
        log.warning("could not stop a cancelled query on %s: %s", name, exc)


class _Checked:
    """A cursor that makes no further round trip once its request is cancelled: a cancel request
    that reaches the server between two statements (after DECLARE, before FETCH) is lost."""

    def __init__(self, cursor: psycopg.Cursor[Any]) -> None:
        self._cursor = cursor
        self.description = cursor.description

    def _check(self) -> None:
        if interrupt.cancelled():
            raise QueryFailed("The request was cancelled; its query stopped.")

    def fetchmany(self, size: int) -> list[Any]:
        self._check()
        return self._cursor.fetchmany(size)

    def fetchone(self) -> Any:
        self._check()
        return self._cursor.fetchone()


_LIST_RELATIONS = """
SELECT c.relname, c.relkind, c.reltuples
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND NOT c.relispartition
"""
_COLUMNS = """
SELECT c.relname, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""
_KEYS = """
SELECT c.relname, con.contype, a.attname, rc.relname, ra.attname
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, refnum, ord)
JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
LEFT JOIN pg_catalog.pg_attribute ra ON ra.attrelid = con.confrelid AND ra.attnum = k.refnum
WHERE n.nspname = current_schema() AND con.contype IN ('p', 'f')
ORDER BY c.relname, con.conname, k.ord
"""
#: Changes when a table is created, altered or dropped, a key changes, or rows are written.
_FINGERPRINT = """
SELECT md5(string_agg(c.oid::text || ':' || c.xmin::text || ':' || c.relname, ','
                      ORDER BY c.oid)),
  (SELECT count(*) FROM pg_catalog.pg_attribute a WHERE a.attrelid IN (
     SELECT c2.oid FROM pg_catalog.pg_class c2 WHERE c2.relnamespace = max(n.oid))
   AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT count(*) FROM pg_catalog.pg_constraint con
   WHERE con.connamespace = max(n.oid) AND con.contype IN ('p', 'f')),
  (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)
   FROM pg_catalog.pg_stat_user_tables WHERE schemaname = current_schema())
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
"""


class PostgresDatabase(Database):
    """A PostgreSQL database, read through a small pool of read-only sessions."""

    dialect = "postgres"

    def __init__(
        self,
        name: str,
        params: PostgresParams,
        description: str = "",
        *,
        timeout: float = 30.0,
        pool_size: int = 4,
        limits: ResultLimits | None = None,
    ) -> None:
        if not params.database:
            raise DatabaseUnavailable(
                f"The URL of {name!r} names no database: end it with /DATABASE, as in "
                f"postgresql://user:password@{params.address}/shop.",
                database=name,
            )
        super().__init__(name, params.public_url(), description, limits)
        self.params = params
        self.timeout = timeout
        self._connections = _PostgresConnections(params)
        self._pool = Pool(params.address, pool_size, timeout, self._connections)
        self._schema = SchemaCache(
            lambda: tuple(self._run(_FINGERPRINT, 1).rows[0]), self._read_schema
        )

    @property
    def server_version(self) -> str:
        return self._connections.version

    # -- running statements -------------------------------------------------------------------

    def execute(self, sql: str, limit: int, arrow_after: int | None = None) -> QueryResult:
        return self._run(sql, limit, arrow_after=arrow_after)

    def estimate(self, sql: str) -> Estimate:
        """`EXPLAIN (FORMAT JSON)`: the planner's rows and cost (`plans.postgres`)."""
        schema = self.schema()
        found = self._run("EXPLAIN (FORMAT JSON) " + sql.strip().rstrip(";"), 1).rows[0][0]
        plan = json.loads(found) if isinstance(found, str) else found
        return plans.postgres(plan[0]["Plan"], schema)

    def _run(
        self,
        sql: str,
        limit: int,
        args: Sequence[Any] | None = None,
        *,
        arrow_after: int | None = None,
    ) -> QueryResult:
        statement = sql.strip().rstrip(";")
        milliseconds = max(int(self.timeout * 1000), 1)
        for attempt in (1, 2):
            conn, pooled = self._pool.acquire()
            reusable = False
            started = False
            try:
                # psycopg opens the transaction with BEGIN READ ONLY (`read_only` of the pool).
                conn.execute(f"SET LOCAL statement_timeout = {milliseconds}")
                started = True
                with interrupt.stoppable(functools.partial(_cancel, conn, self.name)):
                    if _CURSOR_VERBS.match(statement):
                        with conn.cursor(name="nlsql") as cursor:
                            cursor.execute(statement, args)
                            result = fetch_bounded(
                                _Checked(cursor), limit, self.limits, arrow_after
                            )
                    else:
                        with conn.cursor() as plain:
                            plain.execute(statement, args)
                            result = fetch_bounded(plain, limit, self.limits, arrow_after)
                conn.rollback()
                reusable = True
                return result
            except psycopg.Error as exc:
                lost = conn.closed or (
                    isinstance(exc, psycopg.OperationalError)
                    and (exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P")))
                )
                if lost and pooled and not started and attempt == 1:
                    continue  # a stale pooled connection: dropped, and once more on a fresh one
                if not lost:
                    reusable = self._rollback(conn)
                raise self._statement_error(exc, lost) from exc
            finally:
                self._pool.release(conn, reusable)
        raise AssertionError("unreachable")

    @staticmethod
    def _rollback(conn: psycopg.Connection[Any]) -> bool:
        try:
            conn.rollback()
            return True
        except psycopg.Error:
            return False

    def _statement_error(self, exc: psycopg.Error, lost: bool) -> NlsqlError:
        text = (exc.diag.message_primary if exc.diag else None) or str(exc).strip()
        state = exc.sqlstate
        if isinstance(exc, psycopg.errors.QueryCanceled) and interrupt.cancelled():
            return QueryFailed("The request was cancelled; its query stopped.", sqlstate=state)
        if isinstance(exc, psycopg.errors.QueryCanceled):
            return QueryFailed(
                f"The query ran longer than {self.timeout:g} s and was stopped.",
                timeout=self.timeout,
                sqlstate=state,
            )
        if lost:
            return DatabaseUnavailable(
                f"Lost the connection to the PostgreSQL server at {self.params.address} "
                f"({text}). Is it still running?",
                address=self.params.address,
                sqlstate=state,
            )
        if isinstance(
            exc, psycopg.errors.ReadOnlySqlTransaction | psycopg.errors.InsufficientPrivilege
        ):
            return QueryFailed(
                f"PostgreSQL refused to change anything: {text}. Statements run in a read-only "
                "transaction.",
                sqlstate=state,
            )
        return QueryFailed(f"PostgreSQL refused the query: {text}", sqlstate=state)

    # -- schema -------------------------------------------------------------------------------

    def schema(self) -> DatabaseSchema:
        return self._schema.get()

    def _read_schema(self) -> DatabaseSchema:
        big = 10**9
        tables = self._run(_LIST_RELATIONS, big).rows
        columns = self._run(_COLUMNS, big).rows
        keys = self._run(_KEYS, big).rows
        primary = {(t, c) for t, kind, c, _, _ in keys if kind == "p"}
        by_table: dict[str, list[Column]] = {}
        for table, column, ctype, nullable in columns:
            key = (table, column) in primary
            by_table.setdefault(table, []).append(
                Column(name=column, type=str(ctype).upper(), nullable=bool(nullable) and not key,
                       primary_key=key)
            )  # fmt: skip
        fks: dict[str, list[ForeignKey]] = {}
        for table, kind, column, ref_table, ref_column in keys:
            if kind == "f":
                fks.setdefault(table, []).append(ForeignKey(column, ref_table, ref_column))
        counts = self._row_counts(tables)
        return DatabaseSchema(
            tables=tuple(
                Table(
                    name=name,
                    columns=tuple(by_table.get(name, ())),
                    foreign_keys=tuple(fks.get(name, ())),
                    row_count=counts.get(name),
                )
                for name in sorted(row[0] for row in tables)
            )
        )

    def _row_counts(self, tables: list[list[Any]]) -> dict[str, int | None]:
        """Exact counts below `EXACT_COUNT_BELOW` estimated rows (or never analysed: -1), else
        the planner's estimate."""
        counts: dict[str, int | None] = {}
        exact: list[str] = []
        for name, kind, estimate in tables:
            if kind == "v":
                counts[name] = None
            elif estimate is not None and estimate >= EXACT_COUNT_BELOW:
                counts[name] = int(estimate)
            else:
                exact.append(name)
        if exact:
            sql = " UNION ALL ".join(
                f"SELECT {i}, COUNT(*) FROM {_quote(name)}" for i, name in enumerate(exact)
            )
            for index, count in self._run(sql, len(exact)).rows:
                counts[exact[index]] = int(count)
        return counts

    def close(self) -> None:
        self._pool.close()
