"""Step 2d: "what did we make", "how much have we earned": the glossary's revenue.

A verb of earning with "we" as its subject asks for the business's own takings. When the
glossary defines exactly one measure by a conventional name for them (revenue, income, turnover,
sales), the verb reads as that measure; otherwise nothing changes and the question is read, and
most likely declined, as before.
"""

from __future__ import annotations

from .linking import Mention, Role
from .schema_index import SchemaIndex, TermLink
from .words import phrase_words

#: Verbs of earning, as typed.
EARNING = frozenset({"make", "made", "making", "earn", "earned", "earning", "gross", "grossed"})
#: Glossary names that stand for a business's takings.
TAKINGS = frozenset({"revenue", "income", "turnover", "sales", "sale"})


def read_earnings(mentions: list[Mention], index: SchemaIndex) -> list[Mention]:
    """The mentions with "we made" / "did we make" read as the glossary's revenue measure."""
    terms = [
        t
        for t in index.context.glossary.terms
        if t.kind == "measure" and any(phrase_words(n)[-1:] and set(phrase_words(n)) <= TAKINGS
                                       for n in t.names)
    ]  # fmt: skip
    if len(terms) != 1:
        return mentions
    out: list[Mention] = []
    for at, m in enumerate(mentions):
        subject = at > 0 and mentions[at - 1].text.lower() == "we"
        if m.text.lower() in EARNING and subject and m.role in (Role.UNKNOWN, Role.FILLER):
            name = terms[0].names[0]  # the answer's column is named after the measure
            out.append(Mention(Role.SCHEMA, m.start, m.end, name, (TermLink(terms[0]),)))
            continue
        out.append(m)
    return out
