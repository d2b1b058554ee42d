"""SQLite's `EXPLAIN QUERY PLAN`, turned into an `Estimate`.

The plan names each loop (`SCAN t`, `SEARCH t USING INDEX i (a=?)`) but gives no row counts:
a scan reads the table's cached row count (`Table.row_count`), a key lookup 1 row, an index
lookup 10 (SQLite's own guess without `ANALYZE`), a range a quarter of the table. Loops of one
SELECT nest, so their rows multiply; subqueries add, correlated ones once per outer row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import sqlglot
from sqlglot import exp

from .base import DatabaseSchema
from .cost import Estimate, PlanWords, lookup_step, scan_step

#: SQLite's guess of the rows an index equality matches, without statistics (`ANALYZE`).
INDEX_ROWS = 10
_ACCESS = re.compile(r"^(SCAN|SEARCH) (\S+)(?: AS (\S+))?(?: (.*))?$")
_NAMED = re.compile(r"^(?:MATERIALIZE|CO-ROUTINE) (\S+)")
_KEY = re.compile(r"PRIMARY KEY|rowid=|USING (?:COVERING )?INDEX sqlite_autoindex")
_RANGE = re.compile(r"[<>]")
_INDEX = re.compile(r"USING (?:AUTOMATIC )?(?:COVERING |PARTIAL )?INDEX (\S+)")


@dataclass
class _Node:
    detail: str
    children: list[_Node] = field(default_factory=list)


def tree(rows: Iterable[tuple[int, int, int, str]]) -> list[_Node]:
    """The plan's rows (id, parent, unused, detail) as a tree: the top-level steps."""
    top: list[_Node] = []
    nodes: dict[int, _Node] = {}
    for node_id, parent, _, detail in rows:
        node = _Node(detail)
        nodes[node_id] = node
        (nodes[parent].children if parent in nodes else top).append(node)
    return top


@lru_cache(maxsize=512)
def aliases(sql: str) -> dict[str, str]:
    """Alias → table name of every table `sql` reads (SQLite's plan names loops by alias)."""
    try:
        parsed = sqlglot.parse_one(sql, read="sqlite")
    except sqlglot.errors.ParseError:
        return {}
    return {t.alias_or_name.lower(): t.name for t in parsed.find_all(exp.Table) if t.name}


class _Walk:
    def __init__(self, schema: DatabaseSchema, sql: str) -> None:
        self.schema = schema
        self.sql = sql
        self.words = PlanWords()
        #: Rows a materialized subquery or CTE yields, by name: a later `SCAN name` reads them.
        self.made: dict[str, float] = {}

    def table(self, name: str) -> tuple[str, float | None]:
        """The table a loop names (or its alias stands for) and its row count."""
        if name.lower() in self.made:
            return name, self.made[name.lower()]
        found = self.schema.table(name)
        if found is None:
            real = aliases(self.sql).get(name.lower())
            found = self.schema.table(real) if real else None
        if found is None:
            return name, None
        return found.name, found.row_count

    def block(self, nodes: list[_Node], loops: float = 1.0) -> tuple[float, float]:
        """(rows read, rows out) of one SELECT's steps, entered `loops` times."""
        read = 0.0
        out = 1.0
        for node in nodes:
            detail = node.detail
            if detail.startswith("SCAN CONSTANT ROW"):
                continue
            access = _ACCESS.match(detail)
            if access is not None:
                verb, name, alias, rest = access.groups()
                table, rows = self.table(alias or name)
                rows = float(rows if rows is not None else INDEX_ROWS)
                if verb == "SCAN":
                    each = rows
                    self.words.saw(*scan_step(table, rows, loops * out))
                else:
                    rest = rest or ""
                    if _KEY.search(rest):
                        each, how = 1.0, "its key"
                    elif "AUTOMATIC" in rest:
                        # SQLite builds the index first: one pass over the table.
                        read += loops * rows
                        each, how = min(rows, INDEX_ROWS), "an index built for this query"
                    else:
                        index = _INDEX.search(rest)
                        how = f"index {index.group(1)}" if index else "an index"
                        each = max(1.0, rows / 4) if _RANGE.search(rest) else min(rows, INDEX_ROWS)
                    self.words.saw(*lookup_step(table, how, each, loops * out))
                read += loops * out * each
                out *= max(each, 1.0)
                read += self.block(node.children, loops * out)[0]
                continue
            named = _NAMED.match(detail)
            if named is not None:
                sub_read, sub_out = self.block(node.children)
                read += sub_read
                self.made[named.group(1).lower()] = sub_out
                continue
            if detail.startswith("CORRELATED"):
                before = len(self.words.steps)
                read += self.block(node.children, loops * out)[0]
                if len(self.words.steps) > before:
                    self.words.steps[before] = f"a subquery per row: {self.words.steps[before]}"
                continue
            if detail.startswith(("COMPOUND", "MERGE")):
                parts = [self.block([child]) for child in node.children]
                read += sum(p[0] for p in parts) * loops
                out *= max(1.0, sum(p[1] for p in parts))
                continue
            sub_read, sub_out = self.block(node.children, loops * out)
            read += sub_read
            if detail.startswith(("LEFT-MOST", "UNION", "EXCEPT", "INTERSECT")):
                out = max(out, sub_out)
        return read, out


def estimate(
    rows: Iterable[tuple[int, int, int, str]], schema: DatabaseSchema, sql: str
) -> Estimate:
    """The estimate of `sql` from its `EXPLAIN QUERY PLAN` rows and the cached row counts."""
    walk = _Walk(schema, sql)
    read, _ = walk.block(tree(rows))
    return walk.words.estimate(read)
