"""Step 1: words. Questions and schema names become the same kind of lower-case, singular words.

Both sides go through `lemma`, so "Categories" in a question meets the table `categories`, and
"United States" meets the value `United States` whatever the plural or the case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20,
    "thirty": 30, "fifty": 50, "hundred": 100, "dozen": 12,
}  # fmt: skip

#: Words too common to stand alone for a column or a value ("on" of `paid_on`).
FUNCTION_WORDS = frozenset(
    {"a", "an", "the", "of", "on", "in", "at", "by", "to", "for", "from", "with", "and", "or",
     "per", "is", "are", "be", "as", "no", "not", "all", "any"}
)  # fmt: skip
MONTH_WORDS = {
    name: number
    for number, names in enumerate(
        ("january jan", "february feb", "march mar", "april apr", "may", "june jun", "july jul",
         "august aug", "september sep sept", "october oct", "november nov", "december dec"),
        start=1,
    )
    for name in names.split()
}  # fmt: skip
#: Words whose last "s" is not a plural ending.
_KEEP_S = ("ss", "us", "is", "ous")
#: Plurals in "-ies" whose singular ends in "-ie" (or that are their own singular).
_IES_WORDS = {"movies": "movie", "cookies": "cookie", "calories": "calorie", "series": "series",
              "species": "species"}  # fmt: skip


def lemma(word: str) -> str:
    """The lower-case singular of an English word: categories → category, statuses → status."""
    w = word.lower()
    if len(w) <= 3 or w.isdigit() or w.endswith(_KEEP_S):
        return w
    if w in _IES_WORDS:
        return _IES_WORDS[w]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    # statuses → status and boxes → box, but houses → house
    if w.endswith(("sses", "xes", "ches", "shes")) or re.search(r"[^aeiou]uses$", w):
        return w[:-2]
    if w.endswith("s"):
        return w[:-1]
    return w


@dataclass(frozen=True)
class Token:
    """One word of the question: as typed, and as the lemma the linker matches on."""

    text: str
    lemma: str
    #: Typed with a capital letter somewhere other than the start of the question.
    capitalised: bool = False

    @property
    def number(self) -> int | None:
        """The word as a whole number ("5", "five"), or None."""
        if self.lemma.isdigit():
            return int(self.lemma)
        return NUMBER_WORDS.get(self.lemma)


def tokenize(question: str) -> list[Token]:
    """Split a question into tokens; punctuation and possessive 's go, digits stay."""
    text = re.sub(r"'s\b", "", question.replace("’", "'"))
    tokens = []
    for index, match in enumerate(_WORD.finditer(text)):
        raw = match.group()
        tokens.append(Token(raw.lower(), lemma(raw), index > 0 and raw[0].isupper()))
    return tokens


@lru_cache(maxsize=1 << 14)  # a wide schema repeats its column names in every table
def name_words(identifier: str) -> tuple[str, ...]:
    """The lemmas of a snake_case or camelCase name: `order_items` → ("order", "item")."""
    return tuple(lemma(w) for w in _WORD.findall(_CAMEL.sub(" ", identifier)))


def phrase_words(text: str) -> tuple[str, ...]:
    """The lemmas of a free-text phrase (a glossary name, a value), tokenised like questions."""
    return tuple(t.lemma for t in tokenize(text))


#: Verbs whose noun names a date column ("born" → birth_date).
_EVENT_NOUNS = {"born": "birth", "bought": "purchase", "sold": "sale", "died": "death",
                "began": "start", "started": "start", "ended": "end", "finished": "end"}  # fmt: skip


def event_word(word: str) -> str:
    """The stem shared by an event's verb and its date column: hired/hire → hir, born → birth."""
    word = _EVENT_NOUNS.get(word, word)
    for ending in ("ing", "ed", "e", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


def stem(word: str) -> str:
    """A crude stem for matching glossary names loosely: spending, spend → spend."""
    for ending in ("ing", "ed", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word
