"""A notebook's DataFrames as a database the engines can write SQL for, without their rows.

The kernel describes each frame (`protocol.FrameTable`: its name, row count, and each column's
DuckDB type with a few sample values); the server builds an in-memory DuckDB database holding
only those samples, so that schema linking, value matching and the LLM's checks work as on any
database, and answers with DuckDB SQL that the kernel runs over the real frames. The rows never
reach the server. Row counts are the kernel's, not the samples'.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import duckdb
from sqlglot import exp
from sqlglot.errors import ParseError

from ..exceptions import InvalidParams, QueryFailed
from ..settings import Settings
from .base import DatabaseSchema, QueryResult, ResultLimits
from .duck import _NO_EXTENSIONS, DuckdbDatabase, _quote

#: Frame databases kept at once (least recently asked about goes first).
KEPT = 64


def _type(column: Mapping[str, Any], table: str) -> str:
    """The column's type as DuckDB DDL, rebuilt by sqlglot: never text pasted into a statement."""
    try:
        return exp.DataType.build(str(column["type"]), dialect="duckdb").sql("duckdb")
    except (ParseError, ValueError) as exc:
        raise InvalidParams(
            f"Frame {table}: column {column['name']!r} has a type DuckDB does not know: "
            f"{column['type']!r}.",
            param="frames",
        ) from exc


class FrameDatabase(DuckdbDatabase):
    """The frames a kernel described, as tables of their sample values (see the module)."""

    def __init__(self, name: str, frames: Sequence[Mapping[str, Any]], settings: Settings) -> None:
        self.frames = list(frames)
        super().__init__(
            name,
            None,
            "DataFrames of a notebook (described by the kernel; the rows stay there)",
            url="frames://" + ",".join(f["name"] for f in self.frames),
            timeout=settings.query_timeout,
            limits=ResultLimits(settings.max_result_bytes, settings.max_cell_bytes),
            memory_bytes=settings.duckdb_memory_bytes,
        )

    def _connect(self) -> duckdb.DuckDBPyConnection:
        conn = duckdb.connect(":memory:", config=_NO_EXTENSIONS)
        try:
            for frame in self.frames:
                table, columns = frame["name"], frame["columns"]
                defs = ", ".join(f"{_quote(c['name'])} {_type(c, table)}" for c in columns)
                conn.execute(f"CREATE TABLE {_quote(table)} ({defs})")
                depth = max((len(c["samples"]) for c in columns), default=0)
                rows = [
                    [c["samples"][i] if i < len(c["samples"]) else None for c in columns]
                    for i in range(depth)
                ]
                if rows:
                    marks = ", ".join("?" for _ in columns)
                    conn.executemany(f"INSERT INTO {_quote(table)} VALUES ({marks})", rows)
        except duckdb.Error as exc:
            conn.close()
            raise InvalidParams(
                f"The frames could not be described: {exc}", param="frames"
            ) from exc
        return conn

    def execute(self, sql: str, limit: int, arrow_after: int | None = None) -> QueryResult:
        """Refused: the rows are in the kernel, and running on the samples would answer wrong."""
        raise QueryFailed(
            "These tables are a notebook's DataFrames: their rows are in the kernel, which runs "
            "the SQL (`%%ask --from NAME`); the server only writes it.",
            database=self.name,
        )

    def read_many(self, statements: Sequence[str], limit: int) -> list[list[list[Any]]]:
        """The engines' statistics, read from the samples (all they are for)."""
        return [super(FrameDatabase, self).execute(sql, limit).rows for sql in statements]

    def _read_schema(self) -> DatabaseSchema:
        schema = super()._read_schema()
        counts = {f["name"]: f["rows"] for f in self.frames}
        return DatabaseSchema(
            tables=tuple(
                replace(t, row_count=counts.get(t.name, t.row_count)) for t in schema.tables
            )
        )


def frames_name(frames: Sequence[Mapping[str, Any]]) -> str:
    """The name a description is registered under: the same frames, the same name (so a
    session's follow-ups find their history), another description, another name."""
    digest = hashlib.sha256(json.dumps(frames, sort_keys=True, default=str).encode())
    return f"frames_{digest.hexdigest()[:16]}"


class FrameDatabases:
    """The frame databases of recent questions, built on first use, at most `KEPT` of them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._open: OrderedDict[str, FrameDatabase] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, frames: Sequence[Mapping[str, Any]]) -> str:
        """Register the description (if new) and return its name."""
        name = frames_name(frames)
        with self._lock:
            if name in self._open:
                self._open.move_to_end(name)
                return name
        database = FrameDatabase(name, frames, self.settings)
        with self._lock:
            self._open[name] = database
            while len(self._open) > KEPT:
                self._open.popitem(last=False)[1].close()
        return name

    def get(self, name: str) -> FrameDatabase | None:
        with self._lock:
            return self._open.get(name)

    def close(self) -> None:
        with self._lock:
            for database in self._open.values():
                database.close()
            self._open.clear()
