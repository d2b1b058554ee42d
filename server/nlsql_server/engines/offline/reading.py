"""Step 3a: read the roles. Which mention is the measure, which are dimensions, which are filters.

This pass only looks at the order of the mentions ("per" before a column makes it a dimension,
"total" before a column makes it a measure, "top 5" before a table makes it the ranked entity);
it does not yet choose among the tables or columns a mention may mean (`shape.py` does).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .adjectives import read_adjectives
from .earnings import read_earnings
from .linking import Mention, Role
from .nulls import empty_column
from .schema_index import (
    ColumnLink,
    SchemaIndex,
    TableLink,
    TermLink,
    ValueLink,
    is_key,
    is_numeric,
)

#: Words asking for what the offline engine cannot compute: better to say so than to guess.
_BEYOND = frozenset({"median", "percentile", "quartile", "cumulative", "running", "rolling",
                     "moving", "growth", "yoy", "churn", "retention", "variance", "stddev",
                     "deviation", "correlation", "forecast", "predict", "trend", "lifetime",
                     "mode", "ratio", "rate", "second", "third", "nth", "previous", "net",
                     "age", "weekend", "weekends", "weekday", "weekdays", "hour"})  # fmt: skip
#: Words that ask for periods side by side: "compare 2024 and 2025".
_COMPARING = frozenset({"compare", "compared", "comparing", "versus", "vs"})
#: Words after a number that count occasions: "visited more than 10 times".
_TIMES = ("times", "time", "x")
#: Rank words that sort every row rather than pick the top few.
_SORTING = ("ranked", "sorted", "ordered", "ranking", "first", "descending", "ascending")
#: Rank words that count what follows: "the most orders" (but "the top customers" ranks them).
_COUNTING_RANKS = ("most", "least", "fewest")


@dataclass(frozen=True)
class MeasureMention:
    """A measure as asked: the aggregate word if any, the mention, where its name starts."""

    aggregate: str | None
    mention: Mention
    name_start: int


@dataclass(frozen=True)
class Comparison:
    """ "over 5000", "more than 20 orders": an operator, a number, and what is compared.

    `counted` is the table counted after the number (a condition on a count per group);
    otherwise `subject` is the mention before it (a column, a table's amount, or the measure).
    """

    op: str
    number: float
    subject: Mention | None
    counted: Mention | None = None
    #: "more than 10 times": the rows related to the subject are counted.
    times: bool = False


@dataclass
class Reading:
    """What each mention of the question does, before the schema is consulted again."""

    mentions: list[Mention]
    #: Every word of the question, fillers too ("issued", "placed": they may name a date).
    words: tuple[str, ...] = ()
    measures: list[MeasureMention] = field(default_factory=list)
    #: Dimensions: schema mentions (tables or columns) and time grains.
    dims: list[Mention] = field(default_factory=list)
    #: The dimension came from "which"/"what" (an answer listing rows of it).
    asked_which: bool = False
    values: list[tuple[Mention, bool]] = field(default_factory=list)
    #: Glossary filters, and whether a "not"/"excluding" came before them.
    filter_terms: list[tuple[TermLink, bool]] = field(default_factory=list)
    #: Years as (operator, year): operator "" (in), since, after, before, until, between.
    years: list[tuple[str, int]] = field(default_factory=list)
    #: Months of the year asked for, as (first, last): "in March" (3, 3), "in Q2" (4, 6).
    months: list[tuple[int, int]] = field(default_factory=list)
    #: Table mentions with no other role: counted, listed, or hints.
    tables: list[Mention] = field(default_factory=list)
    order: str | None = None
    limit: int | None = None
    #: The entity ranked: "top 5 *customers* by revenue", "the *customer* with the most orders".
    ranked: Mention | None = None
    #: "ranked by", "sorted by": every row, in order, no top N.
    unlimited: bool = False
    comparisons: list[Comparison] = field(default_factory=list)
    #: Rows that must have none of these ("never ordered", "without invoices"); None: unnamed.
    absent: list[Mention | None] = field(default_factory=list)
    #: Columns that must be empty, as (table, column): "never shipped", "no manager" (`nulls`).
    empty: list[tuple[str, str]] = field(default_factory=list)
    #: Rows that must have some of these ("which vendors have overdue invoices"); set by shape.
    present: Mention | None = None
    #: "share", "percentage": the measure as a percentage of its total.
    share: bool = False
    #: "distinct countries", "unique customers": what is counted once each.
    distinct: Mention | None = None
    #: Relative periods ("last year") as RELATIVE mentions.
    relative: list[Mention] = field(default_factory=list)
    #: Text columns named with no other role ("drugs with more than ...": the group, maybe).
    columns: list[Mention] = field(default_factory=list)
    #: "average number of items per order": the aggregate over the per-group measure.
    outer: str | None = None
    #: "compare 2024 and 2025": the years side by side.
    comparing: bool = False
    ignored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read(mentions: list[Mention], index: SchemaIndex) -> Reading:
    """Assign a role to every mention, noting problems (unknown words where values belong)."""
    mentions = read_earnings(read_adjectives(mentions, index), index)
    said = tuple(w for m in mentions for w in m.text.lower().split())
    kept = [m for m in mentions if m.role is not Role.FILLER]
    reader = _Reader(Reading(kept, words=said), index, mentions)
    reader.run()
    _rank_earlier_table(reader.reading)
    return reader.reading


class _Reader:
    """One left-to-right pass; each role's handler returns where the next mention starts."""

    def __init__(self, reading: Reading, index: SchemaIndex, every: list[Mention]) -> None:
        self.reading = reading
        self.seq = reading.mentions
        #: Every mention, fillers too ("more than 10 *times*").
        self.every = every
        self.index = index
        self.consumed: set[int] = set()
        self.negate = False

    def run(self) -> None:
        handlers = {
            Role.GROUP: self._group, Role.WHICH: self._group, Role.RANK: self._rank,
            Role.NUMBER: self._number, Role.AGG: self._aggregate, Role.PERIODIC: self._periodic,
            Role.GRAIN: self._grain, Role.YEAR: self._year, Role.MONTHS: self._months,
            Role.SCHEMA: self._schema, Role.UNKNOWN: self._unknown, Role.COMPARE: self._compare,
            Role.SHARE: self._share, Role.DISTINCT: self._distinct, Role.RELATIVE: self._relative,
        }  # fmt: skip
        for k, m in enumerate(self.seq):
            if any(isinstance(link, TermLink) for link in m.links):
                self.seq[k] = self._as_value(k)
        i = 0
        while i < len(self.seq):
            role = self.seq[i].role
            if role is Role.NEGATE:
                self._negation(i)
                self.negate, i = True, i + 1
                continue
            handler = handlers.get(role)
            following = handler(i) if handler and i not in self.consumed else i + 1
            if role not in (Role.PREP, Role.AND):
                self.negate = False
            i = following

    def _negation(self, i: int) -> None:
        """ "not cancelled", "excluding unpaid": values and glossary filters are negated;
        "never ordered", "without invoices", "no appointments": rows with none of those."""
        j = i + 1
        while j < len(self.seq) and self.seq[j].role in (Role.PREP, Role.AND, Role.UNKNOWN):
            j += 1
        target = self.seq[j] if j < len(self.seq) else None
        if target is not None and _is_table(target) and not _is_filter(target):
            self.reading.absent.append(target)
            self.consumed.add(j)
            self.reading.ignored += [m.text for m in self.seq[i + 1 : j] if m.role is Role.UNKNOWN]
            self.consumed.update(range(i + 1, j))
            return
        named = next((m for m in self.seq[i + 1 :] if m.role not in (Role.PREP, Role.AND)), None)
        if named is not None and not (named.links and _is_filter(named)) and self._empty(named):
            return
        if target is None and self.seq[i].text.lower() in ("never", "without", "nobody", "no one"):
            self.reading.absent.append(None)  # "products never sold": the rows that name them
            return
        target = named
        if target is None or target.role is not Role.SCHEMA or not _is_filter(target):
            what = f"“{self.seq[i].text} {target.text}”" if target else f"“{self.seq[i].text}”"
            self.reading.problems.append(f"{what} (only values such as a status can be negated)")

    def _empty(self, target: Mention) -> bool:
        """ "not yet shipped", "no manager": a nullable column of a table named, left empty."""
        named = {link.table for m in self.seq for link in m.links if isinstance(link, TableLink)}
        found = empty_column(target.text, named, self.index)
        if found is None:
            return False
        self.reading.empty.append(found)
        self.consumed.add(self.seq.index(target))
        return True

    def _group(self, i: int) -> int:
        """After "per"/"by"/"which": dimensions joined by "and", or the measure of "top N x by y"."""
        reading, seq = self.reading, self.seq
        which = seq[i].role is Role.WHICH
        j = i + 1
        while j < len(seq):
            m = seq[j]
            if reading.ranked is not None and not which and _is_table(m):
                # "top 5 customers by orders": the rows to count per ranked customer
                reading.measures.append(MeasureMention("count", m, j))
            elif _is_dimension(m, self.index):
                reading.dims.append(m)
                reading.asked_which = reading.asked_which or which
            elif which:
                break
            elif (
                j + 1 < len(seq)
                and seq[j + 1].start == m.end
                and _is_dimension(seq[j + 1], self.index)
            ):
                reading.ignored.append(m.text)  # "by sales channel": "sales" names the channel
                self.consumed.add(j)
                j += 1
                continue
            elif m.role is Role.SCHEMA and is_measure_like(m, self.index):
                reading.measures.append(MeasureMention(None, m, j))
            elif m.role is Role.UNKNOWN:
                reading.problems.append(f"“{m.text}” (nothing in the database is called that)")
            else:
                break
            self.consumed.add(j)
            more = j + 2 < len(seq) and seq[j + 1].role is Role.AND
            if not (more and _is_dimension(seq[j + 2], self.index)):
                return j + 1
            j += 2
        return j

    def _rank(self, i: int) -> int:
        """ "top 5 customers": order, limit and the ranked entity; "the most orders": a count."""
        reading, seq = self.reading, self.seq
        reading.order = str(seq[i].value)
        words = seq[i].text.lower().split()
        if words[0] in _SORTING or words[-1] in _SORTING:  # every row, in order
            reading.unlimited = True
            return i + 1
        j = i + 1
        if j < len(seq) and seq[j].role is Role.NUMBER:
            reading.limit = int(seq[j].value)
            self.consumed.add(j)
            j += 1
        while j < len(seq) and seq[j].role is Role.UNKNOWN:  # "best selling products"
            reading.ignored.append(seq[j].text)
            self.consumed.add(j)
            j += 1
        if j >= len(seq) or j in self.consumed:
            return i + 1
        grouped = j + 1 < len(seq) and seq[j + 1].role is Role.GROUP
        if seq[i].text.lower() in _COUNTING_RANKS and _is_table(seq[j]) and not grouped:
            reading.measures.append(MeasureMention("count", seq[j], i + 1))
            self.consumed.add(j)
        elif _is_dimension(seq[j], self.index) and seq[j].role is Role.SCHEMA:
            reading.ranked = seq[j]
            self.consumed.add(j)
        elif seq[j].role is Role.GRAIN:
            reading.dims.append(seq[j])  # "our best month for revenue": the months, ranked
            self.consumed.add(j)
        elif (
            is_measure_like(seq[j], self.index)
            and j + 1 < len(seq)
            and seq[j + 1].role is Role.SCHEMA
            and _is_dimension(seq[j + 1], self.index)
        ):
            # "best selling products": ranked by the measure named before them
            reading.measures.append(MeasureMention(None, seq[j], j))
            reading.ranked = seq[j + 1]
            self.consumed.update((j, j + 1))
        return i + 1

    def _number(self, i: int) -> int:
        """ "the 5 biggest customers"; any other number is not understood."""
        m = self.seq[i]
        if any(other.role is Role.RANK for other in self.seq) and not self.reading.limit:
            # "the 5 biggest customers", "the 3 countries with the lowest revenue"
            self.reading.limit = int(m.value)
        else:
            self.reading.problems.append(
                f"the number {m.text} (only “top 5” counts are understood)"
            )
        return i + 1

    def _aggregate(self, i: int) -> int:
        """ "total purchase amount", "number of outstanding invoices": the aggregate's target."""
        if self.seq[i].text.lower() == "on average":
            self.reading.outer = "avg"  # "orders per customer on average"
            return i + 1
        following = self.seq[i + 1] if i + 1 < len(self.seq) else None
        if (
            following is not None
            and following.role is Role.AGG
            and following.value == "count"
            and self.seq[i].value in ("avg", "max", "min")
        ):
            self.reading.outer = str(self.seq[i].value)  # "average number of items per order"
            return i + 1
        for j in range(i + 1, len(self.seq)):
            m = self.seq[j]
            if m.role is Role.UNKNOWN or (m.role is Role.SCHEMA and _is_filter(m)):
                continue
            if m.role is Role.SCHEMA and j not in self.consumed:
                self.reading.measures.append(MeasureMention(str(self.seq[i].value), m, i))
                self.consumed.add(j)
            return i + 1
        before = self.seq[i - 1] if i else None
        if self.seq[i].value == "count" and before is not None and before in self.reading.tables:
            # "transaction count", "order count": the rows of the table just named
            self.reading.tables.remove(before)
            self.reading.measures.append(MeasureMention("count", before, i - 1))
        return i + 1

    def _periodic(self, i: int) -> int:
        self.reading.dims.append(self.seq[i])
        return i + 1

    def _grain(self, i: int) -> int:
        text = self.seq[i].text
        self.reading.problems.append(f"“{text}” on its own (try “per {text}” or a year like 2024)")
        return i + 1

    def _year(self, i: int) -> int:
        before = self.seq[i - 1] if i else None
        op = str(before.value) if before is not None and before.role is Role.RANGE else ""
        self.reading.years.append((op, int(self.seq[i].value)))
        return i + 1

    def _months(self, i: int) -> int:
        first, last = str(self.seq[i].value).split("-")
        self.reading.months.append((int(first), int(last)))
        return i + 1

    def _schema(self, i: int) -> int:
        reading, m = self.reading, self.seq[i]
        terms = [link for link in m.links if isinstance(link, TermLink)]
        if any(link.term.kind == "measure" for link in terms):
            reading.measures.append(MeasureMention(None, m, _name_start(reading, m)))
        elif terms:
            reading.filter_terms += [(link, self.negate) for link in terms]
        elif all(isinstance(link, ValueLink) for link in m.links):
            reading.values.append((m, self.negate))
        elif _is_table(m):
            reading.tables.append(m)
        elif is_measure_like(m, self.index):
            reading.measures.append(MeasureMention(None, m, _name_start(reading, m)))
        elif any(isinstance(link, ColumnLink) for link in m.links):
            reading.columns.append(m)
        else:
            reading.ignored.append(m.text)
        return i + 1

    def _as_value(self, i: int) -> Mention:
        """ "expense accounts": a glossary word that is also a value of the table named next
        is that value; anywhere else it is the glossary's."""
        m = self.seq[i]
        values = [link for link in m.links if isinstance(link, ValueLink)]
        after = self.seq[i + 1] if i + 1 < len(self.seq) else None
        if not values or after is None or after.start != m.end or not _is_table(after):
            return replace(m, links=tuple(k for k in m.links if not isinstance(k, ValueLink)))
        tables = {link.table for link in after.links if isinstance(link, TableLink)}
        if not tables & {link.table for link in values}:
            return replace(m, links=tuple(k for k in m.links if not isinstance(k, ValueLink)))
        return replace(m, links=tuple(values))

    def _compare(self, i: int) -> int:
        """ "orders over 5000", "a fee above 200", "more than 20 orders", "revenue over 1000000"."""
        seq, j = self.seq, i + 1
        if j >= len(seq) or seq[j].role not in (Role.NUMBER, Role.YEAR):
            if " " in seq[i].text.strip():  # "more than" what?
                self.reading.problems.append(f"“{seq[i].text}” with no number after it")
            else:
                self.reading.ignored.append(seq[i].text)  # "over", "under": maybe a filler
            return i + 1
        self.consumed.add(j)
        counted = subject = None
        after = seq[j + 1] if j + 1 < len(seq) else None
        if after is not None and _is_table(after) and not _is_filter(after):
            counted = after
            self.consumed.add(j + 1)
        elif after is not None and after.role is Role.SCHEMA and is_measure_like(after, self.index):
            subject = after  # "over 100 km": the number's unit names the column
            self.consumed.add(j + 1)
        if counted is None and subject is None:
            subject = next(
                (m for m in reversed(seq[:i]) if m.role is Role.SCHEMA and not _is_filter(m)), None
            )
            measures = self.reading.measures
            if subject is not None and not _is_table(subject) and not _term(subject):
                # "with a fee over 300": the fee is compared, not the measure
                measures[:] = [m for m in measures if m.mention is not subject]
        number = float(seq[j].value)
        times = any(m.start == seq[j].end and m.text.lower() in _TIMES for m in self.every)
        comparison = Comparison(str(seq[i].value), number, subject, counted, times)
        self.reading.comparisons.append(comparison)
        return j + 1 + (j + 1 in self.consumed)

    def _share(self, i: int) -> int:
        """ "share of orders", "percentage of revenue": what the percentage is of."""
        self.reading.share = True
        for j in range(i + 1, len(self.seq)):
            m = self.seq[j]
            if m.role is Role.UNKNOWN or (m.role is Role.SCHEMA and _is_filter(m)):
                continue
            if m.role is Role.SCHEMA and j not in self.consumed and _is_table(m):
                self.reading.measures.append(MeasureMention("count", m, j))
                self.consumed.add(j)
            break
        return i + 1

    def _distinct(self, i: int) -> int:
        j = i + 1
        if j < len(self.seq) and self.seq[j].role is Role.SCHEMA and j not in self.consumed:
            self.reading.distinct = self.seq[j]
            self.consumed.add(j)
            return j + 1
        return i + 1

    def _relative(self, i: int) -> int:
        self.reading.relative.append(self.seq[i])
        return i + 1

    def _unknown(self, i: int) -> int:
        m = self.seq[i]
        before = self.seq[i - 1] if i else None
        if m.text.lower() in _BEYOND:
            self.reading.problems.append(f"“{m.text}” (not something I can compute yet)")
        elif m.text.lower() in _COMPARING:
            self.reading.comparing = True
        elif m.capitalised or (before is not None and before.role in (Role.PREP, Role.NEGATE)):
            self.reading.problems.append(
                f"“{m.text}” (it looks like a value, but no column holds it)"
            )
        else:
            self.reading.ignored.append(m.text)
        return i + 1


def _rank_earlier_table(reading: Reading) -> None:
    """ "the customer with the most orders": a table named before the rank word is ranked."""
    rank = next((m for m in reading.mentions if m.role is Role.RANK), None)
    if rank is None or reading.ranked is not None or reading.dims:
        return
    earlier = sorted(
        (m for m in reading.tables + reading.columns if m.start < rank.start), key=lambda m: m.start
    )
    if earlier:
        reading.ranked = earlier[0]
        for kept in (reading.tables, reading.columns):
            if earlier[0] in kept:
                kept.remove(earlier[0])


def is_measure_like(m: Mention, index: SchemaIndex) -> bool:
    """A glossary measure, or only numeric, non-key columns."""
    if any(isinstance(link, TermLink) and link.term.kind == "measure" for link in m.links):
        return True
    return bool(m.links) and all(
        isinstance(link, ColumnLink) and _numeric(link, index) for link in m.links
    )


def _numeric(link: ColumnLink, index: SchemaIndex) -> bool:
    table = index.tables[link.table].table
    column = index.column(link.table, link.column)
    return is_numeric(column) and not is_key(table, column)


def _is_dimension(m: Mention, index: SchemaIndex) -> bool:
    if m.role is Role.GRAIN:
        return True
    return (
        m.role is Role.SCHEMA
        and not is_measure_like(m, index)
        and any(isinstance(link, (TableLink, ColumnLink)) for link in m.links)
    )


def _is_table(m: Mention) -> bool:
    return m.role is Role.SCHEMA and any(isinstance(link, TableLink) for link in m.links)


def _term(m: Mention) -> bool:
    return any(isinstance(link, TermLink) and link.term.kind == "measure" for link in m.links)


def _is_filter(m: Mention) -> bool:
    return all(
        isinstance(link, ValueLink) or (isinstance(link, TermLink) and link.term.kind == "filter")
        for link in m.links
    )


def _name_start(reading: Reading, m: Mention) -> int:
    """A measure's name takes in the filter terms just before it: "outstanding invoice amount"."""
    position = reading.mentions.index(m)
    while position > 0:
        before = reading.mentions[position - 1]
        if not (
            before.role is Role.SCHEMA
            and _is_filter(before)
            and before.links
            and isinstance(before.links[0], TermLink)
        ):
            break
        position -= 1
    return position
