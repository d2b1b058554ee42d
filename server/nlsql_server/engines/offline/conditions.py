"""Step 3b, conditions: values, glossary filters, comparisons, periods and absent rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .choosing import Resolver
from .joins import Edge
from .linking import Mention
from .measures import term_root
from .periods import span
from .plan import Filter, Measure
from .reading import Comparison
from .schema_index import (
    ColumnLink,
    TableLink,
    ValueLink,
    is_numeric,
)


class Conditions(Resolver):
    """The WHERE side of a plan."""

    # -- filters ------------------------------------------------------------------------------

    def filters(self, root: str, measure: Measure | None) -> list[Filter]:
        filters: list[Filter] = []
        by_column: dict[tuple[str, str, bool], list[str]] = {}
        for m, negated in self.reading.values:
            link = self._choose(m.links, {root}, what=f"“{m.text}”", root=root)
            assert isinstance(link, ValueLink)
            by_column.setdefault((link.table, link.column, negated), []).append(link.value)
        for (table, name, negated), values in by_column.items():
            filters.append(Filter("value", table, name, tuple(values), negated))
        for link, negated in self.reading.filter_terms:
            root_of_term = term_root(link.term, self.index)
            filters.append(Filter("term", root_of_term, negated=negated, term=link.term))
        filters += [self._comparison(root, c) for c in self.reading.comparisons]
        filters += [Filter("empty", table, name) for table, name in self.reading.empty]
        periods = self._periods(root, measure)
        related = [self._related(root, m, periods) for m in self.reading.absent]
        present = self.reading.present
        if present is not None:
            # "which vendors have overdue invoices": the conditions are on the invoices
            tables = {getattr(link, "table", "") for link in present.links}
            inside = [f for f in filters if f.table in tables]
            filters = [f for f in filters if f not in inside]
            if not inside and not periods and self.reading.ignored:
                shown = ", ".join(f"“{w}”" for w in self.reading.ignored)
                self._fail(f"I could not place {shown}, which may say which {present.text}.")
            related.append(self._related(root, present, periods, inside, negated=False))
        if related:
            return filters + related
        return filters + periods

    def _comparison(self, root: str, c: Comparison) -> Filter:
        """ "orders over 5000" (the table's amount), "a unit price under 10" (that column)."""
        subject = c.subject
        if subject is None:
            self._fail(f"I could not tell what should be {c.op} {c.number:g}.")
        assert subject is not None
        columns = [
            link
            for link in subject.links
            if isinstance(link, ColumnLink)
            and is_numeric(self.index.column(link.table, link.column))
        ]
        if not columns:
            for table in (getattr(link, "table", "") for link in subject.links):
                amount = self.index.tables[table].measure if table else None
                if amount:
                    columns = [ColumnLink(table, amount)]
                    break
        if not columns:
            self._fail(f"I could not tell which number of “{subject.text}” to compare.")
        link = self._choose(columns, {root}, what=f"“{subject.text}”", root=root)
        assert isinstance(link, ColumnLink)
        return Filter("compare", link.table, link.column, op=c.op, number=c.number)

    def _related(
        self,
        root: str,
        m: Mention | None,
        periods: list[Filter],
        conditions: Sequence[Filter] = (),
        negated: bool = True,
    ) -> Filter:
        """ "customers who never ordered": no row of `orders` refers to the customer;
        "products with no orders in 2025": no order line of theirs is on an order of 2025."""
        children = dict(self.index.graph.children(root))
        children.pop(root, None)
        path: tuple[Edge, ...] = ()
        if m is not None:
            named = [link.table for link in m.links if isinstance(link, TableLink)]
            found = [t for t in named if t in children]
            if not found:
                path, found = self._through_child(children, named)
            if not found:
                self._fail(f"No foreign key of {' or '.join(named)} refers to {root}.")
            other = found[0]
        elif len(children) == 1:
            other = next(iter(children))
        else:
            self._fail(f"I could not tell which rows {root} should have none of.")
        if path:
            other = path[0].table
        inner = list(conditions)
        for period in periods:
            dated = self._dated(other, path)
            if dated is None:
                self._fail(f"{other} has no date to place its rows in time.")
            assert dated is not None
            table, date, path = dated
            inner.append(replace(period, table=table, column=date))
        key = self.index.tables[root].table.primary_key
        if len(key) != 1:
            self._fail(f"{root} has no single primary key.")
        return Filter("related", root, key[0], negated=negated, other=other,
                      other_column=children[other], inner=tuple(inner), path=path)  # fmt: skip

    def _through_child(
        self, children: dict[str, str], named: list[str]
    ) -> tuple[tuple[Edge, ...], list[str]]:
        """A named table reached many-to-one from a child (products ← order_items → orders)."""
        for child in children:
            paths = self.index.graph.paths(child)
            for table in named:
                edges = paths.get(table, (0, ()))[1]
                if edges and all(e.many_to_one for e in edges):
                    return edges, [table]
        return (), []

    def _dated(
        self, table: str, path: tuple[Edge, ...]
    ) -> tuple[str, str, tuple[Edge, ...]] | None:
        """The date of `table`'s rows: its own, else that of a parent reached many-to-one."""
        reached = {table: ()} | {e.other: path[: i + 1] for i, e in enumerate(path)}
        paths = self.index.graph.paths(table)
        forward = sorted(
            (cost, name) for name, (cost, edges) in paths.items()
            if all(e.many_to_one for e in edges)
        )  # fmt: skip
        for name in [*reached, *(name for _, name in forward)]:
            date = self.index.tables[name].date_column
            if date:
                return name, date, reached.get(name, paths[name][1])
        return None

    def _periods(self, root: str, measure: Measure | None) -> list[Filter]:
        filters: list[Filter] = []
        if self.reading.relative:
            if self.reading.years or self.reading.months or len(self.reading.relative) > 1:
                self._fail("I can filter on one period at a time.")
            reference = self.index.context.reference_date
            if reference is None:
                self._fail("This database has no dates to count “last” or “this” from.")
            assert reference is not None
            start, end = span(str(self.reading.relative[0].value), reference)
            if self.reading.absent or self.reading.present:
                table, column = root, ""
            else:
                table, column = self._date_column(root, measure)
            if column and column == self.index.tables[table].year_column:
                if (start.month, start.day, end.month, end.day) != (1, 1, 1, 1):
                    self._fail(f"{table} records a year ({column}), not a date.")
                return [Filter("years", table, column, years=(start.year, end.year - 1))]
            return [Filter("span", table, column, span=(start.isoformat(), end.isoformat()))]
        if self.reading.years or self.reading.months:
            if self.reading.absent or self.reading.present:
                return [Filter("years", root, "", years=self._years(), months=self._months())]
            table, column = self._date_column(root, measure)
            months = self._months()
            if months and column == self.index.tables[table].year_column:
                self._fail(f"{table} records a year ({column}), not months.")
            filters.append(Filter("years", table, column, years=self._years(), months=months))
        return filters

    def _months(self) -> tuple[int, int] | None:
        """ "March 2024", "Q2 2025": one span of months, within one named year."""
        months = self.reading.months
        if not months:
            return None
        plain = [year for op, year in self.reading.years if op == ""]
        if len(months) > 1 or len(plain) != 1 or len(self.reading.years) != 1:
            self._fail("I can filter on one month or quarter of one year, such as “March 2024”.")
        return months[0]

    def _years(self) -> tuple[int | None, int | None]:
        """One span of years, inclusive, open-ended or not: "in 2024", "since 2023", "2023 to 2025"."""
        first: int | None = None
        last: int | None = None
        plain: list[int] = []
        for op, year in self.reading.years:
            if op in ("since", "between"):
                first = year
            elif op == "after":
                first = year + 1
            elif op in ("until", "to"):
                last = year
            elif op == "before":
                last = year - 1
            else:
                plain.append(year)
        plain.sort()
        if first is None and last is None and len(plain) == 1:
            return plain[0], plain[0]
        if first is None and last is None and len(plain) == 2 and plain[1] - plain[0] == 1:
            return plain[0], plain[1]
        if first is None and last is not None and len(plain) == 1:
            return plain[0], last
        if last is None and first is not None and len(plain) == 1:
            return first, plain[0]
        if plain:
            self._fail("I can filter on one span of years (such as 2023 to 2025), not on several.")
        return first, last
