"""DuckDB: a `.duckdb` database file, or Parquet/CSV/JSON files exposed as tables, read-only.

A database file is opened `read_only`. Files are first copied into a DuckDB file of their own
(built once per set of files, rebuilt when one of them changes: size or time), and that file
is what the server opens: so the connection that answers questions needs no file access at
all. Every connection then turns `enable_external_access` off and locks its configuration
(no `read_csv('/etc/passwd')`, `COPY … TO`, `ATTACH`, `INSTALL`/`LOAD`, `SET`, network), caps
its memory, and runs each statement with a time limit enforced by `interrupt()`. The `safety`
module has already refused all of those; this is the wall behind it.

Values come back as SQLite would give them, so answers compare equal across backends: DECIMAL
becomes int (scale 0) or float, dates and times become ISO text, UUIDs and intervals text.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

from ..exceptions import DatabaseUnavailable, InvalidParams, QueryFailed
from ..settings import Settings
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

#: File kinds a folder or a `tables` entry may hold, and the DuckDB reader of each.
READERS = {
    ".parquet": "read_parquet",
    ".csv": "read_csv",
    ".tsv": "read_csv",
    ".json": "read_json",
    ".ndjson": "read_json",
    ".jsonl": "read_json",
}
#: Extensions are never installed or loaded on their own (no network, no code from disk).
_NO_EXTENSIONS: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
#: Declared types whose values are turned into what SQLite would return (see the docstring).
_CONVERTED_TYPES = ("DECIMAL", "DATE", "TIME", "UUID", "INTERVAL")


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _plain(value: Any) -> Any:
    """One value as SQLite would return it (see the module docstring)."""
    if isinstance(value, decimal.Decimal):
        exponent = value.as_tuple().exponent
        return int(value) if isinstance(exponent, int) and exponent >= 0 else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, dt.timedelta)):
        return str(value)
    return value


def folder_tables(folder: Path) -> dict[str, str]:
    """A folder's tables: each data file is one, named after it, and so is each subfolder of
    Parquet files (a partitioned dataset), named after the subfolder."""
    tables: dict[str, str] = {}
    for entry in sorted(folder.iterdir()):
        if entry.is_file() and entry.suffix.lower() in READERS:
            tables[entry.stem] = entry.name
        elif entry.is_dir() and any(entry.rglob("*.parquet")):
            tables[entry.name] = f"{entry.name}/**/*.parquet"
    if not tables:
        raise InvalidParams(
            f"{folder} holds no data files ({', '.join(sorted(READERS))}) to serve as tables.",
            path=str(folder),
        )
    return tables


def _files_of(table: str, pattern: str, base: Path) -> list[Path]:
    """The files a table's pattern (a file or a glob, relative to `base`) names, all one kind."""
    path = Path(pattern).expanduser()
    if not path.is_absolute():
        path = base / path
    if any(ch in pattern for ch in "*?["):
        anchor = Path(path.anchor)
        files = sorted(p for p in anchor.glob(str(path.relative_to(anchor))) if p.is_file())
    else:
        files = [path] if path.is_file() else []
    if not files:
        raise InvalidParams(f"Table {table!r}: no file matches {pattern}.", table=table)
    kinds = {READERS.get(f.suffix.lower()) for f in files}
    if None in kinds or len(kinds) != 1:
        raise InvalidParams(
            f"Table {table!r}: {pattern} must name files of one kind "
            f"({', '.join(sorted(READERS))}).",
            table=table,
        )
    return files


def materialize(tables: Mapping[str, str], base: Path, cache_dir: Path) -> Path:
    """The DuckDB file holding `tables` (name → file or glob), built now unless one built
    from the same files (same paths, sizes and times) is already in `cache_dir`."""
    files = {name: _files_of(name, pattern, base) for name, pattern in tables.items()}
    stamp = hashlib.sha256()
    for name, paths in sorted(files.items()):
        for path in paths:
            stat = path.stat()
            stamp.update(f"{name}\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    target = cache_dir / f"files-{stamp.hexdigest()[:24]}.duckdb"
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f"{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with duckdb.connect(str(building), config=_NO_EXTENSIONS) as conn:
            for name, paths in files.items():
                reader = READERS[paths[0].suffix.lower()]
                listed = ", ".join(_literal(str(p)) for p in paths)
                conn.execute(f"CREATE TABLE {_quote(name)} AS SELECT * FROM {reader}([{listed}])")
        os.replace(building, target)
    except duckdb.Error as exc:
        raise InvalidParams(f"Could not read the files of {base}: {exc}") from exc
    finally:
        building.unlink(missing_ok=True)
    return target


class DuckdbDatabase(Database):
    """A DuckDB file read through one locked-down, read-only connection (a cursor a statement)."""

    dialect = "duckdb"

    def __init__(
        self,
        name: str,
        path: Path | None,
        description: str = "",
        *,
        url: str | None = None,
        timeout: float = 30.0,
        limits: ResultLimits | None = None,
        memory_bytes: int = 0,
    ) -> None:
        self.path = path.resolve() if path is not None else None
        super().__init__(name, url or f"duckdb:///{self.path}", description, limits)
        self.timeout = timeout
        self.memory_bytes = memory_bytes
        self._conn = self._open()
        self._schema: DatabaseSchema | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_url(
        cls,
        name: str,
        path: Path | None,
        description: str,
        settings: Settings,
        *,
        tables: Mapping[str, str] | None = None,
        base: Path | None = None,
    ) -> DuckdbDatabase:
        """A database file (`path`), a folder of data files (`path`), or `tables` of files."""
        url = f"duckdb:///{path}" if path else "duckdb://"
        if path is not None and path.is_dir():
            base, tables = path, folder_tables(path)
        if tables:
            path = materialize(tables, base or Path.cwd(), settings.data_dir / "duckdb")
        if path is None:
            raise InvalidParams(f"{url} names no file: give a path or `tables`.", database=name)
        return cls(
            name,
            path,
            description,
            url=url,
            timeout=settings.query_timeout,
            limits=ResultLimits(settings.max_result_bytes, settings.max_cell_bytes),
            memory_bytes=settings.duckdb_memory_bytes,
        )

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """The connection before it is locked down: the database file, read-only."""
        if self.path is None or not self.path.is_file():
            raise DatabaseUnavailable(f"No such DuckDB file: {self.path}", path=str(self.path))
        return duckdb.connect(str(self.path), read_only=True, config=_NO_EXTENSIONS)

    def _open(self) -> duckdb.DuckDBPyConnection:
        try:
            conn = self._connect()
            if self.memory_bytes:
                conn.execute(f"SET memory_limit = '{int(self.memory_bytes)}B'")
            conn.execute("SET enable_external_access = false")
            conn.execute("SET lock_configuration = true")
        except duckdb.Error as exc:
            raise DatabaseUnavailable(
                f"Cannot open {self.url}: {exc}", path=str(self.path)
            ) from exc
        return conn

    # -- running statements -------------------------------------------------------------------

    def execute(self, sql: str, limit: int, arrow_after: int | None = None) -> QueryResult:
        cursor = self._conn.cursor()
        timer = threading.Timer(self.timeout, cursor.interrupt)
        timer.start()
        try:
            with interrupt.stoppable(cursor.interrupt):
                cursor.execute(sql)
                return fetch_bounded(PlainRows(cursor), limit, self.limits, arrow_after)
        except duckdb.Error as exc:
            raise self._failed(exc, timed_out=not timer.is_alive()) from exc
        finally:
            timer.cancel()
            cursor.close()

    def estimate(self, sql: str) -> Estimate:
        """`EXPLAIN (FORMAT json)`'s estimated cardinalities (`plans.duckdb`)."""
        schema = self.schema()
        cursor = self._conn.cursor()
        try:
            found = cursor.execute("EXPLAIN (FORMAT json) " + sql).fetchall()
        except duckdb.Error as exc:
            raise self._failed(exc, timed_out=False) from exc
        finally:
            cursor.close()
        return plans.duckdb(json.loads(found[0][1]), schema)

    def _failed(self, exc: duckdb.Error, timed_out: bool) -> QueryFailed:
        if isinstance(exc, duckdb.InterruptException):
            if interrupt.cancelled():
                return QueryFailed("The request was cancelled; its query stopped.")
            if timed_out:
                return QueryFailed(
                    f"The query ran longer than {self.timeout:g} s and was stopped.",
                    timeout=self.timeout,
                )
        if isinstance(exc, duckdb.OutOfMemoryException):
            return QueryFailed(
                f"The query needed more memory than the server gives DuckDB "
                f"({self.memory_bytes >> 20} MiB) and was stopped.",
                memory_bytes=self.memory_bytes,
            )
        if isinstance(exc, duckdb.PermissionException):
            return QueryFailed(f"DuckDB refused to touch anything outside the database: {exc}")
        return QueryFailed(f"DuckDB refused the query: {exc}")

    # -- schema -------------------------------------------------------------------------------

    def schema(self) -> DatabaseSchema:
        """Read once: nothing can write a database file while it is open read-only here."""
        with self._lock:
            if self._schema is None:
                self._schema = self._read_schema()
            return self._schema

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        cursor = self._conn.cursor()
        try:
            return cursor.execute(sql).fetchall()
        finally:
            cursor.close()

    def _read_schema(self) -> DatabaseSchema:
        """Columns, keys and row counts of the main schema's tables and views, in four queries."""
        where = "WHERE database_name = current_database() AND schema_name = 'main'"
        tables = [
            row[0]
            for row in self._rows(
                f"SELECT table_name FROM duckdb_tables() {where} "
                f"UNION SELECT view_name FROM duckdb_views() {where} AND NOT internal ORDER BY 1"
            )
        ]
        keyed: dict[str, set[str]] = {}
        keys: dict[str, list[ForeignKey]] = {}
        for table, kind, columns, ref_table, ref_columns in self._rows(
            "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
            f"referenced_column_names FROM duckdb_constraints() {where} "
            "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') ORDER BY table_name"
        ):
            if kind == "PRIMARY KEY":
                keyed[table] = set(columns)
            else:
                for column, ref_column in zip(columns, ref_columns, strict=True):
                    keys.setdefault(table, []).append(ForeignKey(column, ref_table, ref_column))
        columns_of: dict[str, list[Column]] = {}
        for table, column, data_type, nullable in self._rows(
            "SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
            f"{where} ORDER BY table_name, column_index"
        ):
            primary = column in keyed.get(table, ())
            columns_of.setdefault(table, []).append(
                Column(column, str(data_type), nullable and not primary, primary)
            )
        counts = (
            dict(
                self._rows(
                    " UNION ALL ".join(
                        f"SELECT {i}, COUNT(*) FROM {_quote(t)}" for i, t in enumerate(tables)
                    )
                )
            )
            if tables
            else {}
        )
        return DatabaseSchema(
            tables=tuple(
                Table(
                    name=table,
                    columns=tuple(columns_of.get(table, ())),
                    foreign_keys=tuple(keys.get(table, ())),
                    row_count=counts.get(i),
                )
                for i, table in enumerate(tables)
            )
        )

    def close(self) -> None:
        self._conn.close()


class PlainRows:
    """A DuckDB cursor whose rows hold plain values (`_plain`) in the columns that need it, so
    that JSON and Arrow results alike hold what SQLite would give (the kernel's frames too)."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self._cursor = cursor
        self.description = cursor.description
        types = [str(d[1]).upper() for d in self.description or ()]
        self._convert = [i for i, t in enumerate(types) if t.startswith(_CONVERTED_TYPES)]

    def _rows(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        if not self._convert:
            return rows
        plain = []
        for row in rows:
            values = list(row)
            for i in self._convert:
                values[i] = _plain(values[i])
            plain.append(tuple(values))
        return plain

    def fetchmany(self, size: int) -> list[tuple[Any, ...]]:
        return self._rows(self._cursor.fetchmany(size))

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self._cursor.fetchone()
        return None if row is None else self._rows([row])[0]
