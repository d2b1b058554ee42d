"""How a chart reads: titles, number formats and time axes for the viz agent's specs.

Kept apart from the chart rules in `viz.py`. Formats are d3-format / d3-time-format strings,
the same in Vega-Lite 5 and 6, so a tooltip shows "$175,672.49" and not "175672.49000000008".
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from typing import Any

from ..glossary import Glossary

MONEY = "$,.2f"
_MONEY = re.compile(
    r"amount|revenue|sales|price|cost|spend|spent|paid|balance|total_value|income|budget|salary"
)
# Counts of money things and dates of payments are not money ("sales_count", "paid_on").
_NOT_MONEY = re.compile(r"count|number|qty|quantity|units|days|date|time|_on$|_at$")
_PERCENT_WORDS = frozenset({"pct", "percent", "percentage", "share", "rate", "ratio", "proportion"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_COLUMN_REF = re.compile(r"\b[A-Za-z_]\w*\.([A-Za-z_]\w*)\b")
_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")


def words(name: str) -> list[str]:
    """The words of a snake_case, camelCase or spaced name, lower-cased."""
    return [w.lower() for w in _WORD.findall(name)]


def readable(name: str) -> str:
    """'total_purchase_amount' → 'Total purchase amount', 'CustomerID' → 'Customer ID'."""
    parts = [w if w.isupper() and len(w) > 1 else w.lower() for w in _WORD.findall(name)]
    text = " ".join("ID" if p == "id" else p for p in parts) or name
    return text[0].upper() + text[1:]


def field(name: str) -> str:
    """A column name as a Vega-Lite field: dots and brackets would otherwise mean nesting."""
    return re.sub(r"([.\[\]\\])", r"\\\1", name)


def is_money(name: str, money_columns: Collection[str] = ()) -> bool:
    """Whether a measure is an amount of money, from its name or the glossary's measures."""
    lower = name.lower()
    if lower in money_columns:
        return True
    return bool(_MONEY.search(lower)) and not _NOT_MONEY.search(lower)


def is_percent_name(name: str) -> bool:
    """A measure named as a share or rate ('pct_of_orders', 'conversion_rate')."""
    return not _PERCENT_WORDS.isdisjoint(words(name))


def money_columns(glossary: Glossary) -> frozenset[str]:
    """Result-column names (snake_case term names) of the glossary's money measures.

    A measure is money when it aggregates (not counts) a money-named column, so "average order
    value" over `orders.total_amount` formats as dollars while "days to pay" does not.
    """
    names: set[str] = set()
    for term in glossary.terms:
        if term.kind != "measure" or term.aggregate == "count" or not term.value:
            continue
        if any(is_money(column) for column in _COLUMN_REF.findall(term.value)):
            names.update("_".join(words(n)) for n in term.names)
    return frozenset(names)


def measure_format(
    name: str,
    kind: str,
    values: Sequence[Any],
    money_columns: Collection[str] = (),
    whole: bool = False,
) -> tuple[str, str]:
    """The d3 format of a measure and a suffix for its title.

    Percentages are named so, or add up to 100 (or 1) in a share-of-a-whole question (`whole`):
    `.1%` when they lie in 0..1, else `.1f` with " (%)" after the title.
    """
    numbers = [v for v in values if isinstance(v, int | float)]
    total = sum(numbers)
    adds_up = whole and (abs(total - 100) <= 0.5 or abs(total - 1) <= 0.005)
    if is_percent_name(name) or adds_up:
        if all(-1 <= v <= 1 for v in numbers):
            return ".1%", ""
        return ".1f", " (%)"
    if is_money(name, money_columns):
        return MONEY, ""
    return (",d", "") if kind == "integer" else (",.2f", "")


def is_quarter_labels(values: Sequence[Any]) -> bool:
    """'2024-Q1' labels: time, but not something Vega-Lite can parse as a date."""
    return bool(values) and all(isinstance(v, str) and _QUARTER.match(v) for v in values)


def _date_format(sample: Any) -> tuple[str, str] | None:
    """The time unit and format of a date-only column ('YYYY-MM' or 'YYYY-MM-DD'), else None."""
    return {7: ("yearmonth", "%b %Y"), 10: ("yearmonthdate", "%b %d, %Y")}.get(len(str(sample)))


def time_field(name: str, kind: str, sample: Any) -> dict[str, Any]:
    """A time column as an axis: temporal with a readable format, ordinal for mere labels."""
    base = {"field": field(name), "title": readable(name)}
    if kind != "date":  # '2024-Q1' labels, integer years or months
        return base | {"type": "ordinal"}
    unit_format = _date_format(sample)
    if unit_format is None:
        return base | {"type": "temporal", "format": "%b %d, %Y %H:%M"}
    return base | {"type": "temporal", "timeUnit": unit_format[0], "format": unit_format[1]}


def time_parse(name: str, kind: str, sample: Any) -> dict[str, Any] | None:
    """A transform reading a date-only column as local midnight, as its time unit counts.

    Vega reads 'YYYY-MM' as UTC, so west of Greenwich January would show as December.
    """
    unit_format = _date_format(sample) if kind == "date" else None
    if unit_format is None:
        return None
    parse = "%Y-%m" if unit_format[0] == "yearmonth" else "%Y-%m-%d"
    return {"calculate": f"timeParse(datum[{json.dumps(name)}], '{parse}')", "as": name}


#: Axis labels are ticks, not values: SI-prefixed and without trailing zeros ("$40k", not
#: "$40,000.00"); tooltips keep the full format.
_AXIS_FORMATS = {"$,.2f": "$~s", ",.2f": "~s"}


def as_axis(definition: dict[str, Any]) -> dict[str, Any]:
    """A field definition for an x/y channel: the label format moves into `axis`."""
    axis_def = {k: v for k, v in definition.items() if k != "format"}
    if "format" in definition:
        fmt = definition["format"]
        axis_def["axis"] = {"format": _AXIS_FORMATS.get(fmt, fmt)}
    return axis_def


def top_transform(category: str, value: str, count: int) -> list[dict[str, Any]]:
    """Keep the `count` categories of largest total: ties broken by name, so exactly that many."""
    return [
        {
            "joinaggregate": [{"op": "sum", "field": value, "as": "nlsql_total"}],
            "groupby": [category],
        },
        {
            "window": [{"op": "dense_rank", "as": "nlsql_rank"}],
            "sort": [
                {"field": "nlsql_total", "order": "descending"},
                {"field": category, "order": "ascending"},
            ],
        },
        {"filter": f"datum.nlsql_rank <= {count}"},
    ]
