"""Where an answer came from: the part of the schema its SQL was written against.

A notebook keeps each answer's SQL; whoever re-runs it later needs to know whether the tables
it read still look the same. The fingerprint covers every column (name and type) of each table
the SQL reads, so a renamed, dropped or retyped column changes it, and tables the SQL does not
touch do not.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlglot
from sqlglot import exp

from .databases.base import DatabaseSchema

__all__ = ["schema_provenance"]


def schema_provenance(sql: str, dialect: str, schema: DatabaseSchema) -> dict[str, Any]:
    """`{fingerprint, tables: {table: ["column type", ...]}}` for the tables `sql` reads.

    Names the schema does not know (CTEs, subquery aliases) are left out. SQL that does not
    parse yields an empty table list (its fingerprint is then that of nothing).
    """
    tables: dict[str, list[str]] = {}
    for name in sorted(_table_names(sql, dialect)):
        table = schema.table(name)
        if table is not None:
            tables[table.name] = [f"{c.name} {c.type}".strip() for c in table.columns]
    digest = hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()
    return {"fingerprint": f"sha256:{digest[:16]}", "tables": tables}


def _table_names(sql: str, dialect: str) -> set[str]:
    try:
        tree = sqlglot.parse_one(sql, read=dialect or None)
    except sqlglot.errors.SqlglotError:
        return set()
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    return {t.name for t in tree.find_all(exp.Table) if t.name and t.name.lower() not in ctes}
