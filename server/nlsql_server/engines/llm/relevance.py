"""Which part of the schema a question is about, so a 500-table database fits in a prompt.

Reuses the offline engine's reading of a question (`SchemaIndex` phrases, `link`): every table,
column, value and glossary term the question names scores its table; tables the previous turns
queried score too (follow-ups). The best tables are kept, then the tables that join them, then
their direct neighbours while room is left. Columns the question named are listed first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from ..base import EngineContext
from ..offline.linking import Role, link
from ..offline.schema_index import (
    ColumnLink,
    SchemaIndex,
    TableLink,
    TermLink,
    ValueLink,
    index_for,
)
from ..offline.words import tokenize

__all__ = ["Selection", "SchemaRanker"]

_TABLE_WEIGHT = 3.0
_COLUMN_WEIGHT = 2.0
_HISTORY_WEIGHT = 2.0
_PARTIAL_WEIGHT = 0.5


@dataclass(frozen=True)
class Selection:
    """The tables a prompt describes and the columns and values the question named."""

    tables: tuple[str, ...]
    columns: frozenset[tuple[str, str]] = frozenset()
    #: Values the question matched: (table, column) → values.
    values: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)


class SchemaRanker:
    """Ranks a context's tables for a question, on the schema index the offline engine uses."""

    def __init__(self, max_tables: int = 8, max_columns: int = 0) -> None:
        self.max_tables = max_tables
        #: A schema with this many columns or fewer is shown whole, however many tables it has.
        self.max_columns = max_columns

    def select(self, question: str, context: EngineContext) -> Selection:
        index = index_for(context)
        scores: defaultdict[str, float] = defaultdict(float)
        columns: set[tuple[str, str]] = set()
        values: dict[tuple[str, str], list[str]] = {}
        for mention in link(tokenize(question), index):
            if mention.role is Role.UNKNOWN:
                for table in _partial_matches(mention.text, index):
                    scores[table] += _PARTIAL_WEIGHT
                continue
            share = 1.0 / max(1, len(mention.links))
            for found in mention.links:
                if isinstance(found, TableLink):
                    scores[found.table] += _TABLE_WEIGHT * share
                elif isinstance(found, ColumnLink | ValueLink):
                    scores[found.table] += _COLUMN_WEIGHT * share
                    columns.add((found.table, found.column))
                    if isinstance(found, ValueLink):
                        values.setdefault((found.table, found.column), []).append(found.value)
                elif isinstance(found, TermLink):
                    for table in found.term.tables:
                        if table in index.tables:
                            scores[table] += _TABLE_WEIGHT * share
        for turn in context.history[-2:]:
            for table in _tables_of(turn.sql, context.dialect, index):
                scores[table] += _HISTORY_WEIGHT
        chosen = self._expand(sorted(scores, key=lambda t: -scores[t]), index)
        return Selection(
            tables=tuple(chosen),
            columns=frozenset(c for c in columns if c[0] in chosen),
            values={k: tuple(v) for k, v in values.items() if k[0] in chosen},
        )

    def _expand(self, ranked: list[str], index: SchemaIndex) -> list[str]:
        """The best tables, the tables on the join paths between them, then neighbours.

        A schema that fits the budget whole (in tables, or in columns) is shown whole: linking
        cannot drop a table the question needs without naming it ("how much did we sell"), and
        every question on it then shares one prompt prefix, which a local model server
        evaluates only once.
        """
        every = list(index.tables)
        columns = sum(len(facts.table.columns) for facts in index.tables.values())
        if len(every) <= self.max_tables or columns <= self.max_columns:
            return every
        if not ranked:
            return []
        chosen = ranked[: self.max_tables]
        anchor = chosen[0]
        paths = index.graph.paths(anchor)
        for table in list(chosen[1:]):
            for edge in paths.get(table, (0, ()))[1]:
                if edge.other not in chosen and len(chosen) < self.max_tables:
                    chosen.append(edge.other)
        for table in list(chosen):
            for other in sorted(index.graph.paths(table)):
                if len(chosen) >= self.max_tables:
                    return chosen
                # Direct neighbours only: one key away from a chosen table.
                if other not in chosen and len(index.graph.paths(table)[other][1]) == 1:
                    chosen.append(other)
        return chosen


def _partial_matches(word: str, index: SchemaIndex) -> list[str]:
    """Tables whose name shares a long stem with a word the linker did not know."""
    stem = word.lower()[:5]
    if len(stem) < 4:
        return []
    return [
        name for name, facts in index.tables.items() if any(w.startswith(stem) for w in facts.words)
    ]


def _tables_of(sql: str, dialect: str, index: SchemaIndex) -> list[str]:
    """The schema tables an earlier turn's SQL read."""
    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except SqlglotError:
        return []
    by_lower = {name.lower(): name for name in index.tables}
    found = (by_lower.get(t.name.lower()) for t in tree.find_all(exp.Table))
    return list(dict.fromkeys(t for t in found if t))
