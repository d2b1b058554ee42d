"""The one place that decides whether a statement may run: one read-only query, parsed by sqlglot.

Fail closed. A statement runs only if sqlglot reads it, in the database's dialect, as exactly one
query whose root is a read (SELECT, WITH, UNION/INTERSECT/EXCEPT, EXPLAIN of such a query, or
schema introspection: SHOW, DESCRIBE) and nothing inside it writes, locks, changes the session,
touches files or stalls the server. Every refusal is an `UnsafeSql` whose `reason` names the rule.

This is the first wall of three: SQLite files are also opened `mode=ro` with `query_only`, and
MySQL/TiDB statements run inside a `READ ONLY` transaction as a user the operator should limit
to SELECT.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from ..exceptions import UnsafeSql

_READ_ROOTS = (exp.Query, exp.Subquery, exp.Show, exp.Describe)
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
    exp.Attach,
    exp.Detach,
    exp.Kill,
    exp.Analyze,
    exp.Copy,
    exp.Grant,
    exp.Revoke,
    exp.Cache,
    exp.Uncache,
    exp.Refresh,
)
#: Functions that read or write files, load code, sleep, take locks or allocate without bound.
_FORBIDDEN_FUNCTIONS = frozenset(
    {
        # MySQL / MariaDB / TiDB
        "sleep",
        "benchmark",
        "get_lock",
        "release_lock",
        "release_all_locks",
        "is_free_lock",
        "is_used_lock",
        "load_file",
        "master_pos_wait",
        "source_pos_wait",
        "master_gtid_wait",
        "wait_for_executed_gtid_set",
        "wait_until_sql_thread_after_gtids",
        "sys_exec",
        "sys_eval",
        # SQLite
        "load_extension",
        "readfile",
        "writefile",
        "edit",
        "fts3_tokenizer",
        "randomblob",
        "zeroblob",
    }
)
#: Schemas that hold accounts, server internals or instrumentation, never user data.
_SYSTEM_SCHEMAS = frozenset({"mysql", "performance_schema", "sys"})
#: Words that only ever mean "write a file", wherever they stand.
_FILE_WORDS = frozenset({"OUTFILE", "DUMPFILE"})
#: The words a read statement may start with; anything else is refused before parsing.
_READ_VERBS = frozenset({"SELECT", "WITH", "(", "EXPLAIN", "SHOW", "DESCRIBE", "DESC", "TABLE"})
_READ_ONLY = "only read-only queries may run (SELECT, WITH, UNION, EXPLAIN, SHOW, DESCRIBE)"


def _refuse(message: str, reason: str, **data: object) -> UnsafeSql:
    return UnsafeSql(message, reason=reason, **data)


def check(sql: str, dialect: str) -> exp.Expr:
    """Parse `sql` and return its tree if it is exactly one read-only query; else raise."""
    text = sql.strip()
    if not text.rstrip(";").strip():
        raise _refuse("The SQL is empty.", "empty")
    tokens = _tokens(text, dialect)
    _check_tokens(tokens)
    verb = tokens[0].text.upper()
    if verb not in _READ_VERBS:
        raise _refuse(f"{verb} statements are not allowed: {_READ_ONLY}.", "not_read_only")
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except ParseError as exc:  # tokenizing already succeeded in `_tokens`
        detail = exc.errors[0]["description"] if exc.errors else str(exc)
        raise _refuse(f"The SQL could not be parsed: {detail}", "unparsable") from exc
    if len(statements) != 1:
        raise _refuse(
            "Exactly one statement is allowed.", "multiple_statements", statements=len(statements)
        )
    tree = statements[0]
    _check_tree(_explained(tree, dialect))
    return tree


def _tokens(text: str, dialect: str) -> list[Token]:
    try:
        return Dialect.get_or_raise(dialect).tokenize(text)
    except (TokenError, ValueError) as exc:
        raise _refuse(f"The SQL could not be read: {exc}", "unparsable") from exc


def _check_tokens(tokens: list[Token]) -> None:
    """Rules the parser cannot see: comments the server executes, stacked statements, files."""
    for position, token in enumerate(tokens):
        if token.token_type == TokenType.HINT:
            raise _refuse(
                "Optimizer hints (/*+ … */) are not allowed: they can change server settings.",
                "comment",
            )
        for comment in token.comments:
            # MySQL and MariaDB run the body of /*! … */ and /*M! … */ as SQL.
            if comment.lstrip().startswith(("!", "M!", "+")):
                raise _refuse(
                    "Executable comments (/*! … */) are not allowed: the server would run them.",
                    "comment",
                )
        if token.token_type == TokenType.SEMICOLON and any(
            t.token_type != TokenType.SEMICOLON for t in tokens[position + 1 :]
        ):
            raise _refuse("Exactly one statement is allowed.", "multiple_statements")
        if token.token_type not in (TokenType.STRING, TokenType.IDENTIFIER) and (
            token.text.upper() in _FILE_WORDS
        ):
            raise _refuse("Writing files (INTO OUTFILE / DUMPFILE) is not allowed.", "file_access")


def _explained(tree: exp.Expr, dialect: str) -> exp.Expr:
    """The query an EXPLAIN describes (SQLite's EXPLAIN is opaque to sqlglot), else the tree."""
    if isinstance(tree, exp.Command) and tree.name.upper() == "EXPLAIN":
        rest = tree.expression.name if tree.expression else ""
        words = rest.split(None, 2)
        if len(words) >= 2 and [w.upper() for w in words[:2]] == ["QUERY", "PLAN"]:
            rest = words[2] if len(words) > 2 else ""
        if not rest.strip():
            raise _refuse("EXPLAIN needs a query to explain.", "unparsable")
        return check(rest, dialect)
    return tree


def _check_tree(tree: exp.Expr) -> None:
    if not isinstance(tree, _READ_ROOTS):
        raise _refuse(f"{_READ_ONLY}; found {tree.key.upper()}.", "not_read_only")
    for node in tree.walk():
        if isinstance(node, _WRITE_NODES):
            raise _refuse(f"{_READ_ONLY}; found {node.key.upper()}.", "write")
        if isinstance(node, exp.Lock):
            raise _refuse("Locking reads (FOR UPDATE / FOR SHARE) are not allowed.", "lock")
        if isinstance(node, exp.PropertyEQ):
            raise _refuse("Assigning variables (:=) is not allowed.", "session")
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if name in _FORBIDDEN_FUNCTIONS:
                raise _refuse(
                    f"The function {name.upper()} is not allowed.", "function", function=name
                )
        if isinstance(node, exp.Table) and node.db.lower() in _SYSTEM_SCHEMAS:
            raise _refuse(f"The system schema {node.db} is not readable here.", "system_schema")
