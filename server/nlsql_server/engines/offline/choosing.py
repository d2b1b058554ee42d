"""What every step of shaping needs: the reading, the index, and choosing among meanings.

A mention may mean several tables, columns or values; `Resolver._choose` takes the one joined
most cheaply and refuses a true tie. `_date_column` finds the date that places rows in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from ...exceptions import CannotAnswer
from . import clarify
from .measures import parse_column
from .plan import Measure
from .reading import Reading
from .schema_index import (
    ColumnLink,
    Link,
    SchemaIndex,
    TableLink,
    TermLink,
    ValueLink,
    date_ties,
)
from .words import event_word, name_words

_UNREACHABLE = 10**9
#: Words of date column names that say nothing of the event: `paid_on`'s "on", `birth_date`'s "date".
_DATE_WORDS = {"date", "on", "at", "time", "day", "dt", "ts", "timestamp", "when"}


class Resolver:
    """The state shared by the shaping steps, and how they pick one meaning of a mention."""

    def __init__(self, reading: Reading, index: SchemaIndex) -> None:
        self.reading = reading
        self.index = index
        self.doubts = len(reading.ignored)
        self.mentioned = {
            link.table
            for m in reading.tables + reading.dims
            for link in m.links
            if isinstance(link, (TableLink, ColumnLink))
        }

    def _anchor_tables(self) -> set[str]:
        """Tables the other mentions need: a measure column is chosen to reach them cheaply."""
        tables = set(self.mentioned)
        for m, _ in self.reading.values:
            tables |= {link.table for link in m.links if isinstance(link, ValueLink)}
        return tables

    def _date_column(self, root: str, measure: Measure | None) -> tuple[str, str]:
        """The date that places the measured rows in time: the one a word of the question names
        ("born" → birth_date), the term's, the root's, or a parent's."""
        named = self._named_date(root)
        if named is not None:
            return root, named
        if measure is not None and measure.term is not None and measure.term.date_column:
            column = parse_column(measure.term.date_column, self.index)
            if column is not None:
                return column
        chosen = self._glossary_date(root)
        if chosen is not None:
            return chosen
        paths = self.index.graph.paths(root)
        hints = [
            link.table
            for m in self.reading.tables
            for link in m.links
            if isinstance(link, TableLink)
        ]
        for hint in hints:
            # "customers who ordered in 2024": the date of the rows named, below the root.
            path = paths.get(hint, (0, ()))[1]
            date = self.index.tables[hint].date_column
            if date and path and not all(e.many_to_one for e in path):
                return self._glossary_date(hint) or (hint, self._one_date(hint, date))
        forward = sorted(
            (cost, table)
            for table, (cost, edges) in paths.items()
            if all(e.many_to_one for e in edges)
        )
        for _, table in forward:
            facts = self.index.tables[table]
            chosen = self._glossary_date(table)
            if chosen is not None:
                return chosen
            if facts.date_column:
                return table, self._one_date(table, facts.date_column)
            if facts.year_column:
                return table, facts.year_column
        self._fail(f"{root} has no date column to place its rows in time.")
        raise AssertionError  # _fail raised

    def _glossary_date(self, table: str) -> tuple[str, str] | None:
        """The date a glossary date term gives `table`'s rows (a remembered choice, say)."""
        named = self.index.context.glossary.date_of(table)
        return parse_column(named, self.index) if named else None

    def _one_date(self, table: str, date: str) -> str:
        """`date`, the one the schema ranks first among `table`'s dates; when two rank alike
        and nothing in the question picks one, the user is asked (`clarify.dates`)."""
        tied = date_ties(self.index.tables[table])
        if len(tied) < 2:
            return date
        # "invoices issued in 2024": a filler verb may name one of them after all
        said = {event_word(w) for w in self.reading.words}
        named = [c for c in tied if said & {event_word(w) for w in _event_words(c)}]
        if len(named) == 1:
            return named[0]
        raise clarify.dates(table, tied, understood(self.reading))

    def _named_date(self, root: str) -> str | None:
        """A date column of `root` that a word of the question names: "born", "hired", "paid"."""
        dates = [c.name for c in self.index.tables[root].table.columns if c.kind == "date"]
        if len(dates) < 2:
            return None
        said = {event_word(w) for m in self.reading.mentions for w in m.text.lower().split()}
        for name in dates:
            if said & {event_word(w) for w in _event_words(name)}:
                return name
        return None

    # -- choosing among meanings --------------------------------------------------------------

    def _choose(
        self, links: Sequence[Link], anchors: set[str], what: str, root: str | None = None
    ) -> Link:
        """The meaning joined most cheaply (from `root`, or to `anchors`); a true tie is refused."""

        def cost(link: Link) -> tuple[int, int, int]:
            table = getattr(link, "table", "")
            if root is not None:
                joined = self.index.graph.cost(root, table)
            else:
                costs = (self.index.graph.costs_to(a).get(table) for a in anchors)
                joined = sum(_UNREACHABLE if c is None else c for c in costs)
            distinct = self.index.distinct_count(table, getattr(link, "column", ""))
            return (
                _UNREACHABLE if joined is None else joined,
                table not in self.mentioned,
                distinct,
            )

        ranked = sorted(links, key=cost)
        if len(ranked) > 1 and cost(ranked[0])[:2] == cost(ranked[1])[:2]:
            first, second = (getattr(link, "table", "") for link in ranked[:2])
            if first != second:
                self._fail(f"{what} could be {_show(ranked[0])} or {_show(ranked[1])}.")
            self.doubts += 1
        if (
            root is not None
            and self.index.graph.cost(root, getattr(ranked[0], "table", "")) is None
        ):
            self._fail(f"{what} ({_show(ranked[0])}) is not connected to {root} by foreign keys.")
        return ranked[0]

    def _fail(self, message: str) -> NoReturn:
        raise CannotAnswer(message, understood=understood(self.reading))


def _event_words(column: str) -> list[str]:
    """The words of a date column's name that name its event: `paid_on` → paid."""
    return [w for w in name_words(column) if w not in _DATE_WORDS]


def understood(reading: Reading) -> dict[str, object]:
    """What a reading recognised, for a `CannotAnswer`: enough for the user to rephrase."""
    tables = sorted({
        getattr(link, "table", "") for m in reading.mentions for link in m.links
        if not isinstance(link, TermLink)
    })  # fmt: skip
    return {
        "tables": tables,
        "measure": [m.mention.text for m in reading.measures],
        "group_by": [m.text for m in reading.dims],
        "filters": [m.text for m, _ in reading.values]
        + [link.term.names[0] for link, _ in reading.filter_terms]
        + [str(y) for _, y in reading.years],
        "order": reading.order,
        "limit": reading.limit,
        "not_understood": reading.problems,
        "ignored": reading.ignored,
    }


def _show(link: Link) -> str:
    if isinstance(link, ValueLink):
        return f"{link.table}.{link.column} = {link.value!r}"
    if isinstance(link, ColumnLink):
        return f"{link.table}.{link.column}"
    if isinstance(link, TableLink):
        return f"the table {link.table}"
    return link.term.names[0]
