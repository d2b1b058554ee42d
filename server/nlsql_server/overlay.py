"""A database's glossary overlay: the meanings a user chose when a question had two.

One TOML file per database, in the glossary format (`glossary.py`), in a per-user folder beside
the databases file (`NLSQL_DATABASES`'s folder, `glossary/`), or in the data directory when
there is none (the embedded setup); `NLSQL_GLOSSARY_DIR` moves it. `Registry.glossary` lays it
over the database's own glossary, so both engines read a remembered choice from the next
question on. Written by `glossary.add` (the kernel's "Remember" button), `nlsql ask --remember`
and `nlsql glossary add|remove`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from dataclasses import fields
from pathlib import Path
from typing import Any

from .exceptions import InvalidParams
from .glossary import Glossary, Term

__all__ = ["Overlay"]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]")
_write_lock = threading.Lock()
_TERM_KEYS = {f.name for f in fields(Term)} | {"kind"}


class Overlay:
    """The overlay file of one database."""

    def __init__(self, folder: Path, database: str) -> None:
        self.path = folder / f"{_SAFE_NAME.sub('_', database)}.toml"

    def glossary(self) -> Glossary:
        """The overlay's terms (empty when there is no file), cached by file fingerprint."""
        return Glossary.load(self.path)

    def add(self, raw: dict[str, Any], dialect: str) -> Term:
        """Remember a term: it replaces the overlay's terms that claim its names (or, for a date
        term, its table). Raises `InvalidParams` when it is not a valid glossary term."""
        term = parse_term(raw)
        terms = [t for t in self.glossary().terms if not _clashes(t, term)]
        self._write([*terms, term], dialect)
        return term

    def remove(self, name: str) -> int:
        """Forget the overlay terms with this name (a date term: its table); how many went."""
        name = name.strip().lower()
        overlay = self.glossary()
        kept = [
            t
            for t in overlay.terms
            if name not in t.names and (t.dated_table or "").lower() != name
        ]
        if len(kept) < len(overlay.terms):
            self._write(kept, overlay.dialect)
        return len(overlay.terms) - len(kept)

    def _write(self, terms: list[Term], dialect: str) -> None:
        """The whole file again, atomically (a reader never sees half of it)."""
        text = "# Meanings chosen when a question had two (nlsql glossary list|add|remove).\n"
        text += f"dialect = {json.dumps(dialect)}\n"
        for term in terms:
            text += "\n[[term]]\n"
            for key, value in term.to_dict().items():
                text += f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
        with _write_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(temporary, self.path)


def parse_term(raw: Any) -> Term:
    """A glossary term from a client's JSON (as a clarification option's `choice.term` holds
    it), checked as the glossary file's terms are."""
    if not isinstance(raw, dict):
        raise InvalidParams("A glossary term is an object with `names` and `kind`.", param="term")
    texts = all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(i, str) for i in v))
        for v in raw.values()
    )
    if not texts or set(raw) - _TERM_KEYS:
        raise InvalidParams(
            f"A glossary term has only text fields among {', '.join(sorted(_TERM_KEYS))}.",
            param="term",
        )
    try:
        return Term.from_dict(raw)
    except (ValueError, KeyError) as exc:
        raise InvalidParams(f"Not a glossary term: {exc}", param="term") from exc


def _clashes(old: Term, new: Term) -> bool:
    if new.kind == "date":
        return old.dated_table == new.dated_table
    return bool(set(old.names) & set(new.names))
