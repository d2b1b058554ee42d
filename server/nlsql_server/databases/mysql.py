"""MySQL, MariaDB and TiDB through pymysql: a small pool, read-only transactions, a time limit.

Every statement runs as ``START TRANSACTION READ ONLY`` … ``ROLLBACK`` on a pooled connection
whose session is read-only by default (so DDL, which commits implicitly, is refused too) and
carries a server-side time limit (``max_statement_time`` on MariaDB, ``max_execution_time`` on
MySQL and TiDB; the flavour is read from ``SELECT VERSION()`` once per pool). The `safety` module
has already checked the statement; the read-only session and a user with only ``SELECT`` grants
are the second and third walls. TiDB parses ``READ ONLY`` but does not enforce it, so on TiDB
the user's grants are the only wall after `safety`: give the server a read-only user.

Values come back as SQLite would give them, so answers compare equal across backends: DECIMAL
becomes int (scale 0) or float, DATE/DATETIME/TIME stay the server's ISO text, bytes become text
(UTF-8) or hex. pymysql errors are translated here and nowhere else.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pymysql
import pymysql.cursors
from pymysql.constants import FIELD_TYPE

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

Flavour = Literal["mariadb", "mysql", "tidb"]
_FLAVOUR_NAMES = {"mariadb": "MariaDB", "mysql": "MySQL", "tidb": "TiDB"}

#: Tables estimated below this many rows are counted exactly; larger ones keep the estimate.
EXACT_COUNT_BELOW = 1_000_000

_TIMEOUT_CODES = frozenset({1969, 3024, 1317})  # MariaDB, MySQL, TiDB (query interrupted)
_LOST_CODES = frozenset({0, 2006, 2013, 2055})  # connection gone / lost during the query
_REFUSED_WRITE_CODES = frozenset({1792, 1142, 1143, 1044, 1227, 1290, 1836})


@dataclass(frozen=True)
class MysqlParams:
    """Where and how to connect: parsed from a `mysql://` or `tidb://` URL by `urls`."""

    host: str = "127.0.0.1"
    port: int = 3306
    user: str = "root"
    password: str = ""
    database: str = ""
    scheme: str = "mysql"
    tls: bool = False
    ssl_ca: str | None = None
    verify_cert: bool = False
    verify_identity: bool = False
    connect_timeout: float = 10.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def label(self) -> str:
        """`TiDB` or `MySQL`: what to call the server before it has told us what it is."""
        return "TiDB" if self.scheme == "tidb" else "MySQL"

    def public_url(self) -> str:
        """The URL without its password, safe to print and to send to clients."""
        query = ""
        if self.ssl_ca:
            query = f"?ssl_ca={self.ssl_ca}"
        elif self.tls != (self.scheme == "tidb"):
            query = f"?ssl={'true' if self.tls else 'false'}"
        return f"{self.scheme}://{self.user}@{self.address}/{self.database}{query}"

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.tls:
            return None
        context = ssl.create_default_context(cafile=self.ssl_ca)
        context.check_hostname = self.verify_cert and self.verify_identity
        if not self.verify_cert:
            context.verify_mode = ssl.CERT_NONE
        return context


def _number(text: str) -> int | float:
    """DECIMAL as SQLite would give it: SUM of integers stays an int, everything else a float."""
    return float(text) if ("." in text or "e" in text or "E" in text) else int(text)


def _text(value: str | bytes) -> str:
    """Strings pass through; binary strings become UTF-8 text when they are, else hex."""
    if isinstance(value, str):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.hex()


def _bit(value: bytes) -> int:
    return int.from_bytes(value, "big")


def _iso(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode("ascii")


_DECODERS: dict[Any, Any] = dict(pymysql.converters.conversions)
_DECODERS.update(
    {
        FIELD_TYPE.DECIMAL: _number,
        FIELD_TYPE.NEWDECIMAL: _number,
        FIELD_TYPE.DATE: _iso,
        FIELD_TYPE.NEWDATE: _iso,
        FIELD_TYPE.DATETIME: _iso,
        FIELD_TYPE.TIMESTAMP: _iso,
        FIELD_TYPE.TIME: _iso,
        FIELD_TYPE.BIT: _bit,
        FIELD_TYPE.JSON: _text,
        FIELD_TYPE.GEOMETRY: _text,
        FIELD_TYPE.STRING: _text,
        FIELD_TYPE.VAR_STRING: _text,
        FIELD_TYPE.VARCHAR: _text,
        FIELD_TYPE.BLOB: _text,
        FIELD_TYPE.TINY_BLOB: _text,
        FIELD_TYPE.MEDIUM_BLOB: _text,
        FIELD_TYPE.LONG_BLOB: _text,
    }
)


def _error_code(exc: BaseException) -> int:
    args: tuple[Any, ...] = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else 0


def _error_text(exc: BaseException) -> str:
    args: tuple[Any, ...] = getattr(exc, "args", ())
    if len(args) > 1 and isinstance(args[1], str) and args[1]:
        return args[1]
    return str(exc) or type(exc).__name__


def connection_error(exc: BaseException, params: MysqlParams) -> DatabaseUnavailable:
    """Why a connection could not be made, said so that a person knows what to change."""
    code, text, where = (
        _error_code(exc),
        _error_text(exc),
        f"{params.label} server at {params.address}",
    )
    if isinstance(exc, ssl.SSLError) or code == 2026 or "SSL" in text or "TLS" in text:
        message = (
            f"The TLS handshake with the {where} failed ({text}). Give the server's CA "
            "certificate with ?ssl_ca=/path/ca.pem, or add ?ssl=false for a server without TLS."
        )
    elif code == 1045:
        message = (
            f"The {where} refused user {params.user!r} ({text}): check the user name and "
            "password in the URL."
        )
    elif code in (1044, 1049):
        message = (
            f"The {where} has no database {params.database!r} that user {params.user!r} may "
            f"use ({text}): check the database name in the URL, or load the samples with "
            "`nlsql samples load`."
        )
    elif code in (2002, 2003, 2005) or isinstance(exc, OSError):
        message = (
            f"Cannot reach the {where} ({text}). Is the server running, and are the host and "
            "port in the URL right?"
        )
    else:
        message = f"Cannot connect to the {where}: {text}"
    return DatabaseUnavailable(message, address=params.address, mysql_code=code)


def connect(params: MysqlParams, *, database: str | None = None) -> pymysql.Connection[Any]:
    """A new pymysql connection (autocommit off, SQLite-like values); errors become ours."""
    try:
        return pymysql.connect(
            host=params.host,
            port=params.port,
            user=params.user,
            password=params.password,
            database=(params.database if database is None else database) or None,
            charset="utf8mb4",
            ssl=params.ssl_context(),
            connect_timeout=params.connect_timeout,
            autocommit=False,
            conv=_DECODERS,
        )
    except (pymysql.MySQLError, OSError) as exc:
        raise connection_error(exc, params) from exc


def detect_flavour(version: str) -> Flavour:
    """`mariadb`, `tidb` or `mysql` from the text of ``SELECT VERSION()``."""
    lowered = version.lower()
    if "tidb" in lowered:
        return "tidb"
    if "mariadb" in lowered:
        return "mariadb"
    return "mysql"


def session_setup_sql(flavour: Flavour, seconds: float) -> list[str]:
    """The SETs our backend issues on each new connection (never user SQL).

    The time limit, and read-only as the session's default access mode: a DDL statement
    commits the read-only transaction it runs in, but the one it then starts is read-only too.
    TiDB accepts neither ``READ ONLY`` form (they are no-ops there), so it only gets the limit.
    """
    if flavour == "mariadb":
        limit = f"SET SESSION max_statement_time = {max(seconds, 0.001):.3f}"
    else:
        limit = f"SET SESSION max_execution_time = {max(int(seconds * 1000), 1)}"
    # AVG and `/` of integers keep 4 decimals by default; SQLite gives a full double.
    precision = "SET SESSION div_precision_increment = 30"
    if flavour == "tidb":
        return [limit, precision]
    return [limit, precision, "SET SESSION TRANSACTION READ ONLY"]


class _MysqlConnections:
    """How the pool opens MySQL connections: read-only sessions with the server's time limit,
    the flavour (MariaDB, MySQL, TiDB) read from the first one."""

    def __init__(self, params: MysqlParams, timeout: float) -> None:
        self.params = params
        self.timeout = timeout
        self.flavour: Flavour | None = None
        self.version = ""
        self._lock = threading.Lock()

    def open(self) -> pymysql.Connection[Any]:
        conn = connect(self.params)
        try:
            with conn.cursor() as cursor:
                if self.flavour is None:
                    cursor.execute("SELECT VERSION()")
                    (version,) = cursor.fetchone() or ("",)
                    with self._lock:
                        self.version = str(version)
                        self.flavour = detect_flavour(self.version)
                assert self.flavour is not None
                for statement in session_setup_sql(self.flavour, self.timeout):
                    cursor.execute(statement)
        except pymysql.MySQLError as exc:
            _close_quietly(conn)
            raise connection_error(exc, self.params) from exc
        return conn

    def alive(self, conn: pymysql.Connection[Any]) -> bool:
        # Not `ping(reconnect=True)`: a silent reconnect would lose the session's read-only
        # mode and time limit. A dead connection is replaced by a new one.
        try:
            conn.ping()
            return True
        except (pymysql.MySQLError, OSError):
            return False

    def reusable(self, conn: pymysql.Connection[Any]) -> bool:
        return bool(conn.open)

    def close(self, conn: pymysql.Connection[Any]) -> None:
        _close_quietly(conn)


def _close_quietly(conn: pymysql.Connection[Any]) -> None:
    # Already closed, or the socket is gone: either way nothing is left to release.
    with contextlib.suppress(Exception):
        conn.close()


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("`", "``") + "`"


class MysqlDatabase(Database):
    """A MySQL, MariaDB or TiDB database, read through a small pool of read-only sessions."""

    dialect = "mysql"

    def __init__(
        self,
        name: str,
        params: MysqlParams,
        description: str = "",
        *,
        timeout: float = 30.0,
        pool_size: int = 4,
        limits: ResultLimits | None = None,
    ) -> None:
        if not params.database:
            raise DatabaseUnavailable(
                f"The URL of {name!r} names no database: end it with /DATABASE, as in "
                f"{params.scheme}://user:password@{params.address}/shop.",
                database=name,
            )
        super().__init__(name, params.public_url(), description, limits)
        self.params = params
        self.timeout = timeout
        self._connections = _MysqlConnections(params, timeout)
        self._pool = Pool(params.address, pool_size, timeout, self._connections)
        self._schema = SchemaCache(self._read_fingerprint, self._read_schema)

    @property
    def flavour(self) -> Flavour | None:
        """`mariadb`, `mysql` or `tidb` once a connection has been made, else None."""
        return self._connections.flavour

    @property
    def server_version(self) -> str:
        return self._connections.version

    # -- running statements -------------------------------------------------------------------

    def execute(self, sql: str, limit: int, arrow_after: int | None = None) -> QueryResult:
        return self._run(sql, limit, arrow_after=arrow_after)

    def estimate(self, sql: str) -> Estimate | None:
        """`EXPLAIN`'s rows per table (`plans.mysql`); TiDB's plan has another shape: none."""
        schema = self.schema()
        if self.flavour == "tidb":
            return None
        result = self._run("EXPLAIN " + sql, 1_000)
        return plans.mysql([dict(zip(result.columns, row)) for row in result.rows], schema, sql)

    def _run(
        self,
        sql: str,
        limit: int,
        args: Sequence[Any] | None = None,
        arrow_after: int | None = None,
    ) -> QueryResult:
        for attempt in (1, 2):
            conn: pymysql.Connection[Any] | None
            conn, pooled = self._pool.acquire()
            reusable = False
            started = False
            try:
                cursor = conn.cursor(pymysql.cursors.SSCursor)
                cursor.execute("START TRANSACTION READ ONLY")
                started = True
                with interrupt.stoppable(functools.partial(self._kill_query, conn.thread_id())):
                    cursor.execute(sql, args)
                    result = fetch_bounded(cursor, limit, self.limits, arrow_after)
                if result.truncated:
                    # Rows are left unread: dropping the connection is cheaper than draining it,
                    # so tell pymysql not to drain the result when it is garbage-collected.
                    unread = getattr(cursor, "_result", None)
                    if unread is not None:
                        unread.unbuffered_active = False
                    cursor.connection = None
                else:
                    cursor.close()
                    conn.rollback()
                    reusable = True
                return result
            except (pymysql.MySQLError, OSError) as exc:
                lost = isinstance(exc, OSError) or _error_code(exc) in _LOST_CODES
                if lost and pooled and not started and attempt == 1:
                    # A stale pooled connection: drop it and try once more on a fresh one.
                    self._pool.release(conn, reusable=False)
                    conn = None
                    continue
                if not lost:
                    reusable = self._rollback(conn)
                raise self._statement_error(exc, lost) from exc
            finally:
                if conn is not None:
                    self._pool.release(conn, reusable)
        raise AssertionError("unreachable")

    def _kill_query(self, thread_id: int) -> None:
        """Stop the statement that connection `thread_id` runs (its request was cancelled).

        `KILL QUERY` goes over a connection of its own: the busy one cannot take it.
        """
        try:
            conn = connect(self.params)
        except NlsqlError as exc:
            log.warning("could not stop a cancelled query on %s: %s", self.name, exc.message)
            return
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"KILL QUERY {int(thread_id)}")
        except pymysql.MySQLError as exc:
            log.warning("could not stop a cancelled query on %s: %s", self.name, exc)
        finally:
            _close_quietly(conn)

    @staticmethod
    def _rollback(conn: pymysql.Connection[Any]) -> bool:
        try:
            conn.rollback()
            return True
        except pymysql.MySQLError:
            return False

    def _statement_error(self, exc: BaseException, lost: bool) -> NlsqlError:
        code, text = _error_code(exc), _error_text(exc)
        server = _FLAVOUR_NAMES.get(self.flavour or "", self.params.label)
        if code in _TIMEOUT_CODES and interrupt.cancelled():
            return QueryFailed("The request was cancelled; its query stopped.", mysql_code=code)
        if code in _TIMEOUT_CODES:
            return QueryFailed(
                f"The query ran longer than {self.timeout:g} s and was stopped.",
                timeout=self.timeout,
                mysql_code=code,
            )
        if lost:
            return DatabaseUnavailable(
                f"Lost the connection to the {server} server at {self.params.address} "
                f"({text}). Is it still running?",
                address=self.params.address,
                mysql_code=code,
            )
        if code in _REFUSED_WRITE_CODES:
            return QueryFailed(
                f"{server} refused to change anything: {text}. Statements run in a read-only "
                "transaction.",
                mysql_code=code,
            )
        return QueryFailed(f"{server} refused the query: {text}", mysql_code=code)

    # -- schema -------------------------------------------------------------------------------

    def schema(self) -> DatabaseSchema:
        return self._schema.get()

    def _read_fingerprint(self) -> tuple[Any, ...]:
        """A cheap summary that changes when tables are created, altered, dropped or written."""
        db = self.params.database
        rows = self._run(
            "SELECT COUNT(*), MAX(CREATE_TIME), MAX(UPDATE_TIME), "
            "(SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s) "
            "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
            1,
            (db, db),
        ).rows
        return tuple(rows[0]) if rows else ()

    def _read_schema(self) -> DatabaseSchema:
        db = self.params.database
        big = 10**9
        tables = self._run(
            "SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES "
            "WHERE TABLE_SCHEMA = %s",
            big,
            (db,),
        ).rows
        columns = self._run(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
            "ORDER BY TABLE_NAME, ORDINAL_POSITION",
            big,
            (db,),
        ).rows
        keys = self._run(
            "SELECT TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME "
            "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s "
            "AND REFERENCED_TABLE_NAME IS NOT NULL "
            "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
            big,
            (db,),
        ).rows
        counts = self._row_counts(tables)
        by_table: dict[str, list[Column]] = {}
        for table, column, ctype, nullable, key in columns:
            by_table.setdefault(table, []).append(
                Column(
                    name=column,
                    type=str(ctype).upper(),
                    nullable=nullable == "YES" and key != "PRI",
                    primary_key=key == "PRI",
                )
            )
        fks: dict[str, list[ForeignKey]] = {}
        for table, column, ref_table, ref_column in keys:
            fks.setdefault(table, []).append(ForeignKey(column, ref_table, ref_column or ""))
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
        """Exact counts for tables under `EXACT_COUNT_BELOW` estimated rows, else the estimate."""
        counts: dict[str, int | None] = {}
        exact: list[str] = []
        for name, kind, estimate in tables:
            if kind == "VIEW":
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


_IDENTIFIER = re.compile(r"^[A-Za-z0-9_$]+$")


def is_plain_identifier(name: str) -> bool:
    """True for database names that need no quoting (letters, digits, `_`, `$`)."""
    return bool(_IDENTIFIER.match(name))
