"""The one place that decides whether a statement may run: one read-only query, parsed by sqlglot.

Fail closed. A statement runs only if sqlglot reads it, in the database's dialect, as exactly one
query whose root is a read (SELECT, WITH, UNION/INTERSECT/EXCEPT, EXPLAIN of such a query, or
schema introspection: SHOW, DESCRIBE) and nothing inside it writes, locks, changes the session,
touches files or stalls the server. Every refusal is an `UnsafeSql` whose `reason` names the rule.

This is the first wall of three: SQLite files are also opened `mode=ro` with `query_only`, and
MySQL/TiDB and PostgreSQL statements run inside a `READ ONLY` transaction as a user the operator
should limit to SELECT.
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
#: Functions that read or write files, run other SQL, load code, sleep, take locks, change
#: settings or sequences, signal other sessions or allocate without bound: listed per engine
#: and refused on every engine (fail closed: extensions carry names from one to another).
_FORBIDDEN_BY_ENGINE: dict[str, frozenset[str]] = {
    "mysql": frozenset(
        {
            "sleep", "benchmark", "get_lock", "release_lock", "release_all_locks",
            "is_free_lock", "is_used_lock", "load_file", "master_pos_wait", "source_pos_wait",
            "master_gtid_wait", "wait_for_executed_gtid_set",
            "wait_until_sql_thread_after_gtids", "sys_exec", "sys_eval",
        }
    ),
    "sqlite": frozenset(
        {
            "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "randomblob",
            "zeroblob",
        }
    ),
    "postgres": frozenset(
        {
            # files and programs
            "pg_read_file", "pg_read_binary_file", "pg_stat_file", "pg_ls_dir", "pg_ls_logdir",
            "pg_ls_waldir", "pg_ls_tmpdir", "pg_ls_archive_statusdir", "pg_file_write",
            "pg_file_rename", "pg_file_unlink", "lo_import", "lo_export", "lo_from_bytea",
            "lo_create", "lo_creat", "lo_unlink", "lo_put", "lo_open", "lowrite",
            # other SQL, other servers
            "dblink", "dblink_exec", "dblink_connect", "dblink_connect_u", "dblink_send_query",
            "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
            "cursor_to_xml", "cursor_to_xmlschema",
            # stalls, locks, settings, sequences, transactions
            "pg_sleep", "pg_sleep_for", "pg_sleep_until", "set_config", "nextval", "setval",
            "txid_current", "pg_current_xact_id", "pg_notify", "pg_logical_emit_message",
            # the server and other sessions
            "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
            "pg_promote", "pg_switch_wal", "pg_create_restore_point", "pg_backup_start",
            "pg_backup_stop", "pg_start_backup", "pg_stop_backup", "pg_wal_replay_pause",
            "pg_wal_replay_resume", "pg_log_backend_memory_contexts",
            "pg_import_system_collations",
        }
    ),
}  # fmt: skip
_FORBIDDEN_FUNCTIONS = frozenset[str]().union(*_FORBIDDEN_BY_ENGINE.values())
#: Families of PostgreSQL functions: advisory locks, replication slots and origins, statistics
#: resets.
_FORBIDDEN_PREFIXES = (
    "pg_advisory", "pg_try_advisory", "pg_create_", "pg_drop_", "pg_replication_", "pg_stat_reset",
)  # fmt: skip
#: PostgreSQL catalogs of passwords, user mappings, server files and large objects.
_SYSTEM_TABLES = frozenset(
    {
        "pg_authid", "pg_shadow", "pg_user_mapping", "pg_user_mappings", "pg_hba_file_rules",
        "pg_ident_file_mappings", "pg_file_settings", "pg_largeobject", "pg_largeobject_metadata",
    }
)  # fmt: skip
#: DuckDB functions that read files or the network, run SQL given as text, or change state.
_DUCKDB_FORBIDDEN_FUNCTIONS = frozenset(
    {
        "query",
        "query_table",
        "setseed",
        "nextval",
        "currval",
        "current_setting",
        "getenv",
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "read_json",
        "read_json_auto",
        "read_ndjson",
        "read_text",
        "read_blob",
        "read_xlsx",
        "glob",
        "sniff_csv",
    }
)
#: The only DuckDB table functions a query may read from: they make rows, they read nothing.
#: Every other one (read_*, *_scan, parquet_metadata, duckdb_settings…) reaches files, the
#: network or the server's internals.
_DUCKDB_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})
#: What makes a DuckDB table name a file: `FROM 'orders.csv'` or `FROM "/etc/passwd"` reads it.
_PATH_CHARACTERS = frozenset("/\\:.")
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
    explained = _explained(tree, dialect)
    _check_tree(explained)
    if dialect == "duckdb":
        _check_duckdb(explained)
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
            if name in _FORBIDDEN_FUNCTIONS or name.startswith(_FORBIDDEN_PREFIXES):
                raise _refuse(
                    f"The function {name.upper()} is not allowed.", "function", function=name
                )
        if isinstance(node, exp.Table) and node.db.lower() in _SYSTEM_SCHEMAS:
            raise _refuse(f"The system schema {node.db} is not readable here.", "system_schema")
        if (
            isinstance(node, exp.Table)
            and node.name.lower() in _SYSTEM_TABLES
            and node.db.lower() in ("", "pg_catalog")
        ):
            raise _refuse(f"The system table {node.name} is not readable here.", "system_schema")


def _check_duckdb(tree: exp.Expr) -> None:
    """DuckDB reads a file wherever a table may stand, and its table functions reach files,
    the network and its settings: only catalog tables and row-making functions pass."""
    for node in tree.walk():
        if isinstance(node, exp.Func):
            name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            in_from = isinstance(node.parent, exp.Table)
            if name in _DUCKDB_FORBIDDEN_FUNCTIONS or (
                in_from and name not in _DUCKDB_TABLE_FUNCTIONS
            ):
                raise _refuse(
                    f"The function {name.upper()} is not allowed: it reads files, the network "
                    "or the server's settings.",
                    "function",
                    function=name,
                )
        if (
            isinstance(node, exp.Table)
            and isinstance(node.this, exp.Identifier)
            and _PATH_CHARACTERS & set(node.name)
        ):
            raise _refuse(
                f"{node.name!r} names a file, not a table: reading files is not allowed.",
                "file_access",
            )
