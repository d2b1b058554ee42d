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

    [[term]]
    names = ["orders"]
    kind = "date"                     # "date": the date that places a table's rows in time
    date_column = "orders.order_date" #   when a question does not say which of its dates
    tables = ["orders"]

A database's glossary may have an overlay (`overlay.py`): the terms a user chose when a question
had two meanings. `Glossary.merged` lays it over the database's: an overlay term takes each of
its names (and a date term its table) from the terms beneath.
"""

from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

TermKind = Literal["measure", "filter", "date"]
KINDS = ("measure", "filter", "date")
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
        if kind not in KINDS:
            raise ValueError(f"glossary term {raw.get('names')}: unknown kind {kind!r}")
        aggregate = raw.get("aggregate")
        if kind == "measure" and (not raw.get("value") or aggregate not in AGGREGATES):
            raise ValueError(
                f"glossary term {raw.get('names')}: a measure needs `value` and an `aggregate`"
                f" among {AGGREGATES}"
            )
        if kind == "filter" and not raw.get("filter"):
            raise ValueError(f"glossary term {raw.get('names')}: a filter needs `filter`")
        if kind == "date" and "." not in str(raw.get("date_column") or ""):
            raise ValueError(
                f"glossary term {raw.get('names')}: a date term needs `date_column` as table.column"
            )
        if not raw.get("names") or not all(isinstance(n, str) and n for n in raw["names"]):
            raise ValueError("a glossary term needs `names`, a list of words")
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
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in self.__dict__.items()
            if v not in (None, "", ())
        }

    @property
    def dated_table(self) -> str | None:
        """A date term's table: the one whose rows its `date_column` places in time."""
        if self.kind != "date" or not self.date_column:
            return None
        return self.tables[0] if self.tables else self.date_column.split(".")[0]


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

    def date_of(self, table: str) -> str | None:
        """The `date_column` a date term gives `table`'s rows, if one does."""
        return next((t.date_column for t in self.terms if t.dated_table == table), None)

    def merged(self, overlay: Glossary) -> Glossary:
        """This glossary with `overlay`'s terms laid over it (see the module docstring)."""
        return _merge(self, overlay) if overlay.terms else self


def term_rows(state: dict[str, Any]) -> list[dict[str, str]]:
    """The terms of a `glossary.list` result as rows a person reads, the overlay's first:
    source, names, kind and meaning (for `nlsql glossary` and `%nlsql glossary`)."""
    rows = []
    for source in ("overlay", "glossary"):
        for term in state.get(source) or ():
            kind = str(term.get("kind", "measure"))
            if kind == "date":
                meaning = f"dated by {term.get('date_column')}"
            elif kind == "measure":
                meaning = f"{term.get('aggregate')}({term.get('value')})"
            else:
                meaning = f"where {term.get('filter')}"
            names = ", ".join(term.get("names", ()))
            rows.append({"source": source, "names": names, "kind": kind, "meaning": meaning})
    return rows


@functools.lru_cache(maxsize=64)
def _merge(base: Glossary, overlay: Glossary) -> Glossary:
    """Overlay terms first; beneath, each name an overlay term takes is dropped (a term left
    with none goes), and a date term for a table the overlay dates."""
    taken = {name for term in overlay.terms if term.kind != "date" for name in term.names}
    dated = {term.dated_table for term in overlay.terms if term.kind == "date"}
    kept: list[Term] = []
    for term in base.terms:
        if term.kind == "date" and term.dated_table in dated:
            continue
        names = tuple(n for n in term.names if n not in taken)
        if names:
            kept.append(replace(term, names=names) if names != term.names else term)
    return Glossary(terms=overlay.terms + tuple(kept), dialect=base.dialect)


@functools.lru_cache(maxsize=64)
def _parse(path: Path, mtime_ns: int, size: int) -> Glossary:
    """Parse one version of a glossary file (the fingerprint is the cache key)."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return Glossary(
        terms=tuple(Term.from_dict(t) for t in raw.get("term", [])),
        dialect=raw.get("dialect", "mysql"),
    )
