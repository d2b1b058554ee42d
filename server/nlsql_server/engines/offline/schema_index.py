"""Step 2a: what a schema can be called. Every table, column, value and glossary term as phrases.

Built once per `EngineContext` from introspection alone: `order_items` answers to "order items"
and "items", `orders.total_amount` to "total amount", "amount" and "order amount", the value
`Small Business` to "small business", and each glossary name to its term.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace

import sqlglot
from sqlglot import exp

from ...databases.base import Column, Table
from ...glossary import Term
from ..base import EngineContext
from .joins import JoinGraph
from .words import FUNCTION_WORDS, name_words, phrase_words, stem

#: Words for a table's main measure: "order value" → the orders' amount column.
MEASURE_WORDS = ("amount", "total", "value", "revenue", "sale", "price", "cost", "balance")
#: Columns whose values are people's names or addresses, not categories worth matching.
_PERSONAL = {("first", "name"), ("last", "name"), ("email",), ("phone",), ("address",)}
#: Words before "name" that are not what a row is: `first_name` is no "first".
_NAME_PARTS = {("first",), ("last",), ("full",), ("middle",), ("user",), ("display",), ("nick",)}
#: Units a numeric column's name may end in: `distanceKm` is the "distance".
_UNITS = {"km", "kg", "mi", "lb", "usd", "eur", "gbp", "pct", "percent", "sec", "second", "min",
          "minute", "hour", "ms", "cent", "m", "s", "h"}  # fmt: skip
#: A typo is similar enough and one letter away (two for long words): "germny", "canceled".
_NEAR_CUTOFF = 0.8
_NEAR_MIN_LENGTH = 5
#: Question words that may stand for a schema word ("purchases" for a table `orders`).
SYNONYMS = {
    "purchase": "order", "client": "customer", "buyer": "customer", "supplier": "vendor",
    "vendor": "supplier", "unit": "quantity", "qty": "quantity", "dept": "department",
    "staff": "employee", "worker": "employee", "spend": "amount", "spending": "amount",
    "sell": "sale", "selling": "sale", "rep": "representative", "booking": "reservation",
    "line": "item",
}  # fmt: skip


@dataclass(frozen=True)
class TableLink:
    table: str


@dataclass(frozen=True)
class ColumnLink:
    table: str
    column: str


@dataclass(frozen=True)
class ValueLink:
    table: str
    column: str
    value: str


@dataclass(frozen=True)
class TermLink:
    term: Term


Link = TableLink | ColumnLink | ValueLink | TermLink


@dataclass(frozen=True)
class TableFacts:
    """What the engine needs to know about one table beyond its columns."""

    table: Table
    words: tuple[str, ...]
    #: Columns that name a row for people: ("product_name",) or ("first_name", "last_name").
    label: tuple[str, ...]
    #: The date that places a row in time (orders.order_date), if any.
    date_column: str | None
    #: An integer year column (budgets.fiscal_year), for tables without a date.
    year_column: str | None
    #: An integer quarter column beside the year column (budgets.fiscal_quarter).
    quarter_column: str | None
    #: The column "value" or "amount" of this table means (orders.total_amount), if any.
    measure: str | None

    @property
    def singular(self) -> str:
        """The table as one readable name for an output column: `order_items` → `order_item`."""
        return "_".join(self.words)


def is_key(table: Table, column: Column) -> bool:
    """Primary and foreign keys: identifiers, never measures nor categories."""
    name = column.name.lower()
    return (
        column.primary_key
        or any(fk.column.lower() == name for fk in table.foreign_keys)
        or name == "id"
        or name.endswith("_id")
    )


def is_numeric(column: Column) -> bool:
    return column.kind in ("integer", "number")


class SchemaIndex:
    """The phrases of one database, its tables' facts, and its join graph."""

    def __init__(self, context: EngineContext) -> None:
        self.context = context
        self.graph = JoinGraph(context.schema)
        self.tables = {t.name: _facts(t) for t in context.schema.tables}
        # Each phrase's links once, in order (a dict as an ordered set: "amount" may name a
        # column of each of 1,000 tables).
        unique: dict[tuple[str, ...], dict[Link, None]] = {}
        for words, link in self._entries():
            unique.setdefault(words, {})[link] = None
        self.phrases: dict[tuple[str, ...], list[Link]] = {
            words: list(links) for words, links in unique.items()
        }
        self.longest = max((len(p) for p in self.phrases), default=1)
        #: One-word glossary names by stem, so "spend" finds "spending".
        self.term_stems: dict[str, list[Link]] = {}
        for words, links in self.phrases.items():
            terms = [link for link in links if isinstance(link, TermLink)]
            if len(words) == 1 and terms:
                self.term_stems.setdefault(stem(words[0]), []).extend(terms)
        self._expressions: dict[str, exp.Expr] = {}
        self._words = sorted(
            p[0] for p in self.phrases if len(p) == 1 and len(p[0]) >= _NEAR_MIN_LENGTH - 1
        )

    def near(self, word: str) -> list[Link] | None:
        """The links of the one-word phrase `word` is a small typo of ("germny"), if exactly one."""
        close = self.close_words(word)
        if len(close) != 1:
            return None
        return self.phrases[(close[0],)]

    def close_words(self, word: str) -> list[str]:
        """The one-word phrases `word` may be a small typo of (at most three)."""
        if len(word) < _NEAR_MIN_LENGTH or not word.isalpha():
            return []
        return [
            w
            for w in difflib.get_close_matches(word, self._words, n=3, cutoff=_NEAR_CUTOFF)
            if w[0] == word[0] and _edits(word, w) <= (2 if len(word) >= 10 else 1)
        ]

    def expression(self, text: str) -> exp.Expr:
        """A glossary expression parsed in the glossary's dialect (parsed once, copied out)."""
        if text not in self._expressions:
            self._expressions[text] = sqlglot.parse_one(text, read=self.context.glossary.dialect)
        return self._expressions[text].copy()

    def column(self, table: str, column: str) -> Column:
        found = self.tables[table].table.column(column)
        assert found is not None, f"{table}.{column} comes from the schema"
        return found

    def distinct_count(self, table: str, column: str) -> int:
        """How many distinct values the context knows for a column (0 when not indexed)."""
        return len(self.context.values.get((table, column), ()))

    def _entries(self) -> Iterator[tuple[tuple[str, ...], Link]]:
        for term in self.context.glossary.terms:
            if term.kind == "date":
                continue  # it dates a table's rows (`choosing`); its names are no phrase
            for name in term.names:
                yield phrase_words(name), TermLink(term)
        taken = {facts.words for facts in self.tables.values()}
        for name, facts in self.tables.items():
            yield facts.words, TableLink(name)
            if len(facts.words) > 1 and (facts.words[-1],) not in taken:
                yield facts.words[-1:], TableLink(name)
            if facts.measure:
                yield facts.words + ("value",), ColumnLink(name, facts.measure)
            for column in facts.table.columns:
                if self.context.values.get((name, column.name)) != ["0", "1"]:
                    for words in _column_phrases(facts, column):
                        yield words, ColumnLink(name, column.name)
                    continue
                # a 0/1 flag ("discontinued", "in service") is a condition, not a number
                for words in _column_phrases(facts, column):
                    if words[: len(facts.words)] != facts.words or words == facts.words:
                        yield words, ValueLink(name, column.name, "1")
        for (table, name), values in self.context.values.items():
            if name_words(name) in _PERSONAL or table not in self.tables:
                continue
            for value in values:
                words = phrase_words(value)
                if values == ["0", "1"]:
                    break
                if _meaningful(words) and not value.strip().isdigit() and len(value.strip()) > 1:
                    yield words, ValueLink(table, name, value)


def _edits(a: str, b: str) -> int:
    """Letters inserted, deleted or replaced to turn `a` into `b` (difflib's alignment)."""
    opcodes = difflib.SequenceMatcher(None, a, b).get_opcodes()
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in opcodes if tag != "equal")


def _column_phrases(facts: TableFacts, column: Column) -> Iterator[tuple[str, ...]]:
    """ "total amount", "amount", "order amount" for orders.total_amount; keys by full name only."""
    words = name_words(column.name)
    yield words
    if is_key(facts.table, column) or not words:
        return
    own = words[len(facts.words) :] if words[: len(facts.words)] == facts.words else words
    if len(own) > 1 and own[-1] in ("name", "title") and own[:-1] not in _NAME_PARTS:
        yield own[:-1]  # `drugName`: "drugs" are named by it
    if len(own) > 1 and own[-1] in _UNITS and is_numeric(column):
        yield own[:-1]
    for phrase in dict.fromkeys((own, words[-1:])):
        if _meaningful(phrase):
            yield phrase
            yield facts.words + phrase


def _meaningful(words: tuple[str, ...]) -> bool:
    """Not empty, and not a lone function word such as the "on" of `paid_on`."""
    return bool(words) and not (len(words) == 1 and words[0] in FUNCTION_WORDS)


def _facts(table: Table) -> TableFacts:
    words = name_words(table.name)
    return TableFacts(
        table=table,
        words=words,
        label=_label(table, words),
        date_column=_date_column(table, words),
        year_column=_integer_column(table, "year"),
        quarter_column=_integer_column(table, "quarter"),
        measure=_measure(table),
    )


def _integer_column(table: Table, word: str) -> str | None:
    return next(
        (c.name for c in table.columns if c.kind == "integer" and word in name_words(c.name)), None
    )


def _label(table: Table, words: tuple[str, ...]) -> tuple[str, ...]:
    texts = {name_words(c.name): c.name for c in table.columns if c.kind == "text"}
    for wanted in (("name",), words + ("name",)):
        if wanted in texts:
            return (texts[wanted],)
    if ("first", "name") in texts and ("last", "name") in texts:
        return texts[("first", "name")], texts[("last", "name")]
    for suffix in ("name", "title"):
        for key, name in texts.items():
            if key and key[-1] == suffix:
                return (name,)
    return ()


def _date_column(table: Table, words: tuple[str, ...]) -> str | None:
    dates = [c.name for c in table.columns if c.kind == "date"]
    return min(dates, key=lambda name: _date_rank(name, words)) if dates else None


def _date_rank(name: str, words: tuple[str, ...]) -> int:
    """How surely a date column places its table's rows in time: 0 the table's own date
    (`orders.order_date`, `date`), 1 its creation, 2 any other event."""
    column_words = name_words(name)
    if column_words[: len(words)] == words or column_words == ("date",):
        return 0
    if {"created", "signup", "registered", "joined", "start"} & set(column_words):
        return 1
    return 2


def date_ties(facts: TableFacts) -> list[str]:
    """The dates of a table that rank alike with its `date_column`: more than one, and the
    schema cannot say which places its rows in time."""
    if facts.date_column is None:
        return []
    best = _date_rank(facts.date_column, facts.words)
    return [
        c.name
        for c in facts.table.columns
        if c.kind == "date" and _date_rank(c.name, facts.words) == best
    ]


def _measure(table: Table) -> str | None:
    for wanted in MEASURE_WORDS:
        for column in table.columns:
            if (
                is_numeric(column)
                and not is_key(table, column)
                and wanted in name_words(column.name)
            ):
                return column.name
    return None


#: Indexes kept by `index_for`: one per database served, with room to spare.
_KEPT_INDEXES = 16
_indexes: dict[tuple[object, ...], SchemaIndex] = {}
_indexes_lock = threading.Lock()


def index_for(context: EngineContext) -> SchemaIndex:
    """The schema index of `context`, built once and shared by every engine.

    Keyed on what an index reads (schema, values and glossary by identity, dialect, reference
    date), not on the context object: the pipeline hands each question of a session a copy that
    carries its history, and `auto` asks two engines about one context. The kept index holds
    those objects, so their ids cannot be reused while it is kept.
    """
    key = (
        id(context.schema),
        id(context.values),
        id(context.glossary),
        context.dialect,
        context.reference_date,
    )
    with _indexes_lock:
        index = _indexes.get(key)
    if index is not None:
        return index
    index = SchemaIndex(replace(context, history=()))
    with _indexes_lock:
        if len(_indexes) >= _KEPT_INDEXES:
            _indexes.pop(next(iter(_indexes)))
        _indexes[key] = index
    return index
