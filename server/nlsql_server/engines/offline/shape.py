"""Step 3b: resolve the reading against the schema into a `Plan`, or say why it cannot.

The measure fixes the root table (the table whose rows are aggregated). Every other mention then
takes the meaning that is cheapest to join from that root, and the join tree is checked for
fan-out: a SUM or AVG over a join that repeats the root's rows is refused, not returned wrong.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal, cast

from sqlglot import exp

from ...exceptions import CannotAnswer
from ...glossary import Term
from .joins import Edge, JoinTree
from .linking import Mention, Role
from .measures import expression_tables, line_value, parse_column, term_root
from .periods import span
from .plan import Dimension, Filter, Grain, Measure, Plan
from .reading import Comparison, MeasureMention, Reading, is_measure_like
from .schema_index import (
    ColumnLink,
    Link,
    SchemaIndex,
    TableLink,
    TermLink,
    ValueLink,
    is_numeric,
)
from .words import event_word, lemma, name_words, phrase_words

_DEFAULT_LIMIT = 10
#: Words of date column names that say nothing of the event: `paid_on`'s "on", `birth_date`'s "date".
_DATE_WORDS = {"date", "on", "at", "time", "day", "dt", "ts", "timestamp", "when"}
_UNREACHABLE = 10**9


class Shaper:
    """Turns one `Reading` into a `Plan` against one `SchemaIndex`."""

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

    def plan(self) -> Plan:
        reading = self.reading
        self.doubts += sum(1 for m in reading.mentions if m.value == "near")
        outer = self._regroup()
        measure = self._measure()
        root = measure.table if measure else self._listed_table()
        having = self._having(measure)
        dims = self._dims(root, measure)
        if measure is None and dims and reading.order:
            measure = self._default_measure(dims[0])
        if measure is None and dims:
            self._fail("I could not tell what to count or add up per " + dims[0].describe() + ".")
        sort = self._sort(root, measure, dims)
        if sort is not None:
            measure = None
        if (
            reading.order
            and not dims
            and sort is None
            and (measure is None or measure.aggregate == "count")
        ):
            self._fail(
                "I could not tell what to rank: name it, as in “top 5 customers by revenue”."
            )
        if outer is None and measure is not None:
            outer, measure = self._nested(measure, dims)
        if outer is not None and not dims:
            self._fail("I could not tell what to group by before taking the " + outer + ".")
        filters = self._filters(root, measure)
        conditions: list[Filter] = []
        if reading.share:
            if measure is None:
                self._fail("I could not tell what the percentage is of.")
            conditions = [f for f in filters if f.kind in ("value", "term", "compare")]
            filters = [f for f in filters if f not in conditions]
            if not conditions and not dims:
                self._fail("I could not tell which part to take the percentage of.")
        order, limit = self._order(dims)
        if sort is not None:
            order, limit = cast(Literal["asc", "desc"], reading.order), reading.limit
        if outer is not None:
            order, limit = None, None
        tree = self._joins(root, measure, dims, filters + conditions)
        if tree.fans_out and measure is not None and measure.aggregate in ("sum", "avg"):
            measure = self._rebase(measure, tree)
            root = measure.table
            tree = self._joins(root, measure, dims, filters + conditions)
        confidence = max(0.0, 1.0 - 0.1 * self.doubts)
        return Plan(root=root, joins=tree, measure=measure, dims=tuple(dims),
                    filters=tuple(filters), order=order, limit=limit, distinct=tree.fans_out,
                    confidence=round(confidence, 2), ignored=tuple(reading.ignored),
                    having=having, outer=outer, share=reading.share,
                    conditions=tuple(conditions), sort=sort)  # fmt: skip

    # -- conditions on groups, nested aggregates, sorted listings ------------------------------

    def _regroup(self) -> str | None:
        """ "customers with more than 20 orders": count the orders per customer, and maybe count
        those customers ("how many customers have more than 20 orders")."""
        reading = self.reading
        counted = next((c for c in reading.comparisons if c.counted is not None), None)
        if counted is None or counted.counted is None:
            return reading.outer
        outer = reading.outer
        group = reading.dims[0] if reading.dims else reading.ranked
        if group is None:
            counts = [m for m in reading.measures if m.aggregate == "count"]
            if counts and _table_of(counts[0].mention) != _table_of(counted.counted):
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

    def _having(self, measure: Measure | None) -> tuple[str, float] | None:
        """A comparison on a count per group or on the measure itself becomes a HAVING."""
        reading = self.reading
        for c in reading.comparisons:
            on_measure = (
                c.subject is not None
                and any(m.mention is c.subject for m in reading.measures)
                and (_term(c.subject) is not None or not _has_table(c.subject))
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

    def _nested(self, measure: Measure, dims: list[Dimension]) -> tuple[str | None, Measure]:
        """ "average revenue per customer": the average of per-customer sums, not of orders."""
        explicit = next((m for m in self.reading.measures if m.aggregate == "avg"), None)
        term = measure.term
        if (
            explicit is not None
            and term is not None
            and term.aggregate in ("sum", "count")
            and dims
            and all(d.kind == "entity" for d in dims)
        ):
            return "avg", replace(measure, aggregate=term.aggregate)
        return None, measure

    def _sort(
        self, root: str, measure: Measure | None, dims: list[Dimension]
    ) -> tuple[str, str] | None:
        """ "the 5 highest appointment fees": the rows themselves, by that column."""
        reading = self.reading
        if (
            measure is None
            or dims
            or not reading.order
            or not reading.limit
            or reading.limit < 2
            or measure.column is None
            or measure.aggregate not in ("max", "min")
            or any(m.aggregate for m in reading.measures)
        ):
            return None
        return measure.table, measure.column

    def _joins(
        self, root: str, measure: Measure | None, dims: list[Dimension], filters: list[Filter]
    ) -> JoinTree:
        tables = {d.table for d in dims} | {f.table for f in filters}
        if measure is not None and measure.term is not None:
            tables |= expression_tables(measure.term, self.index, with_value=measure.value is None)
        tree = self.index.graph.tree(root, tables)
        if tree is None:
            self._fail(f"No foreign keys connect {root} with {', '.join(sorted(tables - {root}))}.")
        assert tree is not None
        return tree

    def _rebase(self, measure: Measure, tree: JoinTree) -> Measure:
        """A sum split by something of its rows' lines ("sales by category"): sum the lines.

        An order's total cannot be split by category, but its lines can: when the one step away
        from the root walks to a line table (order_items) holding its own amount, or a quantity
        and a price, the sum is taken over those lines instead.
        """
        backward = [e for e in tree.edges if not e.many_to_one]
        value = measure.column
        if measure.term is not None and measure.term.value:
            parsed = self.index.expression(measure.term.value)
            value = (
                parsed.name
                if isinstance(parsed, exp.Column) and parsed.table == measure.table
                else None
            )
        line = None
        if (
            measure.aggregate == "sum"
            and value
            and len(backward) == 1
            and backward[0].table == measure.table
        ):
            line = line_value(self.index.tables[backward[0].other].table, value)
        if line is None:
            far = ", ".join(e.other for e in backward)
            self._fail(
                f"Reaching {far} from {measure.table} repeats {measure.table} rows, so the "
                f"{measure.aggregate.upper()} would count them more than once."
            )
        self.doubts += 1
        return Measure("sum", backward[0].other, measure.name, term=measure.term, value=line)

    # -- measure ------------------------------------------------------------------------------

    def _measure(self) -> Measure | None:
        """The one measure asked for, or a count of the rows of the table talked about."""
        explicit = [m for m in self.reading.measures if m.aggregate or _term(m.mention)]
        asked = explicit or self.reading.measures
        if len({id(m.mention) for m in asked}) > 1:
            shown = " and ".join(f"“{m.mention.text}”" for m in asked)
            self._fail(f"I can answer one measure at a time; this asks for {shown}.")
        if self.reading.distinct is not None:
            if asked and not explicit and not self.reading.share:
                self.doubts += 1
            return self._distinct(self.reading.distinct)
        if asked:
            return self._measure_of(asked[0])
        if self.reading.dims and self.reading.tables and not self.reading.asked_which:
            return self._count(self.reading.tables[0], None)
        counting = any(m.role is Role.AGG and m.value == "count" for m in self.reading.mentions)
        if counting and not self.reading.tables and self.reading.values:
            # "how many sales representatives are there": the rows holding that value
            value = next(link for link in self.reading.values[0][0].links)
            table = getattr(value, "table", "")
            return Measure("count", table, self.index.tables[table].singular + "_count")
        if counting and self.reading.absent and self.reading.tables:
            return self._count(self.reading.tables[0], "count")
        return None

    def _distinct(self, m: Mention) -> Measure:
        """ "distinct countries": COUNT(DISTINCT country); "unique customers who ordered": the
        distinct customer keys of the rows that refer to them."""
        name = "distinct_" + "_".join(phrase_words(m.text))
        columns = [link for link in m.links if isinstance(link, ColumnLink)]
        tables = [link.table for link in m.links if isinstance(link, TableLink)]
        if columns and not tables:
            link = self._choose(columns, self._anchor_tables(), what=f"“{m.text}”")
            assert isinstance(link, ColumnLink)
            return Measure("count_distinct", link.table, name, column=link.column)
        if not tables:
            self._fail(f"I could not tell what to count once each in “{m.text}”.")
        target = tables[0]
        children = self.index.graph.children(target)
        if not children:
            return self._count(m, "count")
        mentioned = self.mentioned - {target}
        period = bool(self.reading.years or self.reading.months or self.reading.relative)

        def rank(child: tuple[str, str]) -> tuple[bool, bool, bool]:
            table = child[0]
            paths = self.index.graph.paths(table)
            reaches = any(t in paths and all(e.many_to_one for e in paths[t][1]) for t in mentioned)
            dated = self.index.tables[table].date_column is not None
            return (table not in mentioned, not reaches, period and not dated)

        table, column = min(children, key=rank)
        return Measure("count_distinct", table, name, column=column)

    def _measure_of(self, asked: MeasureMention) -> Measure:
        m = asked.mention
        term = _term(m)
        name = self._name(asked)
        if term is not None:
            aggregate = asked.aggregate if asked.aggregate not in (None, "sum") else term.aggregate
            return Measure(cast(str, aggregate), term_root(term, self.index), name, term=term)
        if asked.aggregate == "count" or not is_measure_like(m, self.index):
            return self._table_measure(m, asked.aggregate, name)
        link = self._choose(m.links, self._anchor_tables(), what=f"“{m.text}”")
        assert isinstance(link, ColumnLink)
        aggregate = asked.aggregate or self._implicit_aggregate()
        return Measure(aggregate, link.table, name, column=link.column)

    def _implicit_aggregate(self) -> str:
        """A bare measure: "highest order amount" is MAX, "amount by country" a SUM."""
        if self.reading.order and not self.reading.dims and not self.reading.ranked:
            return "max" if self.reading.order == "desc" else "min"
        self.doubts += 1
        return "sum"

    def _table_measure(self, m: Mention, aggregate: str | None, name: str) -> Measure:
        """ "how many orders" counts them; "average order" averages the orders' amount column."""
        table = next((link.table for link in m.links if isinstance(link, TableLink)), None)
        column = self.index.tables[table].measure if table else None
        if table and column and aggregate in ("avg", "min", "max"):
            self.doubts += 1
            return Measure(aggregate, table, name, column=column)
        return self._count(m, aggregate)

    def _count(self, m: Mention, aggregate: str | None) -> Measure:
        tables = [link for link in m.links if isinstance(link, TableLink)]
        if not tables:
            tables = [TableLink(link.table) for link in m.links if isinstance(link, ColumnLink)]
        if not tables:
            self._fail(f"I could not tell which rows to count for “{m.text}”.")
        if aggregate is None and not _plural(m):
            self.doubts += 1
        table = tables[0].table
        return Measure("count", table, self.index.tables[table].singular + "_count")

    def _default_measure(self, dim: Dimension) -> Measure | None:
        """ "top 5 orders": ranked by the entity's own amount, when nothing else was said."""
        column = self.index.tables[dim.table].measure
        amount = column is not None and {"amount", "total", "value"} & set(name_words(column))
        if dim.kind != "entity" or not amount or self.reading.ignored:
            return None
        assert column is not None
        self.doubts += 2
        return Measure("sum", dim.table, column, column=column)

    def _name(self, asked: MeasureMention) -> str:
        seq = self.reading.mentions
        end = seq.index(asked.mention)
        words = [
            seq[k].text
            for k in range(asked.name_start, end + 1)
            if seq[k].role is not Role.RANK
            and not (seq[k].role is Role.AGG and seq[k].value == "count")
        ]
        return snake(" ".join(words)) or "value"

    def _anchor_tables(self) -> set[str]:
        """Tables the other mentions need: a measure column is chosen to reach them cheaply."""
        tables = set(self.mentioned)
        for m, _ in self.reading.values:
            tables |= {link.table for link in m.links if isinstance(link, ValueLink)}
        return tables

    # -- dimensions ---------------------------------------------------------------------------

    def _listed_table(self) -> str:
        """No measure: the rows of the one table talked about are listed."""
        candidates = self.reading.tables or ([self.reading.ranked] if self.reading.ranked else [])
        candidates = candidates or [d for d in self.reading.dims if d.role is Role.SCHEMA][:1]
        if not candidates:
            self._fail("I could not find anything to count, add up or list in the question.")
        link = next((link for link in candidates[0].links if isinstance(link, TableLink)), None)
        if link is None:
            self._fail(f"I could not tell which rows “{candidates[0].text}” refers to.")
        assert link is not None
        if self.reading.dims and self.reading.asked_which:
            self.reading.dims = [d for d in self.reading.dims if d is not candidates[0]]
        return link.table

    def _dims(self, root: str, measure: Measure | None) -> list[Dimension]:
        asked = list(self.reading.dims)
        if self.reading.ranked is not None:
            if any(m.role is Role.SCHEMA for m in asked):
                self._fail("Ranking within each group (top N per group) is not supported yet.")
            asked.insert(0, self.reading.ranked)
        if measure is None and not (self.reading.order and self.reading.ranked):
            return [self._time(root, measure, m) for m in asked if m.role is not Role.SCHEMA]
        return [self._dimension(root, measure, m) for m in asked]

    def _dimension(self, root: str, measure: Measure | None, m: Mention) -> Dimension:
        if m.role is not Role.SCHEMA:
            return self._time(root, measure, m)
        link = self._choose(m.links, {root}, what=f"“{m.text}”", root=root)
        if isinstance(link, TableLink):
            return Dimension("entity", link.table, self.index.tables[link.table].singular)
        assert isinstance(link, ColumnLink)
        facts = self.index.tables[link.table]
        distinct = self.index.distinct_count(link.table, link.column)
        repeated = 0 < distinct < (facts.table.row_count or 0)
        if link.column in facts.label and not repeated:
            # "by customer name": the customers, not their first names
            return Dimension("entity", link.table, facts.singular)
        if self.index.column(link.table, link.column).kind == "date":
            return Dimension("time", link.table, "day", column=link.column, grain="day")
        return Dimension("column", link.table, "_".join(phrase_words(m.text)), column=link.column)

    def _time(self, root: str, measure: Measure | None, m: Mention) -> Dimension:
        table, column = self._date_column(root, measure)
        return Dimension("time", table, str(m.value), column=column, grain=cast(Grain, m.value))

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
                return hint, date
        forward = sorted(
            (cost, table)
            for table, (cost, edges) in paths.items()
            if all(e.many_to_one for e in edges)
        )
        for _, table in forward:
            facts = self.index.tables[table]
            found = facts.date_column or facts.year_column
            if found:
                return table, found
        self._fail(f"{root} has no date column to place its rows in time.")
        raise AssertionError  # _fail raised

    def _named_date(self, root: str) -> str | None:
        """A date column of `root` that a word of the question names: "born", "hired", "paid"."""
        dates = [c.name for c in self.index.tables[root].table.columns if c.kind == "date"]
        if len(dates) < 2:
            return None
        said = {event_word(w) for m in self.reading.mentions for w in m.text.lower().split()}
        for name in dates:
            if said & {event_word(w) for w in name_words(name) if w not in _DATE_WORDS}:
                return name
        return None

    # -- filters ------------------------------------------------------------------------------

    def _filters(self, root: str, measure: Measure | None) -> list[Filter]:
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
        periods = self._periods(root, measure)
        if self.reading.absent:
            filters += [self._absent(root, m, periods) for m in self.reading.absent]
            return filters
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

    def _absent(self, root: str, m: Mention | None, periods: list[Filter]) -> Filter:
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
        inner = []
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
        return Filter("absent", root, key[0], other=other, other_column=children[other],
                      inner=tuple(inner), path=path)  # fmt: skip

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
            if self.reading.absent:
                table, column = root, ""
            else:
                table, column = self._date_column(root, measure)
            if column and column == self.index.tables[table].year_column:
                if (start.month, start.day, end.month, end.day) != (1, 1, 1, 1):
                    self._fail(f"{table} records a year ({column}), not a date.")
                return [Filter("years", table, column, years=(start.year, end.year - 1))]
            return [Filter("span", table, column, span=(start.isoformat(), end.isoformat()))]
        if self.reading.years or self.reading.months:
            if self.reading.absent:
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

    # -- order --------------------------------------------------------------------------------

    def _order(self, dims: list[Dimension]) -> tuple[Literal["asc", "desc"] | None, int | None]:
        order = self.reading.order
        if order is None or not dims:
            return None, None
        limit = self.reading.limit
        if limit is None and self.reading.unlimited:
            return cast(Literal["asc", "desc"], order), None
        if limit is None:
            ranked = self.reading.ranked or next(iter(self.reading.dims), None)
            limit = 1 if ranked is not None and not _plural(ranked) else _DEFAULT_LIMIT
        return cast(Literal["asc", "desc"], order), limit

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
                costs = (self.index.graph.cost(table, a) for a in anchors)
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

    def _fail(self, message: str) -> None:
        raise CannotAnswer(message, understood=understood(self.reading))


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


def snake(text: str) -> str:
    """An output column name from words as typed: "Total purchase amount" → total_purchase_amount."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60]
    return f"_{name}" if name[:1].isdigit() else name


def _show(link: Link) -> str:
    if isinstance(link, ValueLink):
        return f"{link.table}.{link.column} = {link.value!r}"
    if isinstance(link, ColumnLink):
        return f"{link.table}.{link.column}"
    if isinstance(link, TableLink):
        return f"the table {link.table}"
    return link.term.names[0]


def _plural(m: Mention) -> bool:
    last = m.text.split()[-1].lower()
    return lemma(last) != last


def _has_table(m: Mention) -> bool:
    return any(isinstance(link, TableLink) for link in m.links)


def _table_of(m: Mention) -> str | None:
    return next((link.table for link in m.links if isinstance(link, TableLink)), None)


def _term(m: Mention) -> Term | None:
    return next(
        (
            link.term
            for link in m.links
            if isinstance(link, TermLink) and link.term.kind == "measure"
        ),
        None,
    )
