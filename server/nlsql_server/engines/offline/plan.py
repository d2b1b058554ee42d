"""The shape of an answer, decided before any SQL exists: what to measure, per what, for what.

A `Plan` is plain data. `shape.py` fills it from the linked question, `build.py` turns it into a
sqlglot tree, and `describe` / `understood` turn it into words for the person who asked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from sqlglot import exp

from ...glossary import Term
from .joins import Edge, JoinTree

Grain = Literal["year", "quarter", "month", "day"]
_AGGREGATE_WORDS = {"sum": "sum", "avg": "average", "min": "minimum", "max": "maximum",
                    "count": "count"}  # fmt: skip


@dataclass(frozen=True)
class Measure:
    """One aggregated value of the rows of `table`: a column, a glossary term, or COUNT(*).

    `value`, when set, replaces the term's or column's value: the measure re-based on line rows.
    """

    aggregate: str
    table: str
    name: str
    column: str | None = None
    term: Term | None = None
    value: exp.Expr | None = None

    def describe(self) -> str:
        if self.aggregate == "count_distinct":
            return f"number of distinct {self.table}.{self.column}"
        if self.aggregate == "count":
            return f"number of {self.table}"
        if self.value is not None:
            what = self.value.sql()
        elif self.term is not None and self.term.value:
            what = self.term.value
        else:
            what = f"{self.table}.{self.column}"
        text = f"{_AGGREGATE_WORDS[self.aggregate]} of {what}"
        return f"{text} ({self.term.names[0]})" if self.term is not None else text


@dataclass(frozen=True)
class Dimension:
    """What the answer is broken down by: a table's rows, a column, or a period of a date."""

    kind: Literal["entity", "column", "time"]
    table: str
    name: str
    #: The column grouped on (column), or the date or year column (time); None for an entity.
    column: str | None = None
    grain: Grain | None = None

    def describe(self) -> str:
        if self.kind == "time":
            return f"{self.grain} of {self.table}.{self.column}"
        if self.kind == "entity":
            return self.name.replace("_", " ")
        return f"{self.table}.{self.column}"


@dataclass(frozen=True)
class Filter:
    """A condition: a column among values, a span of years or dates, a glossary term's filter,
    a comparison with a number, an empty column (NULL: "not yet shipped"), or related rows: none ("never ordered", `negated`) or some
    ("which vendors have overdue invoices")."""

    kind: Literal["value", "years", "term", "span", "compare", "related", "empty"]
    table: str
    column: str = ""
    values: tuple[str, ...] = ()
    negated: bool = False
    #: First and last year, inclusive, None for an open end (kind "years").
    years: tuple[int | None, int | None] = (None, None)
    #: First and last month, inclusive, within the one year of `years` ("March 2024", "Q2 2025").
    months: tuple[int, int] | None = None
    term: Term | None = None
    #: First day and the day after the last, ISO dates (kind "span").
    span: tuple[str, str] | None = None
    #: Operator and number (kind "compare").
    op: str = ""
    number: float = 0.0
    #: The related table, its key to `table`, and conditions on its rows (kind "related").
    other: str = ""
    other_column: str = ""
    inner: tuple[Filter, ...] = ()
    #: Joins from `other` to the tables `inner` reads (order_items → orders).
    path: tuple[Edge, ...] = ()

    def describe(self) -> str:
        if self.kind == "span" and self.span is not None:
            return f"{self.table}.{self.column} from {self.span[0]} to before {self.span[1]}"
        if self.kind == "compare":
            return f"{self.table}.{self.column} {self.op} {self.number:g}"
        if self.kind == "empty":
            return f"{self.table}.{self.column} is empty"
        if self.kind == "related":
            inner = " with " + " and ".join(f.describe() for f in self.inner) if self.inner else ""
            return f"{'no' if self.negated else 'some'} {self.other}{inner}"
        if self.kind == "term" and self.term is not None:
            return ("not " if self.negated else "") + self.term.names[0]
        if self.kind == "years":
            first, last = self.years
            if self.months is not None:
                low, high = self.months
                span = f"{first}-{low:02d}" + (f" to {first}-{high:02d}" if high != low else "")
                return f"{self.table}.{self.column} in {span}"
            if first == last:
                return f"{self.table}.{self.column} in {first}"
            if last is None:
                return f"{self.table}.{self.column} from {first} on"
            if first is None:
                return f"{self.table}.{self.column} up to {last}"
            return f"{self.table}.{self.column} in {first}–{last}"
        shown = " or ".join(repr(v) for v in self.values)
        return f"{self.table}.{self.column} {'is not' if self.negated else 'is'} {shown}"


@dataclass(frozen=True)
class Plan:
    """Everything the SQL will say. `measure` None means a plain listing of the root's rows."""

    root: str
    joins: JoinTree
    measure: Measure | None
    dims: tuple[Dimension, ...] = ()
    filters: tuple[Filter, ...] = ()
    order: Literal["asc", "desc"] | None = None
    limit: int | None = None
    #: Count distinct root keys because a join repeats root rows.
    distinct: bool = False
    #: A condition on the measure of each group ("more than 20 orders"): operator, number.
    having: tuple[str, float] | None = None
    #: An aggregate over the groups' measures ("average number of items per order", "how many
    #: customers have more than 20 orders"): the answer is one row.
    outer: str | None = None
    #: The measure as a percentage: of the rows meeting `conditions`, or (none) of all groups.
    share: bool = False
    conditions: tuple[Filter, ...] = ()
    #: A listing's rows in order of this (table, column), for "the 5 highest fees".
    sort: tuple[str, str] | None = None
    #: Tables whose names a listing shows beside each row: "the products with their category".
    shown: tuple[str, ...] = ()
    #: More measures of the root's rows beside `measure`: "the number of orders and the average
    #: order value per channel".
    also: tuple[Measure, ...] = ()
    confidence: float = 1.0
    ignored: tuple[str, ...] = field(default_factory=tuple)
    #: Words neither placed nor ignored on purpose (a lead-in): `auto` asks the LLM instead.
    unplaced: tuple[str, ...] = field(default_factory=tuple)

    def explanation(self) -> str:
        """One sentence: "Sum of orders.total_amount per customer, highest first, top 5." """
        if self.measure is None:
            text = f"Rows of {self.root}"
            if self.shown:
                text += " with their " + " and ".join(self.shown)
            if self.sort is not None:
                text += f" by {self.sort[0]}.{self.sort[1]}"
        else:
            text = " and ".join(m.describe() for m in (self.measure, *self.also))
            text = text[0].upper() + text[1:]
        if self.share:
            text = "Percentage of the " + text[0].lower() + text[1:]
            if self.conditions:
                text += " where " + " and ".join(f.describe() for f in self.conditions)
        if self.dims:
            text += " per " + " and ".join(d.describe() for d in self.dims)
        if self.having:
            text += f" having {self.having[0]} {self.having[1]:g}"
        if self.outer:
            text = f"{_AGGREGATE_WORDS[self.outer].capitalize()} over the groups of: {text}"
        if self.filters:
            text += ", where " + " and ".join(f.describe() for f in self.filters)
        if self.order and self.limit:
            first = "highest" if self.order == "desc" else "lowest"
            text += f", {first} first, top {self.limit}"
        elif self.order:
            text += ", highest first" if self.order == "desc" else ", lowest first"
        return text + "."

    def understood(self) -> dict[str, Any]:
        """The plan as JSON-ready data, for `Generated.understood`."""
        return {
            "measure": self.measure.describe() if self.measure else None,
            "group_by": [d.describe() for d in self.dims],
            "filters": [f.describe() for f in self.filters],
            "order": self.order,
            "limit": self.limit,
            "tables": list(self.joins.tables),
            "ignored": list(self.ignored),
            "unplaced": list(self.unplaced),
        }
