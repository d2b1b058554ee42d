"""Step 2c: adjectives that name a column. "The most expensive product" ranks by its price.

An adjective of size or cost stands for the number columns whose names say that quantity
(expensive → price or cost, long → length, duration, pages or milliseconds, highest-paid →
salary or wage, oldest → age). After a rank word ("most expensive", "highest paid") the
adjective becomes a mention of those columns; a superlative ("priciest", "longest", "cheapest")
is a rank word and that mention at once; a comparative before "than" ("longer than 120") is
that mention and the comparison; "earliest" or "latest" before a date column is its
minimum or maximum. Which column of which table is meant is left to
`shape`, as for a column named outright; with no such column in the schema, nothing changes.
"""

from __future__ import annotations

from .linking import Mention, Role
from .schema_index import ColumnLink, SchemaIndex, TableLink, is_key, is_numeric
from .words import name_words

Quantity = tuple[frozenset[str], ...]
#: Tiers of words: the first tier with a column wins (a price before a cost to the seller).
_PRICE = (frozenset({"price", "fee", "rate", "charge", "fare"}), frozenset({"cost"}))
_LENGTH = (
    frozenset({"length", "page", "millisecond", "second", "minute", "runtime"}),
    frozenset({"duration"}),
)
_PAY = (frozenset({"salary", "pay", "wage", "compensation", "earning", "income"}),)
_AGE = (frozenset({"age"}),)
_WEIGHT = (frozenset({"weight"}),)

#: Adjectives that need a rank word before them: "most expensive", "highest paid".
PLAIN: dict[str, Quantity] = {
    "expensive": _PRICE, "pricey": _PRICE, "costly": _PRICE, "long": _LENGTH,
    "lengthy": _LENGTH, "paid": _PAY, "old": _AGE, "heavy": _WEIGHT,
}  # fmt: skip
#: Superlatives: the rank and the quantity in one word.
SUPERLATIVE: dict[str, tuple[str, Quantity]] = {
    "priciest": ("desc", _PRICE), "costliest": ("desc", _PRICE), "cheapest": ("asc", _PRICE),
    "longest": ("desc", _LENGTH), "shortest": ("asc", _LENGTH), "oldest": ("desc", _AGE),
    "youngest": ("asc", _AGE), "heaviest": ("desc", _WEIGHT), "lightest": ("asc", _WEIGHT),
}  # fmt: skip


#: Comparatives before "than": the comparison and the quantity ("films longer than 120").
COMPARATIVE: dict[str, tuple[str, Quantity]] = {
    "longer": (">", _LENGTH), "shorter": ("<", _LENGTH), "pricier": (">", _PRICE),
    "costlier": (">", _PRICE), "cheaper": ("<", _PRICE), "older": (">", _AGE),
    "younger": ("<", _AGE), "heavier": (">", _WEIGHT), "lighter": ("<", _WEIGHT),
}  # fmt: skip
#: Superlatives of time before a date column: "the earliest signup date" is its minimum.
DATED = {"earliest": "min", "first": "min", "latest": "max", "last": "max", "newest": "max",
         "recent": "max"}  # fmt: skip


def read_adjectives(mentions: list[Mention], index: SchemaIndex) -> list[Mention]:
    """The mentions with each adjective that names columns of this schema read as them."""
    out: list[Mention] = []
    skip = -1
    for position, m in enumerate(mentions):
        if position == skip:
            continue
        word = m.text.lower()
        after = mentions[position + 1] if position + 1 < len(mentions) else None
        if word in COMPARATIVE and after is not None and after.text.lower() == "than":
            op, quantity = COMPARATIVE[word]
            links = _columns(quantity, _noun_tables(list(reversed(out))), index)
            if links:
                out.append(Mention(Role.SCHEMA, m.start, m.end, m.text, links))
                out.append(Mention(Role.COMPARE, after.start, after.end, after.text, value=op))
                skip = position + 1
                continue
        dated = word in DATED and m.role in (Role.UNKNOWN, Role.FILLER, Role.RANK)
        if dated and _dates_next(mentions[position + 1 :], index):
            out.append(Mention(Role.AGG, m.start, m.end, m.text, value=DATED[word]))
            continue
        after_rank = bool(out) and out[-1].role is Role.RANK
        noun = _noun_tables(mentions[position + 1 :])
        if word in SUPERLATIVE and m.role in (Role.UNKNOWN, Role.RANK, Role.FILLER):
            order, quantity = SUPERLATIVE[word]
            links = _columns(quantity, noun, index)
            if links:
                out.append(Mention(Role.RANK, m.start, m.end, m.text, value=order))
                out.append(Mention(Role.SCHEMA, m.start, m.end, m.text, links))
                continue
        elif word in PLAIN and after_rank and m.role in (Role.UNKNOWN, Role.FILLER):
            links = _columns(PLAIN[word], noun, index)
            if links:
                out.append(Mention(Role.SCHEMA, m.start, m.end, m.text, links))
                continue
        out.append(m)
    return out


def _dates_next(rest: list[Mention], index: SchemaIndex) -> bool:
    """Is the next schema word a date column, and only that?"""
    following = next((m for m in rest if m.role is not Role.FILLER), None)
    if following is None or following.role is not Role.SCHEMA or not following.links:
        return False
    return all(
        isinstance(link, ColumnLink) and index.column(link.table, link.column).kind == "date"
        for link in following.links
    )


def _noun_tables(rest: list[Mention]) -> set[str]:
    """The tables the next schema word names ("priciest room": rooms), if it names any."""
    following = next((m for m in rest if m.role is not Role.FILLER), None)
    if following is None or following.role is not Role.SCHEMA:
        return set()
    return {link.table for link in following.links if isinstance(link, TableLink)}


def _columns(quantity: Quantity, noun: set[str], index: SchemaIndex) -> tuple[ColumnLink, ...]:
    """The number columns, keys aside, whose names hold a word of the quantity's first tier
    that has any; only the noun's table's column when it has some, none when it has two."""
    for words in quantity:
        found = tuple(
            ColumnLink(name, column.name)
            for name, facts in index.tables.items()
            for column in facts.table.columns
            if is_numeric(column)
            and not is_key(facts.table, column)
            and words & set(name_words(column.name))
        )
        own = tuple(link for link in found if link.table in noun)
        if len(own) > 1:
            return ()  # two such columns of the noun's table ("length", "rental duration")
        if own or found:
            return own or found
    return ()
