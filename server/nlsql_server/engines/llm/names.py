"""Every table and column of a model's SQL checked against the schema, before anything runs.

The commonest slip of a small model is a column read from the wrong table (`Album.Name` where
the name is the artist's): the database would refuse it too, but only with "no such column",
and the retry then guesses again. Caught here, the error says which table does hold the column
and how it joins, so the one retry it costs is well spent. The check is conservative: it only
reports a name that no table of the query (nor any alias, CTE or subquery) could supply, so a
statement the database would accept is never refused.
"""

from __future__ import annotations

import difflib

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from ...databases.base import DatabaseSchema, Table

__all__ = ["unknown_name"]


def unknown_name(tree: exp.Expr, schema: DatabaseSchema) -> str | None:
    """Why `tree` names a table or column the schema lacks, or None when every name exists."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        if table.name.lower() not in ctes and schema.table(table.name) is None:
            return f"There is no table {table.name}: the tables are {_names(schema.tables)}."
    try:
        scopes = traverse_scope(tree)
    except Exception:  # sqlglot's scope builder raises many kinds: then no verdict
        return None
    aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
    everywhere = {c.name.lower() for s in scopes for t in _tables(s, schema) for c in t.columns}
    for scope in scopes:
        tables = _tables(scope, schema)
        for column in scope.columns:
            name = column.name.lower()
            if not name or name in aliases or isinstance(column.this, exp.Star):
                continue
            source = scope.sources.get(column.table) if column.table else None
            if isinstance(source, exp.Table):
                known = schema.table(source.name)
                if known is not None and known.column(column.name) is None:
                    return _wrong_table(column.name, known, schema)
            elif not column.table and name not in everywhere and not _opaque(scope):
                if column.this.args.get("quoted"):
                    continue  # SQLite reads an unknown "name" as the string 'name'
                return _missing(column.name, tables, schema)
    return None


def _tables(scope: Scope, schema: DatabaseSchema) -> list[Table]:
    found = [schema.table(s.name) for s in scope.sources.values() if isinstance(s, exp.Table)]
    return [t for t in found if t is not None]


def _opaque(scope: Scope) -> bool:
    """A scope reading a subquery or CTE: its columns are that query's, not checked here."""
    return any(not isinstance(s, exp.Table) for s in scope.sources.values())


def _wrong_table(column: str, table: Table, schema: DatabaseSchema) -> str:
    return f"{table.name} has no column {column}. " + _where(column, [table], schema)


def _missing(column: str, tables: list[Table], schema: DatabaseSchema) -> str:
    named = ", ".join(t.name for t in tables) or "the query's tables"
    return f"No column {column} in {named}. " + _where(column, tables, schema)


def _where(column: str, tables: list[Table], schema: DatabaseSchema) -> str:
    """Where the column really is (and how to join it), else the nearest names."""
    hints = [
        f"{t.name}.{found.name}{_join(t, tables)}"
        for t in schema.tables
        if (found := t.column(column)) is not None
    ]
    if hints:
        return "It is a column of " + "; ".join(hints[:3]) + "."
    names = {c.name.lower(): f"{t.name}.{c.name}" for t in tables for c in t.columns}
    close = difflib.get_close_matches(column.lower(), names, n=3, cutoff=0.6)
    if close:
        return "Did you mean " + " or ".join(names[c] for c in close) + "?"
    listed = "; ".join(f"{t.name}({', '.join(c.name for c in t.columns)})" for t in tables)
    return f"The columns are: {listed}." if listed else ""


def _join(holder: Table, tables: list[Table]) -> str:
    """`holder`'s foreign key to one of `tables`, or theirs to it, as a join hint."""
    for table in tables:
        for a, b in ((holder, table), (table, holder)):
            for fk in a.foreign_keys:
                if fk.ref_table.lower() == b.name.lower():
                    return f" (join {a.name}.{fk.column} = {b.name}.{fk.ref_column})"
    return ""


def _names(tables: tuple[Table, ...]) -> str:
    return ", ".join(t.name for t in tables[:30]) + (", ..." if len(tables) > 30 else "")
