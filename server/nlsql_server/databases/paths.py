"""Telling a SQLite file's path from a database name, the same way in the CLI and the kernel."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SQLITE_SUFFIXES", "looks_like_sqlite_path"]

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")


def looks_like_sqlite_path(text: str) -> bool:
    """True for `./shop.sqlite`, `~/data/x.db`, `/srv/a`: a known suffix, a path separator, a
    leading `~`, or an existing file. URLs (`mysql://…`) are not paths."""
    if "://" in text:
        return False
    path = Path(text)
    return (
        path.suffix.lower() in SQLITE_SUFFIXES
        or "/" in text
        or text.startswith("~")
        or path.is_file()
    )
