"""Step 3b: resolve the reading against the schema into a `Plan`, or say why it cannot.

The measure fixes the root table (the table whose rows are aggregated). Every other mention then
takes the meaning that is cheapest to join from that root, and the join tree is checked for
fan-out: a SUM or AVG over a join that repeats the root's rows is refused, not returned wrong.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Literal, cast

from sqlglot import exp

from ...exceptions import CannotAnswer
from .groups import Groups, has_table, measure_term, table_of
from .joins import JoinTree
from .linking import Mention, Role
from .measures import expression_tables, line_value, term_root
from .plan import Dimension, Filter, Grain, Measure, Plan
from .reading import MeasureMention, is_measure_like
from .schema_index import (
    ColumnLink,
    TableLink,
    ValueLink,
    is_key,
    is_numeric,
)
from .words import lemma, name_words, phrase_words

_DEFAULT_LIMIT = 10
_AGGREGATE_NAMES = {"avg": "average", "min": "minimum", "max": "maximum"}


class Shaper(Groups):
    """Turns one `Reading` into a `Plan` against one `SchemaIndex`."""

    def plan(self) -> Plan:
        reading = self.reading
        self.also: tuple[Measure, ...] = ()
        self.doubts += sum(1 for m in reading.mentions if m.value == "near")
        outer = self._regroup()
        measure = self._measure()
        if measure is not None and self._listed_with(measure):
            root, measure = measure.table, None  # "the 2008 zinfandels with their prices"
        else:
            root = measure.table if measure else self._listed_table()
        having = self._having(measure)
        dims = self._dims(root, measure)
        if measure is None and dims and reading.order:
            measure = self._default_measure(dims[0])
        if measure is None and dims:
            self._fail("I could not tell what to count or add up per " + dims[0].describe() + ".")
        side_by_side = reading.comparing and len(reading.years) > 1 and measure is not None
        if side_by_side and not any(d.kind == "time" for d in dims):
            year = Mention(Role.GRAIN, 0, 0, "year", value="year")
            dims.append(self._time(root, measure, year))  # "compare 2024 and 2025"
        sort = self._sort(root, measure, dims)
        own_rows = sort is None and self._own_rows(measure, dims)
        if own_rows:
            assert measure is not None and measure.column is not None
            sort, ranked = (measure.table, measure.column), self._order(dims)
            dims = []
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
        if self.also and (sort is not None or outer is not None or having or not dims):
            self._fail("I can show several measures side by side only per group, unranked.")
        if outer is not None and not dims:
            self._fail("I could not tell what to group by before taking the " + outer + ".")
        filters = self.filters(root, measure)
        filters += self._nonzero(root, measure, dims, filters)
        conditions: list[Filter] = []
        if reading.share:
            if measure is None:
                self._fail("I could not tell what the percentage is of.")
            conditions = [f for f in filters if f.kind in ("value", "term", "compare")]
            filters = [f for f in filters if f not in conditions]
            if not conditions and not dims:
                self._fail("I could not tell which part to take the percentage of.")
        order, limit = self._order(dims)
        if own_rows:
            order, limit = ranked
        elif sort is not None:
            order, limit = cast(Literal["asc", "desc"], reading.order), reading.limit
        if outer is not None:
            order, limit = None, None
        beside = self._shown(root) if measure is None and not dims else ()
        tree = self.joins(root, measure, dims, filters + conditions, beside)
        if self.also and tree.fans_out:
            self._fail("Reaching the groups repeats rows, so measures side by side would be off.")
        if tree.fans_out and measure is not None and measure.aggregate in ("sum", "avg"):
            measure = self._rebase(measure, tree)
            root = measure.table
            tree = self.joins(root, measure, dims, filters + conditions)
        if measure is None and not filters and reading.ignored:
            shown = ", ".join(f"“{w}”" for w in reading.ignored)
            self._fail(f"I could not place {shown}; listing every row of {root} would be a guess.")
        if measure is None:
            self.doubts += len(reading.ignored)  # a listing's unplaced words were its conditions
        unused = {table_of(m) for m in reading.tables} - set(tree.tables) - {None}
        if unused and reading.order and not dims and sort is None:
            self._fail(f"I could not tell how {', '.join(sorted(map(str, unused)))} are ranked.")
        self.doubts += len(unused)  # a table named but not used: something was misread
        confidence = max(0.0, 1.0 - 0.1 * self.doubts)
        return Plan(root=root, joins=tree, measure=measure, dims=tuple(dims),
                    filters=tuple(filters), order=order, limit=limit, distinct=tree.fans_out,
                    confidence=round(confidence, 2), ignored=tuple(reading.ignored),
                    having=having, outer=outer, share=reading.share,
                    conditions=tuple(conditions), sort=sort, shown=beside,
                    also=self.also)  # fmt: skip

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

    def _own_rows(self, measure: Measure | None, dims: list[Dimension]) -> bool:
        """ "the priciest wine" where wines have no key: each row's own price, not a sum over
        the rows that share a name. Rows of a table with a key keep their per-key groups."""
        if measure is None or measure.column is None or measure.term is not None:
            return False
        if any(m.aggregate for m in self.reading.measures) or not self.reading.order:
            return False
        if len(dims) != 1 or dims[0].kind != "entity" or dims[0].table != measure.table:
            return False
        return not self.index.tables[measure.table].table.primary_key

    def _listed_with(self, measure: Measure) -> bool:
        """ "the zinfandels with their prices": a number column after "with", with no aggregate
        word, no group and no rank, is shown beside each row, not added up."""
        reading = self.reading
        if measure.column is None or measure.term is not None or len(reading.measures) != 1:
            return False
        if reading.order or reading.dims or reading.ranked or reading.share:
            return False
        if any(m.role is Role.AGG for m in reading.mentions):
            return False
        seq, asked = reading.mentions, reading.measures[0].mention
        at = seq.index(asked) if asked in seq else 0
        return at > 0 and seq[at - 1].role is Role.PREP and seq[at - 1].text.lower() == "with"

    def _shown(self, root: str) -> tuple[str, ...]:
        """ "the products with their category": a table named after "with" (or "and") that each
        listed row refers to by a required key is shown by its name beside the row."""
        seq = self.reading.mentions
        shown: list[str] = []
        for at, m in enumerate(seq[1:], start=1):
            before = seq[at - 1]
            joined = before.role is Role.AND or (
                before.role is Role.PREP and before.text.lower() == "with"
            )
            tables = [link.table for link in m.links if isinstance(link, TableLink)]
            if not joined or m.role is not Role.SCHEMA or len(tables) != 1 or tables[0] == root:
                continue
            path = self.index.graph.paths(root).get(tables[0])
            if path and all(e.many_to_one and not e.nullable for e in path[1]):
                shown.append(tables[0])
        return tuple(dict.fromkeys(shown))

    def joins(
        self,
        root: str,
        measure: Measure | None,
        dims: list[Dimension],
        filters: list[Filter],
        shown: tuple[str, ...] = (),
    ) -> JoinTree:
        tables = {d.table for d in dims} | {f.table for f in filters} | set(shown)
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
        explicit = [m for m in self.reading.measures if m.aggregate or measure_term(m.mention)]
        asked = explicit or self.reading.measures
        if len({id(m.mention) for m in asked}) > 1:
            side = self._side_by_side(asked)
            if side is None:
                shown = " and ".join(f"“{m.mention.text}”" for m in asked)
                self._fail(f"I can answer one measure at a time; this asks for {shown}.")
            assert side is not None
            self.also = tuple(side[1:])
            return side[0]
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
        amount = self._amount_of_values()
        if amount is not None:
            return amount
        ranked = self.reading.ranked
        if ranked is None and self.reading.asked_which and self.reading.dims:
            ranked = self.reading.dims[0]
        if ranked is not None and self.reading.order and not has_table(ranked):
            # "which drug was prescribed the most": count the rows that hold each drug
            columns = [link for link in ranked.links if isinstance(link, ColumnLink)]
            if columns:
                self.doubts += 1
                table = columns[0].table
                return Measure("count", table, self.index.tables[table].singular + "_count")
        return None

    def _nonzero(
        self, root: str, measure: Measure | None, dims: list[Dimension], filters: list[Filter]
    ) -> list[Filter]:
        """ "how many bookings included kids", "employees who earn a commission": a number
        column of the counted rows, named with no number, aggregate or group, is a condition
        that it holds some (more than zero)."""
        if measure is None or measure.aggregate != "count" or dims or measure.table != root:
            return []
        reading = self.reading
        said = {id(m.mention) for m in reading.measures if m.aggregate}
        said |= {id(m) for m in reading.dims}
        said |= {id(c.subject) for c in reading.comparisons if c.subject is not None}
        compared = {f.column for f in filters if f.table == root}
        found = []
        for m in reading.mentions:
            if m.role is not Role.SCHEMA or id(m) in said or not m.links:
                continue
            if not all(isinstance(link, ColumnLink) and link.table == root for link in m.links):
                continue
            for link in m.links:
                assert isinstance(link, ColumnLink)
                facts = self.index.tables[root]
                column = self.index.column(root, link.column)
                if (
                    link.column not in compared
                    and is_numeric(column)
                    and not is_key(facts.table, column)
                ):
                    found.append(Filter("compare", root, link.column, op=">", number=0.0))
        return found

    def _amount_of_values(self) -> Measure | None:
        """ "how much have we paid each vendor", "paid the most money to": an amount asked with
        no measure named adds up the amount column of the one table whose value is the filter
        (the paid invoices' amounts)."""
        reading = self.reading
        asked = any(
            (m.role is Role.AGG and m.text.lower() == "how much") or m.text.lower() == "money"
            for m in reading.mentions
        )
        if not asked or reading.measures:
            return None
        tables = {
            link.table
            for m, negated in reading.values
            for link in m.links
            if isinstance(link, ValueLink) and not negated
        }
        columns = {(t, self.index.tables[t].measure) for t in tables}
        if len(columns) != 1:
            return None
        table, column = columns.pop()
        if column is None:
            return None
        name = column if name_words(column)[:1] == ("total",) else f"total_{column}"
        return Measure("sum", table, name, column=column)

    def _side_by_side(self, asked: list[MeasureMention]) -> list[Measure] | None:
        """ "the number of orders and the average order value": each measure named with its own
        aggregate word or a glossary measure, all over the rows of one table and none with a filter of its own (that
        would need one WHERE per column), are shown side by side. Otherwise None."""
        reading = self.reading
        if reading.distinct is not None or reading.share or reading.comparisons:
            return None
        if len({id(m.mention) for m in asked}) != len(asked) or not all(
            m.aggregate or measure_term(m.mention) for m in asked
        ):
            return None
        try:
            measures = [self._measure_of(m) for m in asked]
        except CannotAnswer:
            return None
        if len({m.table for m in measures}) != 1 or any(
            m.term is not None and m.term.filter for m in measures
        ):
            return None
        return measures

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
        term = measure_term(m)
        name = self._name(asked)
        if term is not None:
            aggregate = asked.aggregate if asked.aggregate not in (None, "sum") else term.aggregate
            return Measure(cast(str, aggregate), term_root(term, self.index), name, term=term)
        if asked.aggregate in ("min", "max") and self._dates(m):
            # "the earliest signup date": the first of the dates
            link = self._choose(m.links, self._anchor_tables(), what=f"“{m.text}”")
            assert isinstance(link, ColumnLink)
            return Measure(cast(str, asked.aggregate), link.table, name, column=link.column)
        if asked.aggregate == "count" or not is_measure_like(m, self.index):
            return self._table_measure(m, asked.aggregate, name, self._how_much(asked))
        link = self._choose(m.links, self._anchor_tables(), what=f"“{m.text}”")
        assert isinstance(link, ColumnLink)
        aggregate = asked.aggregate or self._implicit_aggregate()
        return Measure(aggregate, link.table, name, column=link.column)

    def _dates(self, m: Mention) -> bool:
        return bool(m.links) and all(
            isinstance(link, ColumnLink)
            and self.index.column(link.table, link.column).kind == "date"
            for link in m.links
        )

    def _implicit_aggregate(self) -> str:
        """A bare measure: "highest order amount" is MAX, "amount by country" a SUM."""
        if self.reading.order and not self.reading.dims and not self.reading.ranked:
            return "max" if self.reading.order == "desc" else "min"
        self.doubts += 1
        return "sum"

    def _how_much(self, asked: MeasureMention) -> bool:
        seq = self.reading.mentions
        said = seq[asked.name_start] if 0 <= asked.name_start < len(seq) else None
        return said is not None and said.role is Role.AGG and said.text.lower() == "how much"

    def _table_measure(
        self, m: Mention, aggregate: str | None, name: str, amount: bool = False
    ) -> Measure:
        """ "how many orders" counts them; "average order" averages the orders' amount column,
        and "how much (are the) invoices" adds up theirs ("total orders" stays a count)."""
        table = next((link.table for link in m.links if isinstance(link, TableLink)), None)
        column = self.index.tables[table].measure if table else None
        if table and column and amount:
            return Measure("sum", table, f"total_{column}", column=column)
        if table and column and aggregate in ("avg", "min", "max"):
            self.doubts += 1
            return Measure(aggregate, table, name, column=column)
        if aggregate in ("avg", "min", "max"):  # "total orders" is a count, "average orders" not
            words = _AGGREGATE_NAMES[aggregate]
            self._fail(f"I could not tell which number of “{m.text}” to take the {words} of.")
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
        if asked.mention not in seq:  # a measure the question implies ("spent": the amounts)
            return snake("total " + asked.mention.text)
        end = seq.index(asked.mention)
        words = [
            seq[k].text
            for k in range(asked.name_start, end + 1)
            if seq[k].role is not Role.RANK
            and not (seq[k].role is Role.AGG and seq[k].value == "count")
        ]
        return snake(" ".join(words)) or "value"

    # -- dimensions ---------------------------------------------------------------------------

    def _listed_table(self) -> str:
        """No measure: the rows of the one table talked about are listed."""
        candidates = self.reading.tables or ([self.reading.ranked] if self.reading.ranked else [])
        candidates = candidates or [d for d in self.reading.dims if d.role is Role.SCHEMA][:1]
        if not candidates:
            return self._holders()
        link = next((link for link in candidates[0].links if isinstance(link, TableLink)), None)
        if link is None:
            self._fail(f"I could not tell which rows “{candidates[0].text}” refers to.")
        assert link is not None
        if self.reading.dims and self.reading.asked_which:
            self.reading.dims = [d for d in self.reading.dims if d is not candidates[0]]
        return link.table

    def _holders(self) -> str:
        """ "who are the regional directors": a plural value names the rows that hold it. When
        it is the name of a row itself ("the programmers" in a table of jobs), the rows are
        those of the one named table that refers to it ("employees", by their job's key)."""
        values = [m for m, negated in self.reading.values if not negated]
        links = [link for m in values for link in m.links if isinstance(link, ValueLink)]
        tables = {link.table for link in links}
        if not values or len(tables) != 1 or not all(_plural(m) for m in values):
            self._fail("I could not find anything to count, add up or list in the question.")
        table = tables.pop()
        if not any(link.column in self.index.tables[table].label for link in links):
            return table
        holders = [
            child
            for child, _ in self.index.graph.children(table)
            if child != table and self.index.tables[child].label
        ]
        if len(set(holders)) != 1:
            self._fail(f"I could not tell whose {table.replace('_', ' ')} “{values[0].text}” is.")
        return holders[0]

    def _dims(self, root: str, measure: Measure | None) -> list[Dimension]:
        asked = list(self.reading.dims)
        if self.reading.ranked is not None:
            if any(m.role is Role.SCHEMA for m in asked):
                self._fail("Ranking within each group (top N per group) is not supported yet.")
            asked.insert(0, self.reading.ranked)
        if measure is None and not (self.reading.order and self.reading.ranked):
            return [self._time(root, measure, m) for m in asked if m.role is not Role.SCHEMA]
        return [self.dimension(root, measure, m) for m in asked]

    def dimension(self, root: str, measure: Measure | None, m: Mention) -> Dimension:
        if m.role is not Role.SCHEMA:
            return self._time(root, measure, m)
        link = self._choose(m.links, {root}, what=f"“{m.text}”", root=root)
        if isinstance(link, TableLink):
            return Dimension("entity", link.table, self.index.tables[link.table].singular)
        assert isinstance(link, ColumnLink)
        facts = self.index.tables[link.table]
        referenced = next(
            (fk.ref_table for fk in facts.table.foreign_keys if fk.column == link.column), None
        )
        if referenced is not None and referenced in self.index.tables:
            # "per room" where bookings.room holds the rooms' key: the rooms, by their names
            return Dimension("entity", referenced, self.index.tables[referenced].singular)
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


def snake(text: str) -> str:
    """An output column name from words as typed: "Total purchase amount" → total_purchase_amount."""
    name = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:60]
    return f"_{name}" if name[:1].isdigit() else name


def _plural(m: Mention) -> bool:
    last = m.text.split()[-1].lower()
    return lemma(last) != last
