"""Step 2b: link the question's words to the schema, the glossary, the values and the grammar.

The question is read left to right, longest phrase first. Each stretch of words becomes one
`Mention` with a role: a schema phrase (tables, columns, values, glossary terms it may mean), a
grammar word (aggregate, grouping, ranking, time grain, negation, preposition), a year, a number,
a filler word, or an unknown word. Deciding what each mention *does* is the next step's job.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum

from .periods import relative_at
from .schema_index import SYNONYMS, ColumnLink, Link, SchemaIndex, TableLink, TermLink, ValueLink
from .words import MONTH_WORDS, Token, stem


class Role(Enum):
    SCHEMA = "schema"
    AGG = "aggregate"  # value: count | sum | avg | min | max
    GROUP = "group"  # per, by, each, for every
    WHICH = "which"  # which, what: the next dimension is what the answer lists
    RANK = "rank"  # value: desc | asc
    GRAIN = "grain"  # value: year | quarter | month | day (a noun: "per month")
    PERIODIC = "periodic"  # value: a grain, as an adjective: "monthly"
    RANGE = "range"  # value: since | after | before | until | between | to
    NEGATE = "negate"
    PREP = "preposition"  # in, for, from: a filter value may follow
    AND = "and"
    YEAR = "year"  # value: the year
    MONTHS = "months"  # value: "first-last" month numbers: "march" → "3-3", "q2" → "4-6"
    NUMBER = "number"  # value: the number
    COMPARE = "compare"  # value: > >= < <= ("over", "at least", "fewer than")
    SHARE = "share"  # share, percentage, proportion
    DISTINCT = "distinct"  # distinct, unique, different
    RELATIVE = "relative"  # value: "this:0:year", "last:1:month", "trail:3:month" (see periods)
    FILLER = "filler"
    UNKNOWN = "unknown"


_GRAMMAR: dict[tuple[str, ...], tuple[Role, str]] = {
    **{p: (Role.AGG, "count") for p in [("how", "many"), ("number", "of"), ("count",), ("count", "of")]},
    **{p: (Role.AGG, "sum") for p in [("total",), ("sum",), ("sum", "of"), ("how", "much")]},
    **{p: (Role.AGG, "avg") for p in [("average",), ("avg",), ("mean",), ("on", "average")]},
    **{p: (Role.AGG, "max") for p in [("max",), ("maximum",)]},
    **{p: (Role.AGG, "min") for p in [("min",), ("minimum",)]},
    **{p: (Role.GROUP, "") for p in [("per",), ("by",), ("each",), ("for", "each"), ("every",),
                                     ("for", "every"), ("across",), ("broken", "down", "by"),
                                     ("split", "by"), ("grouped", "by"), ("per", "each")]},
    **{p: (Role.WHICH, "") for p in [("which",), ("what",)]},
    **{(w,): (Role.RANK, "desc") for w in ("top", "best", "highest", "most", "largest", "biggest",
                                           "greatest")},
    **{(w,): (Role.RANK, "asc") for w in ("bottom", "worst", "lowest", "least", "smallest",
                                          "fewest", "cheapest")},
    **{(w, "by"): (Role.RANK, "desc") for w in ("ranked", "sorted", "ordered", "ranking")},
    **{(w, "first"): (Role.RANK, "desc") for w in ("highest", "largest", "biggest", "most")},
    **{(w, "first"): (Role.RANK, "asc") for w in ("lowest", "smallest", "fewest", "least")},
    ("descending",): (Role.RANK, "desc"), ("ascending",): (Role.RANK, "asc"),
    **{(w,): (Role.COMPARE, ">") for w in ("over", "above", "exceeding", "exceeds")},
    **{(w, "than"): (Role.COMPARE, ">") for w in ("more", "greater", "higher", "larger", "bigger")},
    **{(w,): (Role.COMPARE, "<") for w in ("under", "below")},
    **{(w, "than"): (Role.COMPARE, "<") for w in ("less", "fewer", "lower", "smaller")},
    ("at", "least"): (Role.COMPARE, ">="), ("at", "most"): (Role.COMPARE, "<="),
    ("no", "more", "than"): (Role.COMPARE, "<="), ("or", "more"): (Role.COMPARE, ">="),
    **{(w,): (Role.SHARE, "") for w in ("share", "percentage", "percent", "proportion",
                                       "fraction", "pct")},
    **{(w,): (Role.DISTINCT, "") for w in ("distinct", "unique", "different")},
    **{(w,): (Role.GRAIN, w) for w in ("year", "quarter", "month", "day")},
    ("over", "time"): (Role.PERIODIC, "month"),
    **{(w,): (Role.PERIODIC, g) for w, g in [("yearly", "year"), ("annual", "year"),
                                            ("annually", "year"), ("quarterly", "quarter"),
                                            ("monthly", "month"), ("daily", "day")]},
    **{(w,): (Role.RANGE, w) for w in ("since", "after", "before", "until", "between", "to")},
    ("through",): (Role.RANGE, "to"),
    **{p: (Role.NEGATE, "") for p in [("not",), ("excluding",), ("exclude",), ("except",),
                                      ("without",), ("other", "than"), ("non",), ("never",),
                                      ("no",), ("nobody",), ("no", "one")]},
    **{(w,): (Role.PREP, "") for w in ("in", "for", "during", "from", "at", "where", "within",
                                       "with", "inside")},
    **{(w,): (Role.AND, "") for w in ("and", "or")},
    **{(w,): (Role.MONTHS, f"{m}-{m}") for w, m in MONTH_WORDS.items()},
    **{(f"q{q}",): (Role.MONTHS, f"{3 * q - 2}-{3 * q}") for q in range(1, 5)},
    **{(w, "quarter"): (Role.MONTHS, f"{3 * q - 2}-{3 * q}")
       for q, w in enumerate(("first", "second", "third", "fourth"), start=1)},
    **{(w, "half"): (Role.MONTHS, months)
       for w, months in (("first", "1-6"), ("second", "7-12"))},
    ("h1",): (Role.MONTHS, "1-6"), ("h2",): (Role.MONTHS, "7-12"),
}  # fmt: skip

#: Words that carry no meaning of their own here ("show me the ...").
FILLERS = frozenset({
    "show", "me", "the", "a", "an", "is", "are", "was", "were", "be", "been", "of", "list",
    "give", "tell", "find", "get", "display", "i", "we", "our", "us", "you", "please", "there",
    "do", "does", "did", "have", "has", "had", "can", "could", "would", "will", "want", "need",
    "see", "know", "all", "any", "that", "those", "these", "it", "its", "their", "them", "they",
    "who", "whose", "how", "many", "much", "on", "as", "up", "so", "far", "overall", "altogether",
    "value", "amount", "number", "new", "sold", "placed", "made", "bought", "spent", "generated",
    "earned", "received", "signed", "issued", "data", "record", "row", "breakdown",
    "distribution", "trend", "over", "time", "chart", "plot", "graph", "rank", "ranked",
    "ranking", "sorted", "order", "ever", "currently", "current", "exist", "existing", "yet"
})  # fmt: skip


@dataclass(frozen=True)
class Mention:
    """A stretch of the question's words and what they may refer to."""

    role: Role
    start: int
    end: int
    #: The words as typed.
    text: str
    links: tuple[Link, ...] = ()
    value: str | int = ""
    #: Typed with a capital letter mid-sentence (a name?): used only for unknown words.
    capitalised: bool = False


def link(tokens: list[Token], index: SchemaIndex) -> list[Mention]:
    """Read the tokens left to right, taking the longest phrase known at each position."""
    mentions: list[Mention] = []
    position = 0
    while position < len(tokens):
        mention = (
            relative_at(tokens, position)
            or _longest(tokens, position, index)
            or _single(tokens[position], position, index)
        )
        mentions.append(mention)
        position = mention.end
    return _in_named_tables(mentions)


def _in_named_tables(mentions: list[Mention]) -> list[Mention]:
    """A column of several tables means the one of a table the question names: in "total
    amount of harbor refunds per status" both words are harbor_refunds' own, however many
    other tables have an `amount` and a `status`. Values keep every table they are found in:
    "wines from Sonoma county" may mean a county of the appellations the wines name."""
    named = {
        found.table
        for m in mentions
        if m.links and all(isinstance(found, TableLink) for found in m.links)
        for found in m.links
        if isinstance(found, TableLink)
    }
    narrowed = []
    for m in mentions:
        columns = [f for f in m.links if isinstance(f, ColumnLink)]
        kept = tuple(f for f in columns if f.table in named)
        if kept and len(kept) < len(columns) == len(m.links):
            m = replace(m, links=kept)
        narrowed.append(m)
    return narrowed


def _longest(tokens: list[Token], start: int, index: SchemaIndex) -> Mention | None:
    lemmas = [t.lemma for t in tokens]
    synonyms = [SYNONYMS.get(w, w) for w in lemmas]
    for end in range(min(len(tokens), start + max(index.longest, 3)), start, -1):
        text = " ".join(t.text for t in tokens[start:end])
        words = tuple(lemmas[start:end])
        links = index.phrases.get(words, [])
        if not links and end == start + 1:  # "spend" for the glossary's "spending"
            links = index.term_stems.get(stem(words[0]), [])
        links = links or index.phrases.get(tuple(synonyms[start:end]), [])
        if not links and end == start + 1:
            links = _verb_links(words[0], index)
        terms = tuple(link for link in links if isinstance(link, TermLink))
        if terms:
            # values of the same words stay, after the terms: "expense accounts" (reading.py)
            values = tuple(link for link in links if isinstance(link, ValueLink))
            return Mention(Role.SCHEMA, start, end, text, terms + values)
        if words in _GRAMMAR:
            role, value = _GRAMMAR[words]
            return Mention(role, start, end, text, value=value)
        if links:
            return Mention(Role.SCHEMA, start, end, text, tuple(links))
    return None


def _verb_links(word: str, index: SchemaIndex) -> list[Link]:
    """ "ordered" → orders, "purchased" → purchase → orders: a verb naming a table's rows;
    "voided" → the status 'void': a verb made of a value, when the value is all it can mean."""
    if not word.endswith("ed"):
        return []
    for root in (word[:-2], word[:-1]):
        links = index.phrases.get((SYNONYMS.get(root, root),), [])
        tables = [link for link in links if isinstance(link, TableLink)]
        if tables:
            return list(tables)
        if links and all(isinstance(link, ValueLink) for link in links):
            return list(links)
    return []


def _single(token: Token, position: int, index: SchemaIndex) -> Mention:
    end = position + 1
    number = token.number
    if number is not None:
        is_year = token.text.isdigit() and len(token.text) == 4 and 1900 <= number <= 2100
        return Mention(
            Role.YEAR if is_year else Role.NUMBER, position, end, token.text, value=number
        )
    if token.text in FILLERS or token.lemma in FILLERS:
        return Mention(Role.FILLER, position, end, token.text)
    near = index.near(token.lemma)
    if near is not None:
        # a small typo of a schema word or value ("germny", "canceled"): read as that word
        return Mention(Role.SCHEMA, position, end, token.text, tuple(near), value="near")
    return Mention(Role.UNKNOWN, position, end, token.text, capitalised=token.capitalised)
