"""Per-month answers keep their 'YYYY-MM' labels as months in the DataFrame, not as datetimes."""

from __future__ import annotations

import pandas as pd
from nlsql_server.agents import viz

from nlsql_jupyter.answer import Answer


def _answer(columns: list[str], rows: list[list[object]]) -> Answer:
    kinds = viz.column_kinds(columns, rows)
    return Answer.from_result({"columns": columns, "rows": rows, "column_types": kinds})


def test_month_labels_become_monthly_periods():
    df = _answer(["month", "orders"], [["2024-01", 3], ["2024-02", 4], ["2024-03", 5]]).df
    assert df["month"].dtype == pd.PeriodDtype("M")
    assert [str(m) for m in df["month"]] == ["2024-01", "2024-02", "2024-03"]
    assert df["orders"].dtype == "int64"


def test_days_stay_datetimes():
    df = _answer(["day", "orders"], [["2024-01-01", 3], ["2024-01-02", 4]]).df
    assert pd.api.types.is_datetime64_any_dtype(df["day"])
