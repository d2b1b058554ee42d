"""Two readings, and nothing that picks one: ask which, instead of guessing.

Each option is a glossary term (`choice.term`): applied to the question (`ask`'s `choice`) it
makes the reading unique; remembered in the database's glossary overlay it settles the question
for good, for both engines. Driven by the schema and the glossary only:

- a word that is a name of two glossary terms → one option per term (the word, that term);
- a table placed in time whose rows have two or more dates, none named by the question and
  none given by the glossary, where the schema ranks none first → one date term per date;
- a word nothing is called, a small typo of two or more values ("Lindan": Linden or Lindau?)
  → one filter term per value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlglot import exp

from ...exceptions import NeedsClarification
from ...glossary import Term
from .linking import Mention, Role
from .schema_index import SchemaIndex, TermLink, ValueLink
from .words import name_words, phrase_words


def two_terms(mentions: Sequence[Mention], understood: dict[str, Any]) -> None:
    """Raise `NeedsClarification` when a word of the question names two glossary terms."""
    for m in mentions:
        terms = list(dict.fromkeys(link.term for link in m.links if isinstance(link, TermLink)))
        if len(terms) < 2:
            continue
        word = m.text.lower()
        options = [
            # under the question's word only: remembering it claims that word, not the others
            _option(f"“{m.text}” as {_describe(term)}", replace(term, names=(word,)))
            for term in terms
        ]
        raise NeedsClarification(
            f"“{m.text}” has {len(terms)} meanings in the glossary: which one do you mean?",
            options=options,
            understood=understood,
        )


def close_values(
    mentions: Sequence[Mention], index: SchemaIndex, understood: dict[str, Any]
) -> None:
    """Raise `NeedsClarification` when an unknown word is a small typo of two or more values."""
    for m in mentions:
        if m.role is not Role.UNKNOWN:
            continue
        words = phrase_words(m.text)
        close = index.close_words(words[0]) if len(words) == 1 else []
        links = [link for w in close for link in index.phrases[(w,)]]
        values = list(dict.fromkeys(link for link in links if isinstance(link, ValueLink)))
        if len(values) < 2 or len(values) != len(links):
            continue
        dialect = index.context.glossary.dialect
        options = [
            _option(
                f"{v.value} ({v.table} {' '.join(name_words(v.column))})",
                Term(
                    names=(m.text.lower(),),
                    kind="filter",
                    tables=(v.table,),
                    filter=exp.column(v.column, v.table)
                    .eq(exp.Literal.string(v.value))
                    .sql(dialect),
                    description=f"{v.table}.{v.column} is {v.value!r}",
                ),
            )
            for v in values
        ]
        shown = " or ".join(f"“{v.value}”" for v in values)
        raise NeedsClarification(
            f"“{m.text}” is in no table: did you mean {shown}?",
            options=options,
            understood=understood,
        )


def dates(table: str, columns: Sequence[str], understood: dict[str, Any]) -> NeedsClarification:
    """The question to ask when `table`'s rows could be placed in time by any of `columns`."""
    options = [
        _option(
            f"{table} by {' '.join(name_words(column))}",
            Term(
                names=(table.lower(),),
                kind="date",
                tables=(table,),
                date_column=f"{table}.{column}",
                description=f"The date that places a row of {table} in time.",
            ),
        )
        for column in columns
    ]
    shown = " or ".join(columns)
    return NeedsClarification(
        f"{table} has {len(columns)} dates ({shown}): which one places them in time?",
        options=options,
        understood=understood,
    )


def _option(label: str, term: Term) -> dict[str, Any]:
    return {"label": label, "choice": {"term": term.to_dict()}}


def _describe(term: Term) -> str:
    if term.description:
        return term.description.rstrip(".")
    if term.kind == "measure" and term.aggregate:
        return f"{term.aggregate}({term.value})"
    return f"rows where {term.filter}"
