"""Business terms → SQL: the glossary an engine consults before it looks at column names.

A glossary is a TOML file (see `samples/retail_glossary.toml`)::

    dialect = "mysql"                 # sqlglot dialect the expressions below are written in

    [[term]]
    names = ["revenue", "sales", "turnover"]
    kind = "measure"                  # "measure": a value to aggregate; "filter": a condition
    value = "orders.total_amount"     # measure: the per-row value
    aggregate = "sum"                 # measure: sum | avg | count | min | max
    filter = "orders.status NOT IN ('cancelled', 'returned')"   # optional for a measure
    date_column = "orders.order_date" # optional: the date that places a row in time
    tables = ["orders"]               # tables the expressions reference
    description = "Sum of order totals, leaving out cancelled and returned orders."
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

TermKind = Literal["measure", "filter"]
AGGREGATES = ("sum", "avg", "count", "min", "max")


@dataclass(frozen=True)
class Term:
    names: tuple[str, ...]
    kind: TermKind
    tables: tuple[str, ...]
    description: str = ""
    value: str | None = None
    aggregate: str | None = None
    filter: str | None = None
    date_column: str | None = None

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Term:
        kind = raw.get("kind", "measure")
        if kind not in ("measure", "filter"):
            raise ValueError(f"glossary term {raw.get('names')}: unknown kind {kind!r}")
        aggregate = raw.get("aggregate")
        if kind == "measure" and (not raw.get("value") or aggregate not in AGGREGATES):
            raise ValueError(
                f"glossary term {raw.get('names')}: a measure needs `value` and an `aggregate`"
                f" among {AGGREGATES}"
            )
        if kind == "filter" and not raw.get("filter"):
            raise ValueError(f"glossary term {raw.get('names')}: a filter needs `filter`")
        return cls(
            names=tuple(n.lower() for n in raw["names"]),
            kind=kind,
            tables=tuple(raw.get("tables", ())),
            description=raw.get("description", ""),
            value=raw.get("value"),
            aggregate=aggregate,
            filter=raw.get("filter"),
            date_column=raw.get("date_column"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", ())}


@dataclass(frozen=True)
class Glossary:
    """The terms of one database, and the sqlglot dialect their expressions are written in."""

    terms: tuple[Term, ...] = ()
    dialect: str = "mysql"

    @classmethod
    def load(cls, path: Path) -> Glossary:
        """The glossary in a TOML file; a missing file is an empty glossary.

        Parsed once per file fingerprint (modification time in ns and size): every question
        asks for its database's glossary, and an unchanged file hands back the same object,
        while an edited one is read again.
        """
        try:
            stat = path.stat()
        except FileNotFoundError:
            return cls()
        return _parse(path.resolve(), stat.st_mtime_ns, stat.st_size)

    def to_dict(self) -> dict[str, Any]:
        return {"dialect": self.dialect, "terms": [t.to_dict() for t in self.terms]}


@functools.lru_cache(maxsize=64)
def _parse(path: Path, mtime_ns: int, size: int) -> Glossary:
    """Parse one version of a glossary file (the fingerprint is the cache key)."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return Glossary(
        terms=tuple(Term.from_dict(t) for t in raw.get("term", [])),
        dialect=raw.get("dialect", "mysql"),
    )
