"""What a model must be told about each SQL dialect.

Small models write the dialect they saw most (MySQL's YEAR() and DATE_FORMAT() into SQLite,
SQLite's strftime() into MySQL); naming the right functions in the prompt avoids most of it.
`fitted` keeps only the rules the tables at hand call for: date functions only where there are
date columns, and a warning against them where a year is stored as a number — every rule costs
prompt tokens (latency on a local model), and a rule about absent columns distracts a small one.
"""

from __future__ import annotations

from collections.abc import Sequence

from ...databases.base import Table

__all__ = ["display_name", "fitted", "guidance"]

_NAMES = {
    "sqlite": "SQLite",
    "mysql": "MySQL",
    "tidb": "TiDB",
    "postgres": "PostgreSQL",
    "duckdb": "DuckDB",
}

_GUIDANCE = {
    "sqlite": (
        "Dates are stored as text 'YYYY-MM-DD'. Use strftime('%Y', col) for the year, "
        "strftime('%Y-%m', col) for the month, strftime('%m', col) for the month number, "
        "and date('now') or date literals for comparisons ('2024-01-01').",
        "Never use YEAR(), MONTH(), DAY(), QUARTER(), DATE_FORMAT(), EXTRACT(), NOW(), "
        "CURDATE(), DATE_SUB() or INTERVAL: SQLite has none of them.",
        "A quarter is (CAST(strftime('%m', col) AS INTEGER) + 2) / 3.",
        "Concatenate with ||, not CONCAT(). Divide with 1.0 * a / b to avoid integer division.",
        "Use LIMIT n; never TOP n. Compare text case-insensitively with LOWER(col) = 'value'.",
    ),
    "mysql": (
        "Use YEAR(col), MONTH(col), QUARTER(col) and DATE_FORMAT(col, '%Y-%m') for dates; "
        "never strftime() or julianday(), which MySQL does not have.",
        "Quote identifiers with backticks when needed, never double quotes.",
        "Concatenate with CONCAT(a, b). Use LIMIT n; never TOP n.",
        "With GROUP BY, every selected column that is not aggregated must be grouped.",
    ),
    "postgres": (
        "Use EXTRACT(YEAR FROM col), DATE_TRUNC('month', col) and TO_CHAR(col, 'YYYY-MM').",
        "Quote identifiers with double quotes when needed. Use LIMIT n.",
    ),
    "duckdb": (
        "Use YEAR(col), MONTH(col), QUARTER(col), DATE_TRUNC('month', col) and "
        "STRFTIME(col, '%Y-%m') (the date first) for dates.",
        "Quote identifiers with double quotes when needed. Use LIMIT n. "
        "Concatenate with ||; a / b divides exactly, a // b is integer division.",
    ),
}
_GUIDANCE["tidb"] = _GUIDANCE["mysql"]


def display_name(dialect: str) -> str:
    """The dialect as people name it: `sqlite` → SQLite."""
    return _NAMES.get(dialect, dialect)


def guidance(dialect: str) -> tuple[str, ...]:
    """Rules of thumb for writing `dialect`, one sentence each (none for unknown dialects)."""
    return _GUIDANCE.get(dialect, ())


#: Of `_GUIDANCE[dialect]`, how many leading rules are about dates (the rest hold always).
_DATE_RULES = {"sqlite": 3, "mysql": 1, "tidb": 1, "postgres": 1, "duckdb": 1}


def fitted(dialect: str, tables: Sequence[Table]) -> tuple[str, ...]:
    """The rules of `dialect` that the `tables` need, plus one about numeric year columns."""
    rules = guidance(dialect)
    dates = _DATE_RULES.get(dialect, 0)
    has_dates = any(c.kind == "date" for t in tables for c in t.columns)
    kept = rules if has_dates else rules[dates:]
    years = [
        f"{t.name}.{c.name}"
        for t in tables
        for c in t.columns
        if c.kind in ("integer", "number") and "year" in c.name.lower()
    ]
    if years:
        kept += (
            f"The year is a number in {', '.join(years[:4])}: compare it with numbers "
            "(year = 2010), never with date functions.",
        )
    return kept
