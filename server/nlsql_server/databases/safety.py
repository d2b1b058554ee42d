"""The one place that decides whether a statement may run: one read-only query, parsed by sqlglot.

Fail closed: anything sqlglot cannot parse, more than one statement, or any node that writes,
changes the session or touches files is refused with `UnsafeSql`.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from ..exceptions import UnsafeSql

_READ_ROOTS = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
_WRITE_NODES = (
    exp.Insert,
    exp.Update,
    exp.Delete,
    exp.Merge,
    exp.Create,
    exp.Drop,
    exp.Alter,
    exp.TruncateTable,
    exp.Command,
    exp.Set,
    exp.Pragma,
    exp.Transaction,
    exp.Commit,
    exp.Rollback,
    exp.Into,
    exp.LoadData,
    exp.Use,
)
_FORBIDDEN_FUNCTIONS = frozenset(
    {
        "sleep",
        "benchmark",
        "get_lock",
        "release_lock",
        "load_file",
        "load_extension",
        "readfile",
        "writefile",
        "edit",
        "fts3_tokenizer",
    }
)


def check(sql: str, dialect: str) -> exp.Expression:
    """Parse `sql` and return its tree if it is exactly one read-only query; else raise."""
    text = sql.strip().rstrip(";").strip()
    if not text:
        raise UnsafeSql("The SQL is empty.")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except ParseError as exc:
        raise UnsafeSql(
            f"The SQL could not be parsed: {exc.errors[0]['description'] if exc.errors else exc}"
        ) from exc
    if len(statements) != 1:
        raise UnsafeSql("Exactly one statement is allowed.", statements=len(statements))
    tree = statements[0]
    if not isinstance(tree, _READ_ROOTS):
        raise UnsafeSql(f"Only read-only queries may run; this is a {tree.key.upper()} statement.")
    for node in tree.walk():
        if isinstance(node, _WRITE_NODES):
            raise UnsafeSql(f"Only read-only queries may run; found {node.key.upper()}.")
        if isinstance(node, exp.Func):
            name = (node.sql_name() if not isinstance(node, exp.Anonymous) else node.name).lower()
            if name in _FORBIDDEN_FUNCTIONS:
                raise UnsafeSql(f"The function {name.upper()} is not allowed.")
    return tree
