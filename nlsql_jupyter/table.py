"""An answer's rows as a table in the cell, drawn from the rows themselves, without pandas.

pandas takes most of a second to import, longer than the rest of a first answer, and showing
twenty rows does not need it: `TableView` writes the markup pandas' notebook repr writes (a
`dataframe` table with the row numbers as index, so notebook front ends style it alike and
exports keep it) and a text rendering aligned the same way. Values read as the DataFrame
(`Answer.df`, built when first used) shows them: numbers with a column's common decimals, NaN,
<NA>, None and NaT for what is missing.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from typing import Any

__all__ = ["TableView", "format_column", "is_months"]

#: pandas' `display.precision`: at most this many decimals.
PRECISION = 6

_MONTH = re.compile(r"\d{4}-\d{2}")

#: What pandas' notebook repr puts before its table (the row numbers' header cells).
_STYLE = """<style scoped>
    .dataframe tbody tr th:only-of-type {
        vertical-align: middle;
    }

    .dataframe tbody tr th {
        vertical-align: top;
    }

    .dataframe thead th {
        text-align: right;
    }
</style>
"""


class TableView:
    """The first rows of a result, shown as text/html and text/plain."""

    def __init__(
        self, columns: Sequence[str], kinds: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        self.columns = list(columns)
        values = [[_cell(row, i, name) for row in rows] for i, name in enumerate(self.columns)]
        kinds = list(kinds) + ["other"] * (len(columns) - len(kinds))
        formatted = [format_column(v, kind) for v, kind in zip(values, kinds, strict=False)]
        #: The cells as shown, column by column.
        self.cells = [cells for cells, _ in formatted]
        self._numeric = [numeric for _, numeric in formatted]
        # pandas keeps a space before each cell (a number's sign goes there), but datetimes'.
        self._spaced = [
            not (kind == "date" and not is_months(v))
            for v, kind in zip(values, kinds, strict=False)
        ]
        self.length = len(rows)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": self.text(), "text/html": self.html()}

    def html(self) -> str:
        head = "".join(f"      <th>{html.escape(str(c))}</th>\n" for c in self.columns)
        body = []
        for r in range(self.length):
            cells = "".join(f"      <td>{html.escape(column[r])}</td>\n" for column in self.cells)
            body.append(f"    <tr>\n      <th>{r}</th>\n{cells}    </tr>\n")
        return (
            f"<div>\n{_STYLE}"
            '<table border="1" class="dataframe">\n'
            f'  <thead>\n    <tr style="text-align: right;">\n      <th></th>\n{head}'
            "    </tr>\n  </thead>\n"
            f"  <tbody>\n{''.join(body)}  </tbody>\n</table>\n</div>"
        )

    def text(self) -> str:
        if not self.length:
            return f"Empty DataFrame\nColumns: [{', '.join(self.columns)}]\nIndex: []"
        index = [str(r) for r in range(self.length)]
        width = max((len(i) for i in index), default=0)
        columns = [
            [
                (" " if numeric else "") + str(name),
                *(_spaced(c, numeric) if spaced else c for c in cells),
            ]
            for name, cells, spaced, numeric in zip(
                self.columns, self.cells, self._spaced, self._numeric, strict=True
            )
        ]
        widths = [max(len(cell) for cell in column) for column in columns]
        lines = []
        for r, label in enumerate(["", *index]):
            line = label.ljust(width)
            for column, w in zip(columns, widths, strict=True):
                line += " " + column[r].rjust(w)
            lines.append(line)
        return "\n".join(lines)


def format_column(values: Sequence[Any], kind: str) -> tuple[list[str], bool]:
    """The cells of one column (`integer | number | date | text | other`) as text, and whether
    the DataFrame holds it as numbers (pandas sets their header one space further right)."""
    if kind == "date":
        return ["NaT" if v is None else str(v).replace("T", " ") for v in values], False
    present = [v for v in values if v is not None]
    if not present and kind in ("integer", "number"):
        return ["<NA>" if kind == "integer" else "NaN" for _ in values], True
    if present and all(isinstance(v, str) for v in present):
        return [_missing_text() if v is None else v for v in values], False
    if not present or not all(_is_number(v) for v in present):
        return [str(v) for v in values], False
    if kind == "integer" and all(float(v).is_integer() for v in present):
        return ["<NA>" if v is None else str(int(v)) for v in values], True
    if len(present) == len(values) and all(isinstance(v, int) for v in present):
        return [str(v) for v in values], True
    return _floats([None if v is None else float(v) for v in values]), True


@functools.cache
def _missing_text() -> str:
    """How the DataFrame shows a missing text: pandas 3 holds text as `str` (NaN when missing),
    pandas 2 as objects (None). Its version is read from its metadata, not by importing it."""
    import importlib.metadata

    try:
        major = int(importlib.metadata.version("pandas").split(".", 1)[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return "None"
    return "NaN" if major >= 3 else "None"


def _spaced(cell: str, numeric: bool) -> str:
    """The cell with pandas' leading space, which a number's minus sign (or NaN) takes."""
    return cell if numeric and (cell.startswith("-") or cell == "NaN") else " " + cell


def _cell(row: Sequence[Any] | dict[str, Any], position: int, name: str) -> Any:
    if isinstance(row, dict):
        return row.get(name)
    return row[position] if position < len(row) else None


def is_months(values: Sequence[Any]) -> bool:
    """Whether a date column holds 'YYYY-MM' month labels (a period, not a datetime, in `df`)."""
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, str) and _MONTH.fullmatch(v) for v in present)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _floats(values: list[float | None]) -> list[str]:
    """As pandas formats a float column: fixed-point with the decimals the column needs (at
    least one, at most `PRECISION`), the same for every cell; scientific when a value would
    show as 0 or the largest would take too much room."""
    numbers = [abs(v) for v in values if v is not None]
    fixed = [f"{v:.{PRECISION}f}" for v in values if v is not None]
    decimals = PRECISION
    while decimals > 1 and all(f.endswith("0") for f in fixed):
        fixed = [f[:-1] for f in fixed]
        decimals -= 1
    too_long = max((len(f) for f in fixed), default=0) + 1 > PRECISION + 6
    if any(0 < v < 10**-PRECISION for v in numbers) or (too_long and max(numbers) > 1e6):
        return ["NaN" if v is None else f"{v:.{PRECISION}e}" for v in values]
    return ["NaN" if v is None else f"{v:.{decimals}f}" for v in values]
