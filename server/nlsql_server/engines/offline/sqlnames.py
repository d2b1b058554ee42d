"""Identifiers and qualified columns, quoted only when a dialect would misread them bare."""

from __future__ import annotations

import re

from sqlglot import exp
from sqlglot.dialects.mysql import MySQL

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: Words either dialect would read as a keyword where an identifier is meant.
_RESERVED = frozenset(w.upper() for w in MySQL.Generator.RESERVED_KEYWORDS) | {
    "ABORT", "ACTION", "AUTOINCREMENT", "COMMIT", "GLOB", "INDEXED", "ISNULL", "NOTNULL",
    "OFFSET", "PRAGMA", "RAISE", "TRANSACTION", "VACUUM",
}  # fmt: skip


def identifier(name: str) -> exp.Identifier:
    quoted = not _PLAIN.fullmatch(name) or name.upper() in _RESERVED
    return exp.to_identifier(name, quoted=quoted)


def column(table: str, name: str) -> exp.Column:
    """`table.name`, the way every column of a generated query is written."""
    return exp.Column(this=identifier(name), table=identifier(table))
