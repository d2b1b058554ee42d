"""The data agent's tools: the one door to every database for notebooks, the sidebar and MCP.

Plain async functions over `Services`, called in-process by JSON-RPC (`databases.list`,
`schema.*`, `sql.run`) and published as MCP tools by `mcp_server.py`, which the edge (`app.py`,
`cli.py`) builds. They read through the data agent (`agents/data.py`), the only code that runs
SQL. Nothing here imports the MCP SDK, so a server that never serves MCP never loads it.

`cap` keeps a tool's result inside an agent's budget: LLM agents cap one tool result near 25k
tokens, and a plain "list all customers" would otherwise return ~355k.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import workers
from .agents import data, viz
from .databases.urls import without_directories
from .exceptions import UnknownTable
from .provenance import schema_provenance

if TYPE_CHECKING:
    from .services import Services

#: Distinct values `sample_values` returns at most.
MAX_SAMPLE_VALUES = 100
#: Bytes of a capped result kept free for its `note`.
_NOTE_BYTES = 300


async def list_databases(services: Services) -> list[dict[str, Any]]:
    """Name, dialect, description, URL and tables of every configured database."""

    disclose_paths = services.settings.disclose_paths

    def describe() -> list[dict[str, Any]]:
        described = []
        for name in services.registry.names():
            db = services.registry.get(name)
            described.append(
                {
                    "name": name,
                    "dialect": db.dialect,
                    "description": db.description,
                    "url": db.url if disclose_paths else without_directories(db.url),
                    "tables": db.schema().table_names,
                }
            )
        return described

    return await workers.run_cheap(describe)


async def discover_tables(services: Services, database: str) -> list[dict[str, Any]]:
    """Every table of `database` with its columns, keys and row count."""
    db = await workers.run_cheap(services.registry.get, database)
    schema = await workers.run_cheap(db.schema)
    return [t.to_dict() for t in schema.tables]


async def get_table_schema(services: Services, database: str, table: str) -> dict[str, Any]:
    """Columns (name, type, nullable, primary key), foreign keys and row count of one table."""
    db = await workers.run_cheap(services.registry.get, database)
    schema = await workers.run_cheap(db.schema)
    found = schema.table(table)
    if found is None:
        raise UnknownTable(
            f"No table {table!r} in {database}. Tables: {', '.join(schema.table_names)}.",
            table=table,
        )
    return found.to_dict()


async def provenance(services: Services, database: str, sql: str) -> dict[str, Any]:
    """The tables `sql` reads as they are now, with their fingerprint (`schema.provenance`): a
    replayed answer compares it with the one it was written against before running."""
    db = await workers.run_cheap(services.registry.get, database)
    schema = await workers.run_cheap(db.schema)
    return schema_provenance(sql, db.dialect, schema)


async def sample_values(
    services: Services, database: str, table: str, column: str, limit: int = 20
) -> dict[str, Any]:
    """The most frequent distinct values of one column (at most 100)."""
    db = await workers.run_cheap(services.registry.get, database)
    bounded = max(1, min(int(limit), MAX_SAMPLE_VALUES))
    values = await workers.run_query(db.distinct_values, table, column, bounded)
    return {"table": table, "column": column, "values": values}


async def run_sql(
    services: Services,
    database: str,
    sql: str,
    limit: int | None = None,
    arrow: bool = False,
    confirm: bool = False,
) -> dict[str, Any]:
    """Run one checked read-only statement (`sql.run`, `execute_query`, `nlsql sql`); with
    `arrow`, a large result's rows come as Arrow (`QueryResult.arrow`). Over the cost budget it
    runs only with `confirm` (else `NeedsConfirmation`)."""
    db = await workers.run_cheap(services.registry.get, database)
    rows_at_most = data.row_limit(limit, services.settings.row_limit)
    arrow_after = services.settings.arrow_min_rows if arrow else None
    budget = 0 if confirm else services.settings.cost_budget_rows
    result = await workers.run_query(data.run, db, sql, rows_at_most, arrow_after, budget)
    kinds = await workers.run_result(viz.result_kinds, result)
    return result.to_dict() | {"column_types": kinds}


def cap(
    result: dict[str, Any], key: str, max_items: int, max_bytes: int, noun: str, hint: str
) -> dict[str, Any]:
    """`result` with its list `result[key]` cut to at most `max_items` entries whose JSON fits in
    `max_bytes`; a cut result says so in `truncated` and in a `note` a person (or a model) reads:
    "truncated: showing 120 of 5,000 rows; 4,880 more rows not shown. <hint>"."""
    items = result.get(key) or []
    kept = 0
    used = len(json.dumps({k: v for k, v in result.items() if k != key}, default=str))
    for item in items[:max_items]:
        size = len(json.dumps(item, default=str)) + 2
        if used + size > max_bytes - _NOTE_BYTES:
            break
        used += size
        kept += 1
    if kept == len(items):
        return result
    more = len(items) - kept
    capped = dict(result)
    capped[key] = items[:kept]
    capped["truncated"] = True
    if "row_count" in capped:
        capped["row_count"] = kept
    beyond = " (and perhaps more past the row limit)" if result.get("truncated") else ""
    capped["note"] = (
        f"truncated: showing {kept:,} of {len(items):,} {noun}; {more:,} more {noun} not "
        f"shown{beyond}. {hint}"
    )
    return capped
