"""Step 3b, groups: conditions on the groups of a plan, read before the measure is chosen.

"customers with more than 20 orders" counts orders per customer (and "how many customers have
more than 20 orders" counts those customers); "customers who spent more than 100000" sums their
orders' amounts; "patients who visited more than 10 times" counts the rows that refer to them;
"which vendors have overdue invoices" keeps the vendors with some such invoice. `Shaper` runs
these first, then chooses the measure.
"""

from __future__ import annotations

from dataclasses import replace

from ...glossary import Term
from .conditions import Conditions
from .linking import Mention, Role
from .plan import Measure
from .reading import MeasureMention
from .schema_index import ColumnLink, TableLink, TermLink
from .words import name_words


class Groups(Conditions):
    """The group-condition steps of `Shaper`."""

    def _regroup(self) -> str | None:
        """ "customers with more than 20 orders": count the orders per customer, and maybe count
        those customers ("how many customers have more than 20 orders")."""
        reading = self.reading
        self._spent()
        self._times()
        self._present()
        counted = next((c for c in reading.comparisons if c.counted is not None), None)
        if counted is None or counted.counted is None:
            return reading.outer
        outer = reading.outer
        group = reading.dims[0] if reading.dims else reading.ranked
        if group is None:
            counts = [m for m in reading.measures if m.aggregate == "count"]
            if counts and table_of(counts[0].mention) != table_of(counted.counted):
                group, outer = counts[0].mention, "count"
        if group is None:
            group = next(iter(reading.tables + reading.columns), None)
        if group is None:
            self._fail(
                f"I could not tell what has {counted.op} {counted.number:g} {counted.counted.text}."
            )
        assert group is not None
        reading.measures = [MeasureMention("count", counted.counted, 0)]
        for kept in (reading.tables, reading.columns):
            if group in kept:
                kept.remove(group)
        if group is not reading.ranked and group not in reading.dims:
            reading.dims.insert(0, group)
        self.mentioned |= {getattr(link, "table", "") for link in group.links}
        return outer

    def _spent(self) -> None:
        """ "customers who spent more than 100000": a table with no amount of its own is compared
        on the sum of the one table below it that has one (their orders' amounts)."""
        reading = self.reading
        for c in list(reading.comparisons):
            table = table_of(c.subject) if c.subject is not None else None
            if c.counted is not None or table is None or self.index.tables[table].measure:
                continue
            amounts = [
                (child, self.index.tables[child].measure)
                for child, _ in self.index.graph.children(table)
                if child != table and self.index.tables[child].measure
            ]
            if len(amounts) != 1 or reading.measures:
                continue
            child, column = amounts[0]
            assert c.subject is not None and column is not None
            words = " ".join(name_words(column))
            amount = Mention(Role.SCHEMA, c.subject.start, c.subject.end, words,
                             (ColumnLink(child, column),))  # fmt: skip
            reading.measures = [MeasureMention("sum", amount, -1)]
            reading.comparisons[reading.comparisons.index(c)] = replace(c, subject=amount)
            if c.subject not in reading.dims and c.subject is not reading.ranked:
                for kept in (reading.tables, reading.columns):
                    if c.subject in kept:
                        kept.remove(c.subject)
                reading.dims.insert(0, c.subject)
            self.doubts += 1

    def _times(self) -> None:
        """ "patients who visited more than 10 times": count the rows that refer to them."""
        reading = self.reading
        for c in list(reading.comparisons):
            table = table_of(c.subject) if c.subject is not None else None
            if not c.times or c.counted is not None or c.subject is None or table is None:
                continue
            named = [m.mention for m in reading.measures] + reading.tables + reading.dims
            owners = {table_of(m) for m in named if m is not c.subject} - {None, table}
            if any(table in dict(self.index.graph.children(str(o))) for o in owners):
                # "customers who ordered more than 30 times": the orders are what is counted
                reading.comparisons[reading.comparisons.index(c)] = replace(c, counted=c.subject)
                continue
            children = [child for child, _ in self.index.graph.children(table) if child != table]
            dated = [child for child in children if self.index.tables[child].date_column]
            chosen = children if len(children) == 1 else dated
            if len(chosen) != 1:
                self._fail(f"I could not tell which rows of {table} to count.")
            rows = Mention(Role.SCHEMA, c.subject.end, c.subject.end, chosen[0],
                           (TableLink(chosen[0]),))  # fmt: skip
            reading.comparisons[reading.comparisons.index(c)] = replace(c, counted=rows)
            self.doubts += 1

    def _present(self) -> None:
        """ "which vendors have overdue invoices": the vendors, with some such invoice."""
        reading = self.reading
        if not (reading.asked_which and reading.dims and reading.tables) or reading.measures:
            return
        if reading.order or reading.comparisons or reading.absent:
            return
        subject = table_of(reading.dims[0])
        if subject is None:
            return
        children = {child for child, _ in self.index.graph.children(subject)} - {subject}
        related = next((m for m in reading.tables if table_of(m) in children), None)
        if related is None:
            return
        reading.present = related
        reading.tables.remove(related)
        reading.tables.insert(0, reading.dims.pop(0))
        reading.asked_which = False

    def _having(self, measure: Measure | None) -> tuple[str, float] | None:
        """A comparison on a count per group or on the measure itself becomes a HAVING."""
        reading = self.reading
        for c in reading.comparisons:
            on_measure = (
                c.subject is not None
                and any(m.mention is c.subject for m in reading.measures)
                and (measure_term(c.subject) is not None or not has_table(c.subject))
            )
            if c.counted is not None or on_measure:
                if measure is None:
                    self._fail("I could not tell what the condition is on.")
                reading.comparisons = [o for o in reading.comparisons if o is not c]
                if not reading.dims and reading.ranked is None:
                    group = next(iter(reading.tables + reading.columns), None)
                    if group is None:
                        self._fail(f"I could not tell what has {c.op} {c.number:g}.")
                    assert group is not None
                    reading.dims.insert(0, group)
                return c.op, c.number
        return None


def has_table(m: Mention) -> bool:
    return any(isinstance(link, TableLink) for link in m.links)


def table_of(m: Mention) -> str | None:
    return next((link.table for link in m.links if isinstance(link, TableLink)), None)


def measure_term(m: Mention) -> Term | None:
    return next(
        (
            link.term
            for link in m.links
            if isinstance(link, TermLink) and link.term.kind == "measure"
        ),
        None,
    )
