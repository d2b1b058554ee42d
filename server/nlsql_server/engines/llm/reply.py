"""The one SQL statement in a model's reply, checked before anything runs it.

Models wrap SQL in code fences, add explanations before or after, end with a semicolon, or
answer in prose. `extract` finds the SQL; `checked` parses it with sqlglot through the safety
module (one read-only statement, nothing else) and renders it in the database's dialect.
"""

from __future__ import annotations

import re

from ...databases import safety
from ...exceptions import CannotAnswer

__all__ = ["checked", "extract"]

_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
#: A line that starts a statement: where SQL begins in a reply without fences.
_STATEMENT_START = re.compile(
    r"^[ \t]*(SELECT|WITH|INSERT|UPDATE|DELETE|REPLACE|MERGE|DROP|CREATE|ALTER|TRUNCATE|PRAGMA|"
    r"ATTACH|DETACH|GRANT|SET|CALL|EXEC)\b",
    re.IGNORECASE | re.MULTILINE,
)
_NOT_SQL_FENCES = {"python", "py", "json", "text", "bash", "sh", "console", "output"}


def extract(reply: str) -> str:
    """The SQL text of a reply (all of it, however many statements); `CannotAnswer` if none."""
    blocks = [
        body.strip()
        for language, body in _FENCE.findall(reply)
        if language.lower() not in _NOT_SQL_FENCES and _STATEMENT_START.search(body)
    ]
    if blocks:
        return ";\n".join(b.rstrip().rstrip(";") for b in blocks)
    start = _STATEMENT_START.search(reply)
    if start is None:
        shown = " ".join(reply.split())[:200] or "(an empty reply)"
        raise CannotAnswer(f"The model's reply held no SQL statement: {shown}", reply=reply)
    return _until_prose(reply[start.start() :])


def _until_prose(text: str) -> str:
    """SQL up to a blank line followed by prose (explanations after the query)."""
    kept: list[str] = []
    for paragraph in re.split(r"\n[ \t]*\n", text):
        if kept and not _STATEMENT_START.search(paragraph) and _looks_like_prose(paragraph):
            break
        kept.append(paragraph)
    return "\n\n".join(kept).strip()


def _looks_like_prose(paragraph: str) -> bool:
    first = paragraph.strip().split("\n", 1)[0]
    return bool(re.match(r"^[A-Z][a-z]+\b[^;]*[.:!?]?$", first)) and " " in first


def checked(reply: str, dialect: str) -> str:
    """Exactly one read-only statement from `reply`, rendered in `dialect`; else raise.

    Raises `CannotAnswer` (no SQL) or `UnsafeSql` (unparsable, several statements, or one that
    writes), with a message that says which, so a retry can tell the model.
    """
    tree = safety.check(extract(reply), dialect)
    return tree.sql(dialect=dialect, pretty=True)
