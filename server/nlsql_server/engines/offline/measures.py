"""What a measure reads: a glossary term's root table and tables, or a line table's amount."""

from __future__ import annotations

from sqlglot import exp

from ...databases.base import Table
from ...exceptions import CannotAnswer
from ...glossary import Term
from .schema_index import SchemaIndex, is_key, is_numeric
from .sqlnames import column
from .words import name_words


def term_root(term: Term, index: SchemaIndex) -> str:
    """The table whose rows a term aggregates: the one that reaches its other tables many-to-one."""
    tables = [t for t in term.tables if t in index.tables] or sorted(expression_tables(term, index))
    for table in tables:
        paths = index.graph.paths(table)
        if all(t in paths and all(e.many_to_one for e in paths[t][1]) for t in tables):
            return table
    if not tables:
        raise CannotAnswer(
            f"The glossary term {term.names[0]!r} names no table of this database.",
            understood={"measure": [term.names[0]]},
        )
    return tables[0]


def expression_tables(term: Term, index: SchemaIndex, with_value: bool = True) -> set[str]:
    """The tables a term's value (unless re-based) and filter read."""
    found: set[str] = set()
    for text in (term.value if with_value else None, term.filter):
        if text:
            found |= {
                c.table
                for c in index.expression(text).find_all(exp.Column)
                if c.table in index.tables
            }
    return found


def line_value(lines: Table, like: str) -> exp.Expr | None:
    """A line table's own amount: a column like `like`, or quantity × price × (1 − discount)."""
    numeric = [c for c in lines.columns if is_numeric(c) and not is_key(lines, c)]
    for candidate in numeric:
        if candidate.name == like or {"amount", "total", "subtotal"} & set(
            name_words(candidate.name)
        ):
            return column(lines.name, candidate.name)

    def find(word: str) -> str | None:
        return next((c.name for c in numeric if word in name_words(c.name)), None)

    quantity, price, discount = find("quantity") or find("qty"), find("price"), find("discount")
    if quantity is None or price is None:
        return None
    value: exp.Expr = exp.Mul(
        this=column(lines.name, quantity), expression=column(lines.name, price)
    )
    if discount is not None:
        rest = exp.Sub(this=exp.Literal.number(1), expression=column(lines.name, discount))
        value = exp.Mul(this=value, expression=exp.Paren(this=rest))
    return value


def parse_column(text: str, index: SchemaIndex) -> tuple[str, str] | None:
    """(table, column) of a glossary `date_column` such as "orders.order_date", if it is one."""
    parsed = index.expression(text)
    if isinstance(parsed, exp.Column) and parsed.table in index.tables:
        return parsed.table, parsed.name
    return None
