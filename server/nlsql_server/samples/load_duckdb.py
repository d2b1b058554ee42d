"""Copy the sample databases into DuckDB files (`nlsql samples load --url duckdb:///folder/`).

Each sample becomes `<folder>/<prefix><name>.duckdb`: the SQLite schema transpiled by sqlglot
(primary and foreign keys kept, so the engines join as they do on SQLite), the rows copied
through Arrow in one statement a table. A file that exists is replaced only with `replace`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot

from ..exceptions import InvalidParams
from . import SAMPLE_NAMES, ensure_sample
from .load import LoadedSample, _sqlite_tables, sqlite_quote


def load_samples_duckdb(
    folder: Path,
    *,
    data_dir: Path,
    prefix: str = "",
    names: Sequence[str] = SAMPLE_NAMES,
    replace: bool = False,
) -> list[LoadedSample]:
    """Write each sample to its DuckDB file in `folder`; an existing file is kept (`skipped`)
    unless `replace`."""
    folder.mkdir(parents=True, exist_ok=True)
    loaded = []
    for name in names:
        target = folder / f"{prefix}{name}.duckdb"
        source = ensure_sample(name, data_dir)
        if target.exists() and not replace:
            with closing(duckdb.connect(str(target), read_only=True)) as conn:
                tables = conn.execute("SELECT COUNT(*) FROM duckdb_tables()").fetchone()
            loaded.append(LoadedSample(name, target.stem, tables[0] if tables else 0, 0, 0.0, True))
            continue
        started = time.perf_counter()
        building = target.with_name(target.name + ".tmp")
        building.unlink(missing_ok=True)
        rows = _copy(source, building)
        building.replace(target)
        count = len(rows)
        loaded.append(
            LoadedSample(name, target.stem, count, sum(rows), time.perf_counter() - started)
        )
    return loaded


def _copy(source: Path, target: Path) -> list[int]:
    """Copy every table of the SQLite file `source` into a new DuckDB file; rows per table."""
    counts = []
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as lite,
        closing(duckdb.connect(str(target))) as duck,
    ):
        for table in _sqlite_tables(lite):
            duck.execute(sqlglot.transpile(table.create_sql, read="sqlite", write="duckdb")[0])
            rows = lite.execute(f"SELECT * FROM {sqlite_quote(table.name)}").fetchall()
            for level in _levels(lite, table.name, table.columns, rows):
                columns = list(zip(*level, strict=True))
                batch = pa.table(dict(zip(table.columns, map(list, columns), strict=True)))
                duck.register("batch", batch)
                duck.execute(f"INSERT INTO {sqlite_quote(table.name)} SELECT * FROM batch")
                duck.unregister("batch")
            counts.append(table.rows)
    return counts


def _levels(
    lite: sqlite3.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> list[list[tuple[Any, ...]]]:
    """`rows` in insert order: DuckDB checks a foreign key within one INSERT against the rows
    already there, so a table that references itself (a manager is an employee) goes in level
    by level, each row after the row it names."""
    own = [
        (columns.index(fk[3]), columns.index(fk[4]))
        for fk in lite.execute(f"PRAGMA foreign_key_list({sqlite_quote(table)})")
        if fk[2] == table
    ]
    if not own:
        return [rows] if rows else []
    levels: list[list[tuple[Any, ...]]] = []
    seen: dict[int, set[Any]] = {key: set() for _, key in own}
    waiting = rows
    while waiting:
        ready = [r for r in waiting if all(r[c] is None or r[c] in seen[k] for c, k in own)]
        if not ready:
            raise InvalidParams(f"{table}: rows that reference each other in a cycle.")
        levels.append(ready)
        for row in ready:
            for _, key in own:
                seen[key].add(row[key])
        taken = set(map(id, ready))
        waiting = [r for r in waiting if id(r) not in taken]
    return levels


def duckdb_folder(url: str) -> Path:
    """The folder of a `duckdb:///folder/` URL that samples load into."""
    from ..databases.urls import duckdb_path

    path = duckdb_path(url)
    if path is None or path.suffix:
        raise InvalidParams(f"Load samples into a folder: duckdb:///path/to/folder/ (got {url}).")
    return path


def config_snippet_duckdb(folder: Path, loaded: Sequence[LoadedSample]) -> str:
    """Lines for a databases file (`NLSQL_DATABASES`) that serve the loaded samples."""
    lines = ["# Serve them: add to your databases file (NLSQL_DATABASES)."]
    for item in loaded:
        lines += [
            "",
            f"[databases.{item.database}_duckdb]",
            f'url = "duckdb:///{folder / (item.database + ".duckdb")}"',
            f'sample = "{item.sample}"',
        ]
    return "\n".join(lines)
