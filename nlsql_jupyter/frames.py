"""Asking about the notebook's own DataFrames: described to the server, run here with DuckDB.

The server gets what the engines need to write SQL — each frame's name, row count, column
names and DuckDB types, and for text columns a few of their most frequent values — never the
rows: numbers, dates and every other value stay in the kernel. It answers with DuckDB SQL,
which runs here, over the frames themselves (DuckDB reads pandas memory in place), after the
same safety check the server applies, on a connection that may not touch files or the network.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

#: Sample values sent per text column, and the characters each may have.
SAMPLES = 10
SAMPLE_CHARS = 100
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class FrameError(ValueError):
    """A frame cannot be asked about (not a DataFrame, or a name SQL cannot use)."""


def checked(frames: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """`frames` as name → DataFrame, or a `FrameError` saying which one is wrong."""
    import pandas as pd

    if not frames:
        raise FrameError("Name at least one DataFrame to ask about.")
    found = {}
    for name, frame in frames.items():
        if not isinstance(frame, pd.DataFrame):
            raise FrameError(f"{name} is a {type(frame).__name__}, not a pandas DataFrame.")
        if not _NAME.match(name):
            raise FrameError(f"{name!r} cannot be a table name: use a plain variable name.")
        if frame.columns.duplicated().any():
            raise FrameError(f"{name} has columns of the same name: rename them first.")
        found[name] = frame
    return found


def _connection(frames: Mapping[str, pd.DataFrame]) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that sees the frames as tables and nothing else."""
    import duckdb

    conn = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    for name, frame in frames.items():
        conn.register(name, frame)
    conn.execute("SET enable_external_access = false")
    conn.execute("SET lock_configuration = true")
    return conn


def describe(frames: Mapping[str, pd.DataFrame]) -> list[dict[str, Any]]:
    """What the server may know of each frame (see the module docstring)."""
    conn = _connection(frames)
    try:
        described = []
        for name, frame in frames.items():
            types = conn.execute(f'SELECT * FROM "{name}" LIMIT 0').description or []
            columns = []
            for (column, kind, *_), series in zip(types, frame.items(), strict=True):
                duck_type = str(kind)
                samples: list[str] = []
                if duck_type == "VARCHAR":
                    counts = series[1].dropna().astype(str).value_counts(sort=True)
                    samples = [v[:SAMPLE_CHARS] for v in counts.index[:SAMPLES]]
                columns.append({"name": str(column), "type": duck_type, "samples": samples})
            described.append({"name": name, "rows": len(frame), "columns": columns})
        return described
    finally:
        conn.close()


def run(
    sql: str, frames: Mapping[str, pd.DataFrame], limit: int
) -> tuple[list[str], list[list[Any]], bool]:
    """Run the server's SQL over the frames: (columns, rows up to `limit`, truncated).

    Refused as on the server (`safety.check`) when it does more than read."""
    from nlsql_server.databases.safety import check

    check(sql, "duckdb")
    conn = _connection(frames)
    try:
        cursor = conn.execute(sql)
        columns = [d[0] for d in cursor.description or ()]
        rows = [list(row) for row in cursor.fetchmany(limit + 1)]
    finally:
        conn.close()
    return columns, rows[:limit], len(rows) > limit
