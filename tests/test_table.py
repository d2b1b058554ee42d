"""The table an answer shows is drawn without pandas, and reads as the answer's DataFrame does.

The cell shows the rows before pandas is imported (`nlsql_jupyter.table`); a user who then
prints `_.df` sees the same table: the same HTML (so front ends style it alike and exports keep
it) and the same text, for each kind of column the server reports.
"""

from __future__ import annotations

from typing import Any

import pytest

from nlsql_jupyter.answer import Answer
from nlsql_jupyter.table import TableView

CASES: dict[str, tuple[list[str], list[str], list[list[Any]]]] = {
    "money, counts, days, mixed": (
        ["customer", "total", "orders", "day", "note"],
        ["text", "number", "integer", "date", "other"],
        [
            ["Alice <Smith>", 1234.5, 3, "2024-01-05", None],
            ["Bob & Co", 10.25, 12, "2024-02-01", "x"],
            ["Carol", 7, 1, "2024-03-01", 1],
        ],
    ),
    "months and missing values": (
        ["month", "orders", "average"],
        ["date", "integer", "number"],
        [["2024-01", 3, 1.0], ["2024-02", None, None], ["2024-03", 5, 0.125]],
    ),
    "timestamps and tiny decimals": (
        ["at", "share"],
        ["date", "number"],
        [["2024-01-05T10:30:00", 0.1 + 0.2], ["2024-01-06T00:00:00", 2.5]],
    ),
    "negatives, whole totals, missing text": (
        ["change", "units", "region", "empty"],
        ["number", "number", "text", "integer"],
        [[-1.5, 7, "North", None], [2.25, 10, None, None]],
    ),
    "large and small numbers": (
        ["revenue", "rate", "sales"],
        ["number", "number", "number"],
        [[123456789012.25, 0.0000001, 12345678.9], [1.0, 1.5, 10.5]],
    ),
    "no rows": (["a", "b"], ["integer", "text"], []),
}


@pytest.mark.parametrize("case", CASES)
def test_the_shown_table_is_the_dataframes_own_rendering(case: str) -> None:
    columns, kinds, rows = CASES[case]
    answer = Answer(
        question="q", sql="SELECT 1", columns=tuple(columns), column_types=tuple(kinds),
        rows=tuple(rows),
    )  # fmt: skip
    shown = TableView(columns, kinds, rows)._repr_mimebundle_()
    assert shown["text/html"] == answer.df._repr_html_()
    assert shown["text/plain"] == answer.df.to_string()
