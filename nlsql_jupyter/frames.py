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
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import duckdb
    import pandas as pd
    from nlsql_server.databases.base import QueryResult

#: Rows an answer holds unless `limit` says otherwise (the server's `NLSQL_ROW_LIMIT` default).
ROWS = 10_000
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


def run(sql: str, frames: Mapping[str, pd.DataFrame], limit: int) -> QueryResult:
    """Run the server's SQL over the frames: at most `limit` rows, values as the server's
    backends give them (dates as ISO text). Refused as on the server (`safety.check`) when
    it does more than read."""
    from nlsql_server.databases.base import ResultLimits, fetch_bounded
    from nlsql_server.databases.duck import PlainRows
    from nlsql_server.databases.safety import check

    check(sql, "duckdb")
    conn = _connection(frames)
    try:
        return fetch_bounded(PlainRows(conn.execute(sql)), limit, ResultLimits())
    finally:
        conn.close()


def answered(
    result: dict[str, Any], frames: Mapping[str, pd.DataFrame], limit: int | None, chart: str | None
) -> dict[str, Any]:
    """The server's unrun answer, run here: its rows, their kinds and the chart the server's
    viz rules choose for them (the same module, so a frame's answer looks like any other)."""
    from nlsql_server.agents import viz

    ran = run(result["sql"], frames, limit or ROWS)
    kinds = viz.column_kinds(ran.columns, ran.rows)
    mark = cast("viz.ChartKind | None", chart)  # checked by the server against the same kinds
    spec = viz.choose_chart(ran.columns, kinds, ran.rows, title=result["question"], kind=mark)
    return result | ran.to_dict() | {"column_types": kinds, "chart": spec, "executed": True}
