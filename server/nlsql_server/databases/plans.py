"""Each database's plan, turned into an `Estimate` (no I/O here: the backends run `EXPLAIN`).

- SQLite's `EXPLAIN QUERY PLAN` names each loop (`SCAN t`, `SEARCH t USING INDEX i (a=?)`) but
  gives no row counts: a scan reads the table's cached row count (`Table.row_count`), a key
  lookup 1 row, an index lookup 10 (SQLite's own guess without `ANALYZE`), a range a quarter of
  the table. Loops of one SELECT nest, so their rows multiply; subqueries add, correlated ones
  once per outer row.
- MySQL/MariaDB `EXPLAIN` gives rows per table, in join order: they multiply the same way.
- PostgreSQL `EXPLAIN (FORMAT JSON)` gives a tree with rows and costs: a nested loop's inner
  side runs once per outer row.
- DuckDB `EXPLAIN (FORMAT JSON)` gives estimated cardinalities; a cross product or nested-loop
  join reads one side once per row of the other.

A full scan counts the table's rows (the schema's cached count) rather than the rows that
pass its filter: every row is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp

from .base import DatabaseSchema
from .cost import AccessKind, Estimate, PlanWords, count, lookup_step, scan_step

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
def aliases(sql: str, dialect: str) -> dict[str, str]:
    """Alias → table name of every table `sql` reads (SQLite's and MySQL's plans name tables
    by alias)."""
    try:
        parsed = sqlglot.parse_one(sql, read=dialect)
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
            real = aliases(self.sql, "sqlite").get(name.lower())
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
                    index = _INDEX.search(rest)
                    how = f"index {index.group(1)}" if index else "an index"
                    if "AUTOMATIC" in rest:
                        # SQLite builds the index first: one pass over the table.
                        read += loops * rows
                        each, how = min(rows, INDEX_ROWS), "an index built for this query"
                    elif _RANGE.search(rest):
                        each = max(1.0, rows / 4)  # SQLite's guess for one bound
                    elif _KEY.search(rest):
                        each, how = 1.0, "its key"
                    else:
                        each = min(rows, INDEX_ROWS)
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


def sqlite(rows: Iterable[tuple[int, int, int, str]], schema: DatabaseSchema, sql: str) -> Estimate:
    """The estimate of `sql` from its `EXPLAIN QUERY PLAN` rows and the cached row counts."""
    walk = _Walk(schema, sql)
    read, _ = walk.block(tree(rows))
    return walk.words.estimate(read)


def _rows_of(schema: DatabaseSchema, table: str | None, fallback: float) -> float:
    """A table's cached row count (a full scan reads them all), else the plan's own figure."""
    found = schema.table(table) if table else None
    if found is not None and found.row_count is not None:
        return float(found.row_count)
    return fallback


_NUMBER = re.compile(r"\s*(\d+(?:\.\d+)?)")


def _leading_number(value: Any) -> float:
    """A plan's row figure: `7`, `'7'`, or MariaDB's `'7 (50%)'` (a rowid filter's share)."""
    found = _NUMBER.match(str(value if value is not None else ""))
    return float(found.group(1)) if found else 1.0


#: MySQL access types that read a whole table (`ALL`) or a whole index (`index`).
_MYSQL_SCANS = {"ALL", "index"}


def mysql(rows: list[dict[str, Any]], schema: DatabaseSchema, sql: str) -> Estimate:
    """MySQL/MariaDB `EXPLAIN` rows (one per table in join order, by select id): the tables of
    one SELECT nest; a DEPENDENT SUBQUERY runs once per row of the outer SELECT."""
    words = PlanWords()
    read = 0.0
    outer = 1.0
    blocks: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        blocks.setdefault(row.get("id"), []).append(row)
    for position, block in enumerate(blocks.values()):
        dependent = "DEPENDENT" in str(block[0].get("select_type") or "")
        loops = outer if dependent else 1.0
        for row in block:
            if row.get("table") is None:
                continue  # no table used
            named = str(row["table"])
            table = aliases(sql, "mysql").get(named.lower(), named)
            planned = _leading_number(row.get("rows"))
            if str(row.get("type") or "") in _MYSQL_SCANS:
                each = _rows_of(schema, table, planned)
                words.saw(*scan_step(table, each, loops))
            else:
                each = planned
                how = f"index {row['key']}" if row.get("key") else "its key"
                words.saw(*lookup_step(table, how, each, loops))
            read += loops * each
            loops *= max(each, 1.0)
        if position == 0:
            outer = loops
    return words.estimate(read)


#: PostgreSQL nodes that read a table through an index.
_PG_LOOKUPS = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}


def postgres(plan: dict[str, Any], schema: DatabaseSchema) -> Estimate:
    """PostgreSQL `EXPLAIN (FORMAT JSON)`'s top plan, with the planner's total cost."""
    words = PlanWords()

    def walk(node: dict[str, Any], loops: float) -> float:
        kind = node.get("Node Type")
        table = node.get("Relation Name")
        planned = float(node.get("Plan Rows") or 1)
        children = node.get("Plans") or []
        if kind == "Seq Scan":
            each = _rows_of(schema, table, planned)
            words.saw(*scan_step(str(table), each, loops))
            return loops * each + sum(walk(c, loops * planned) for c in children)
        if kind in _PG_LOOKUPS:
            index = node.get("Index Name") or next(
                (c.get("Index Name") for c in children if c.get("Index Name")), None
            )
            how = f"index {index}" if index else "an index"
            words.saw(*lookup_step(str(table), how, planned, loops))
            return loops * planned
        runs = [c for c in children if c.get("Parent Relationship") != "SubPlan"]
        per_row = [c for c in children if c.get("Parent Relationship") == "SubPlan"]
        read = 0.0
        if kind == "Nested Loop" and len(runs) == 2:
            read += walk(runs[0], loops) + walk(
                runs[1], loops * float(runs[0].get("Plan Rows") or 1)
            )
        else:
            read += sum(walk(c, loops) for c in runs)
        fed = float(runs[0].get("Plan Rows") or 1) if runs else planned
        return read + sum(walk(c, loops * fed) for c in per_row)

    read = walk(plan, 1.0)
    return words.estimate(read, cost=plan.get("Total Cost"))


#: DuckDB joins that compare every row of one side with every row of the other.
_DUCK_PRODUCTS = {"CROSS_PRODUCT", "NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN"}
#: DuckDB joins on `<`/`>`: sorted, but every matching pair is made (rows multiply).
_DUCK_INEQUALITY = {"PIECEWISE_MERGE_JOIN", "IE_JOIN"}


def duckdb(plan: list[dict[str, Any]], schema: DatabaseSchema) -> Estimate:
    """DuckDB `EXPLAIN (FORMAT JSON)`'s operator tree (estimated cardinalities)."""
    words = PlanWords()

    def cardinality(node: dict[str, Any]) -> float:
        found = str((node.get("extra_info") or {}).get("Estimated Cardinality") or "1")
        return float(found) if found.isdigit() else 1.0

    def walk(node: dict[str, Any], loops: float) -> float:
        name = str(node.get("name") or "")
        info = node.get("extra_info") or {}
        children = node.get("children") or []
        if "SCAN" in name and info.get("Table"):
            table = str(info["Table"]).rsplit(".", 1)[-1]
            each = _rows_of(schema, table, cardinality(node))
            words.saw(*scan_step(table, each, loops))
            return loops * each
        if name in _DUCK_PRODUCTS and len(children) == 2:
            return walk(children[0], loops) + walk(children[1], loops * cardinality(children[0]))
        read = sum(walk(child, loops) for child in children)
        if name in _DUCK_INEQUALITY:
            pairs = loops * cardinality(node)
            words.saw(
                AccessKind.CARTESIAN_JOIN,
                f"pair rows of both sides by an inequality: about {count(pairs)} pairs",
            )
            read += pairs
        return read

    return words.estimate(sum(walk(node, 1.0) for node in plan))
