"""Step 3a, aside: an empty column as a state. "Not yet shipped" is `shipped_date IS NULL`.

A column that may hold NULL records an event or a link that has not happened yet: an invoice's
`paid_on`, an order's `shipped_date`, an employee's `manager_id`. Negating the word that names
such a column ("never paid", "not yet shipped", "do not have a manager") asks for the rows where
it is empty. The word meets the column by its event stem (shipped, ship → ship_date), the key's
or date's suffix aside; only tables the question names are searched, and one column must remain.
"""

from __future__ import annotations

from .schema_index import SchemaIndex
from .words import event_word, name_words

#: Last words of a column's name that say what kind of value it holds, not what it records.
_SUFFIXES = frozenset({"id", "date", "on", "at", "time", "day", "when"})


def empty_column(word: str, tables: set[str], index: SchemaIndex) -> tuple[str, str] | None:
    """The one nullable column of `tables` that `word` names, as (table, column), or None."""
    stem = event_word(word.lower())
    found = [
        (name, column.name)
        for name in sorted(tables)
        for column in index.tables[name].table.columns
        if column.nullable
        and not column.primary_key
        and stem in {event_word(w) for w in _named_by(column.name)}
    ]
    return found[0] if len(found) == 1 else None


def _named_by(column: str) -> tuple[str, ...]:
    """The words of a column's name that name what it records: `shipped_date` → shipped."""
    words = name_words(column)
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words = words[:-1]
    return words
