"""The chat messages for one question: instructions, the linked schema, and the conversation.

The system message holds what the model needs to know about the database — only the tables the
question is about (`relevance.Selection`), with their keys, sample values of their text columns,
the glossary terms over them, the dialect's rules and a few verified examples. Earlier turns of
the session follow as user/assistant pairs, so a follow-up reads like one; failed attempts at
this question come last, each with the error it met.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot.errors import SqlglotError

from ...databases.base import Table
from ...glossary import Term
from ..base import EngineContext
from .chat import Message
from .dialects import display_name, fitted, guidance
from .examples import Example
from .options import Pipeline
from .relevance import Selection

__all__ = ["Attempt", "build_messages", "fenced"]

#: Values shown per text column, and columns per table, at most.
_VALUES_SHOWN = 4
#: Text columns with more distinct values than this are not categories: no samples shown.
_CATEGORICAL = 50
_COLUMNS_SHOWN = 40
#: Words of a question that count from "now": only then is the model told where the data ends
#: (told always, it filters "top customers" down to the last two years).
_RELATIVE = re.compile(
    r"\b(this|last|past|previous|current|next)\s+(year|quarter|month|week)|\bytd\b|\brecent",
    re.IGNORECASE,
)
#: Earlier turns of the session that go into the prompt, at most (the latest ones).
_TURNS_SHOWN = 3


@dataclass(frozen=True)
class Attempt:
    """An earlier try at the same question: the SQL (or reply) and why it was not good."""

    sql: str
    error: str


def build_messages(
    question: str,
    context: EngineContext,
    selection: Selection,
    examples: Sequence[Example] = (),
    attempts: Sequence[Attempt] = (),
    options: Pipeline | None = None,
) -> list[Message]:
    """System message (instructions, schema: shared by the questions on a database), earlier
    turns, the question, then the failed attempts at it with their errors."""
    options = options or Pipeline()
    system = _system(context, selection, examples, options)
    messages: list[Message] = [{"role": "system", "content": system}]
    for turn in context.history[-_TURNS_SHOWN:]:
        messages.append({"role": "user", "content": turn.question})
        messages.append({"role": "assistant", "content": fenced(turn.sql)})
    question_text = _question(question, context)
    if context.years and options.fitted_rules and _RELATIVE.search(question):
        question_text += f"\n\n({_years(context.years)})"
    messages.append({"role": "user", "content": question_text})
    for attempt in attempts:
        messages.append({"role": "assistant", "content": fenced(attempt.sql)})
        messages.append(
            {
                "role": "user",
                "content": f"That query failed: {attempt.error}\n"
                "Write a corrected query for the same question, following the rules.",
            }
        )
    return messages


def _years(years: tuple[int, int]) -> str:
    first, last = years
    return (
        f'The data runs from {first} to {last}: read "this year" as {last} and '
        f'"last year" as {last - 1}.'
    )


def _question(question: str, context: EngineContext) -> str:
    """The question; after earlier turns, with a reminder that it may refine the last one
    (small models otherwise tend to answer a follow-up as a question of its own)."""
    if not context.history:
        return question
    last = context.history[-1].question
    return f'{question}\n\n(If this refines the previous question, "{last}", change its query.)'


def _system(
    context: EngineContext,
    selection: Selection,
    examples: Sequence[Example],
    options: Pipeline,
) -> str:
    dialect = display_name(context.dialect)
    tables = [t for t in context.schema.tables if t.name in set(selection.tables)]
    rules = [
        "Use only the tables and columns listed below; join tables on the keys shown.",
        *(fitted(context.dialect, tables) if options.fitted_rules else guidance(context.dialect)),
        "Give readable names to computed columns (AS total_revenue).",
    ]
    if context.history or not options.fitted_rules:
        rules.append(
            'A question may refine the previous one ("now only for Europe", "same but per '
            'quarter"): then change the previous query accordingly.'
        )
    rules.append("Reply with the query in one ```sql code block and nothing else.")
    parts = [
        f"You write {dialect} SQL for a data analyst. Answer each question with exactly one "
        "read-only query (SELECT or WITH) on the database described below.",
        "Rules:\n" + "\n".join(f"- {rule}" for rule in rules),
        f"Tables ({dialect}):\n\n" + "\n\n".join(_tables(context, selection, options)),
    ]
    terms = _terms(context, selection)
    if terms:
        parts.append("Business terms:\n" + "\n".join(terms))
    if context.years and not options.fitted_rules:
        parts.append(_years(context.years))
    if examples:
        parts.append(
            "Examples:\n\n"
            + "\n\n".join(
                f"Question: {e.question}\n{fenced(e.sql_in(context.dialect))}" for e in examples
            )
        )
    # Last, as it changes with the question: the rest is a prefix shared across questions.
    if selection.values:
        parts.append(
            "Values the question mentions: "
            + "; ".join(
                f"{table}.{column} = " + " or ".join(_literal(v) for v in values)
                for (table, column), values in sorted(selection.values.items())
            )
        )
    return "\n\n".join(parts)


def _tables(context: EngineContext, selection: Selection, options: Pipeline) -> list[str]:
    """The selected tables in schema order (not by relevance), so prompts share a prefix."""
    chosen = set(selection.tables)
    return [
        _table(t, context, selection, options) for t in context.schema.tables if t.name in chosen
    ]


def _table(table: Table, context: EngineContext, selection: Selection, options: Pipeline) -> str:
    keys = {fk.column.lower(): fk for fk in table.foreign_keys} if options.foreign_keys else {}
    named = [c for c in table.columns if (table.name, c.name) in selection.columns]
    columns = list(dict.fromkeys([*named, *table.columns]))[:_COLUMNS_SHOWN]
    columns.sort(key=table.columns.index)
    lines: list[tuple[str, str]] = []
    for column in columns:
        line = f"  {column.name} {column.type or 'TEXT'}"
        if column.primary_key:
            line += " PRIMARY KEY"
        fk = keys.get(column.name.lower())
        if fk is not None:
            line += f" REFERENCES {fk.ref_table}({fk.ref_column})"
        known = context.values.get((table.name, column.name), ()) if options.sample_values else ()
        lines.append((line, _values(known, table.row_count)))
    rows = f"  -- {table.row_count} rows" if table.row_count is not None else ""
    body = [
        line + ("," if i < len(lines) - 1 else "") + (f"  -- e.g. {values}" if values else "")
        for i, (line, values) in enumerate(lines)
    ]
    return f"CREATE TABLE {table.name} ({rows}\n" + "\n".join(body) + "\n);"


def _values(known: Sequence[str], rows: int | None) -> str:
    """Sample values of a categorical column: few distinct values, each on several rows.

    Names, e-mails, phone numbers and addresses (one value per row) are left out: they cost
    tokens and show the model no spelling it needs.
    """
    if not known or len(known) > _CATEGORICAL or (rows is not None and 2 * len(known) > rows):
        return ""
    shown = ", ".join(_literal(v) for v in known[:_VALUES_SHOWN])
    return shown + (f" ({len(known)} values)" if len(known) > _VALUES_SHOWN else "")


def _literal(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _terms(context: EngineContext, selection: Selection) -> list[str]:
    chosen = set(selection.tables)
    lines = []
    for term in context.glossary.terms:
        if term.tables and not set(term.tables) <= chosen:
            continue
        lines.append(f"- {' / '.join(term.names)}: {_term(term, context)}")
    return lines


def _term(term: Term, context: EngineContext) -> str:
    def sql(text: str) -> str:
        try:
            return sqlglot.transpile(text, read=context.glossary.dialect, write=context.dialect)[0]
        except SqlglotError:
            return text

    if term.kind == "date" and term.date_column:
        text = (
            f"when a question places {term.dated_table} in time without saying by which date,"
            f" use {sql(term.date_column)}"
        )
    elif term.kind == "measure" and term.value and term.aggregate:
        text = f"{term.aggregate.upper()}({sql(term.value)})"
        if term.filter:
            text += f" over rows where {sql(term.filter)}"
    else:
        text = f"rows where {sql(term.filter or '')}"
    return text + (f" ({term.description})" if term.description else "")


def fenced(sql: str) -> str:
    """SQL in a ```sql block, as the model is asked to reply."""
    return f"```sql\n{sql.strip()}\n```"
