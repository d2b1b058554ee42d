"""Step 3c: check a plan against the question before it is shown. A doubt is a decline.

A confident wrong answer costs more than a decline: the user trusts a green "answered" and
never looks at the SQL. So each plan is read back against the question, one check per way a
reading goes wrong, and any doubt found becomes a `CannotAnswer` that says what was understood
(which, with `auto` and an LLM configured, hands the question to the LLM instead):

- every word is placed in the plan, or ignored on purpose (light verbs, hedges, politeness);
- "how much" gets an amount (a SUM or an average of a number), never a count or a listing;
- the grain asked for is the grain grouped by: not a table's rows beside one of its own columns;
- a listing asked for stays rows: a bare number column is not silently added up;
- every table named is read by the answer, every column named is shown or used by it;
- a value is not read across a column's name ("Sonoma county" is the county, or the value);
- nothing is counted per group through a link table (the groups with none would be lost).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ...exceptions import CannotAnswer
from .linking import Role
from .plan import Filter, Plan
from .reading import Reading
from .schema_index import ColumnLink, SchemaIndex, TableLink, ValueLink
from .words import event_word, lemma, name_words, phrase_words

#: Words a question may hold that change nothing: light verbs ("came through", "brought in"),
#: hedges ("only", "still"), framing ("break down", "popular") and contractions' tails ("ve").
IGNORABLE = frozenset({
    "come", "came", "coming", "bring", "brought", "bringing", "use", "used", "using", "place",
    "got", "get", "getting", "book", "booked", "send", "sent", "handle", "handled", "see",
    "seen", "based", "go", "went", "gone", "take", "took", "taken", "keep", "kept", "run",
    "only", "just", "really", "actually", "still", "single", "even", "exactly", "altogether",
    "counting", "break", "down", "popular", "kind", "sort", "please", "thanks", "thank",
    "hello", "hi", "hey", "ok", "okay", "ve", "ll", "re", "d", "s", "t", "m", "into", "onto",
    "about", "also", "then", "again", "via", "include", "included", "includes", "including",
    "contain", "contains", "contained",
})  # fmt: skip
#: Words for an amount of money ("worth", "owe", "earned") that a summed or averaged number
#: column answers; with a count, the verb of a condition ("employees who earn a commission").
_AMOUNT_WORDS = frozenset({"income", "earnings", "money", "size", "worth", "takings", "figure",
                           "dollars", "euros", "owe", "owed", "cost", "costs", "pay", "paid",
                           "spend", "earn", "earned", "charge", "charged"})  # fmt: skip
#: The shortest event stem a schema name may start with to be named by it ("prescrib").
_MIN_STEM = 4

Check = Callable[[Plan, Reading, SchemaIndex], str | None]


def check(plan: Plan, reading: Reading, index: SchemaIndex) -> None:
    """Raise `CannotAnswer` (with what was understood) when the plan misreads the question."""
    doubts = [d for c in CHECKS if (d := c(plan, reading, index)) is not None]
    if doubts:
        raise CannotAnswer(
            "I am not sure I read the question right: " + "; ".join(doubts) + " — I understood: "
            + plan.explanation(),
            understood=plan.understood() | {"doubts": doubts},
        )  # fmt: skip


def unplaced_words(plan: Plan, reading: Reading, index: SchemaIndex) -> str | None:
    """A word that linked to nothing is a condition the answer would silently drop.

    Words before the question proper ("glittering splendid total fare by region") are a lead-in,
    not a condition: they only lower the plan's confidence (`shape`)."""
    names = _schema_words(plan, index)
    lost = [
        m.text
        for m in reading.mentions[len(lead_in(reading)) :]
        if m.role is Role.UNKNOWN
        and m.text in reading.ignored
        and not {m.text.lower(), lemma(m.text)} & IGNORABLE
        and not _names_schema(m.text.lower(), names)
        and not (m.text.lower() in _AMOUNT_WORDS and (_sums_a_number(plan) or _nonzero(plan)))
    ]
    if not lost:
        return None
    return "I could not place " + ", ".join(f"“{w}”" for w in dict.fromkeys(lost))


def lead_in(reading: Reading) -> list[str]:
    """The unknown words before the question proper: answered, but a reason for `auto` to ask
    the LLM (`agents.nlp`)."""
    words = []
    for m in reading.mentions:
        if m.role is not Role.UNKNOWN:
            break
        words.append(m.text)
    return words


def amount_asked(plan: Plan, reading: Reading, index: SchemaIndex) -> str | None:
    """ "how much" asks for an amount: a count of rows or a listing answers another question."""
    asked = any(m.role is Role.AGG and m.text.lower() == "how much" for m in reading.mentions)
    if not asked or plan.share or _sums_a_number(plan):
        return None
    if plan.measure is not None and plan.measure.term is not None:
        return None
    return "“how much” asks for an amount, and I found no amount to add up"


def grain_kept(plan: Plan, reading: Reading, index: SchemaIndex) -> str | None:
    """Rows of a table grouped beside one of its own columns: one of the two is not the grain."""
    entities = {d.table for d in plan.dims if d.kind == "entity"}
    for d in plan.dims:
        if d.kind == "column" and d.table in entities:
            return f"per {d.table.replace('_', ' ')} or per {d.name.replace('_', ' ')}?"
    return None


def listing_kept(plan: Plan, reading: Reading, index: SchemaIndex) -> str | None:
    """A number column named with no aggregate word and nothing to group by is a listing."""
    measure = plan.measure
    if measure is None or measure.term is not None or measure.column is None:
        return None
    if plan.dims or plan.order or plan.having or plan.outer or plan.share:
        return None
    if measure.aggregate != "sum":  # a count, or the max of "the largest amount"
        return None
    if any(m.aggregate for m in reading.measures) or _aggregate_said(reading):
        return None
    return f"list the {measure.column.replace('_', ' ')} of each row, or add them up?"


def tables_used(plan: Plan, reading: Reading, index: SchemaIndex) -> str | None:
    """A table the question names that the answer never reads was misread or dropped."""
    read = set(_plan_tables(plan))
    named = [
        m.text
        for m in reading.tables
        if not {link.table for link in m.links if isinstance(link, TableLink)} & read
    ]
    if not named:
        return None
    return "the answer leaves out " + ", ".join(f"“{w}”" for w in named)


def columns_used(plan: Plan, reading: Reading, index: SchemaIndex) -> str | None:
    """A column the question names ("show their last name", "with its description") that the
    answer neither shows nor reads was asked for and silently dropped.

    Date columns are left out: an event verb names one ("placed", "hired") without asking for it;
    so is a word naming a column the answer uses ("rated PG-13": rating, "a king bed": bedType).
    """
    used = set(_plan_columns(plan, index))
    used_words = {event_word(w) for _, column in used for w in name_words(column)}
    named = [
        m.text
        for m in reading.mentions
        if m.role is Role.SCHEMA
        and m.links
        and all(isinstance(link, ColumnLink) for link in m.links)
        and not {(link.table, link.column) for link in m.links if isinstance(link, ColumnLink)}
        & used
        and not any(
            isinstance(link, ColumnLink) and index.column(link.table, link.column).kind == "date"
            for link in m.links
        )
        and not {m.text.lower(), lemma(m.text)} & IGNORABLE
        and not all(_names_schema(w, used_words) for w in phrase_words(m.text))
    ]
    if not named:
        return None
    return "the answer does not show " + ", ".join(f"“{w}”" for w in dict.fromkeys(named))


def values_whole(plan: Plan, reading: Reading, index: SchemaIndex) -> str | None:
    """ "Sonoma county": a value ending in a column's name whose first words are a value of that
    column reads two ways (the value as typed, or the county Sonoma)."""
    for m, _ in reading.values:
        words = phrase_words(m.text)
        for link in m.links:
            if not isinstance(link, ValueLink) or len(words) < 2:
                continue
            for column in index.tables[link.table].table.columns:
                if column.name == link.column or name_words(column.name) != words[-1:]:
                    continue
                values = index.context.values.get((link.table, column.name), [])
                if any(phrase_words(v) == words[:-1] for v in values):
                    head = " ".join(m.text.split()[:-1])
                    return (
                        f"“{m.text}” could be {link.column} {link.value!r} or {column.name} "
                        f"{head!r}"
                    )
    return None


def groups_whole(plan: Plan, reading: Reading, index: SchemaIndex) -> str | None:
    """Rows counted per group through a link table (tracks per playlist, via playlist_tracks)
    leave out the groups with none, and the distinct count may not be what was meant."""
    if plan.measure is None or not plan.joins.fans_out:
        return None
    if not any(d.kind == "entity" and d.table != plan.root for d in plan.dims):
        return None
    between = [e.other for e in plan.joins.edges if not e.many_to_one]
    return f"counting {plan.root} per group through {', '.join(between)} is a guess"


CHECKS: tuple[Check, ...] = (
    unplaced_words,
    amount_asked,
    grain_kept,
    listing_kept,
    tables_used,
    columns_used,
    values_whole,
    groups_whole,
)


def _sums_a_number(plan: Plan) -> bool:
    measure = plan.measure
    return measure is not None and measure.aggregate in ("sum", "avg", "min", "max")


def _nonzero(plan: Plan) -> bool:
    """A condition that a number column holds some: "employees who earn a commission"."""
    return any(f.kind == "compare" and f.op == ">" and f.number == 0 for f in plan.filters)


def _aggregate_said(reading: Reading) -> bool:
    return any(m.role is Role.AGG for m in reading.mentions)


def _plan_tables(plan: Plan) -> Iterator[str]:
    yield from plan.joins.tables
    if plan.measure is not None:
        yield plan.measure.table
    for f in plan.filters + plan.conditions:
        yield from _filter_tables(f)


def _plan_columns(plan: Plan, index: SchemaIndex) -> Iterator[tuple[str, str]]:
    """Every (table, column) the answer shows or reads: a listing shows all its table's."""
    measure = plan.measure
    if measure is None and not plan.dims:
        yield from ((plan.root, c.name) for c in index.tables[plan.root].table.columns)
        yield from ((t, c) for t in plan.shown for c in index.tables[t].label)
    if measure is not None and measure.column is not None:
        yield measure.table, measure.column
    if plan.sort is not None:
        yield plan.sort
    for d in plan.dims:
        if d.column is not None:
            yield d.table, d.column
        if d.kind == "entity":
            yield from ((d.table, c) for c in index.tables[d.table].label)
    for f in plan.filters + plan.conditions:
        yield from _filter_columns(f)


def _filter_columns(f: Filter) -> Iterator[tuple[str, str]]:
    if f.column:
        yield f.table, f.column
    for inner in f.inner:
        yield from _filter_columns(inner)


def _filter_tables(f: Filter) -> Iterator[str]:
    yield f.table
    if f.kind == "related":
        yield f.other
        yield from (e.other for e in f.path)
        for inner in f.inner:
            yield from _filter_tables(inner)


def _schema_words(plan: Plan, index: SchemaIndex) -> set[str]:
    """The event stems of the names of every table the plan reads and of their columns."""
    words: set[str] = set()
    for table in set(_plan_tables(plan)):
        facts = index.tables[table]
        words |= {event_word(w) for w in facts.words}
        for column in facts.table.columns:
            words |= {event_word(w) for w in name_words(column.name)}
    return words


def _names_schema(word: str, names: set[str]) -> bool:
    """ "hired" names `hire_date`, "prescribed" the table `prescriptions` (all but the stem's
    last letter shared: prescrib-, prescrip-)."""
    stem = event_word(word)
    if stem in names:
        return True
    shared = max(len(stem) - 1, _MIN_STEM)
    return len(stem) >= _MIN_STEM and any(
        len(name) >= shared and name[:shared] == stem[:shared] for name in names
    )
