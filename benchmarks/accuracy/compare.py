"""Do two result sets agree? Column names are ignored, numbers compared to 9 significant digits.

Rows are compared as multisets unless the question's order matters. Hand-written because the
rules are the benchmark's own (what counts as the same answer), and they fit in a few lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product
from typing import Any

Row = Sequence[Any]


def _value(value: Any) -> Any:
    """Numbers as rounded floats (SUM in another order, 3 vs 3.0), everything else as is."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(f"{value:.9g}")
    return value


def _row(row: Row) -> tuple[Any, ...]:
    return tuple(_value(v) for v in row)


def same_result(actual: Sequence[Row], expected: Sequence[Row], ordered: bool) -> str | None:
    """None when the results agree, else a short reason."""
    got = [_row(r) for r in actual]
    want = [_row(r) for r in expected]
    if got and want and len(got[0]) != len(want[0]):
        return f"{len(got[0])} columns, expected {len(want[0])}"
    if len(got) != len(want):
        return f"{len(got)} rows, expected {len(want)}"
    if not ordered:
        got, want = sorted(got, key=repr), sorted(want, key=repr)
    for index, (a, b) in enumerate(zip(got, want, strict=True)):
        if a != b:
            return f"row {index}: {a!r} instead of {b!r}"
    return None


def _multiset(column: Sequence[Any]) -> list[Any]:
    return sorted((_value(v) for v in column), key=repr)


def extra_columns_only(actual: Sequence[Row], expected: Sequence[Row], ordered: bool) -> bool:
    """Does `actual` hold the gold result plus columns of its own (an id, the measure ranked by)?

    Still a miss by `same_result`'s rules; reported apart so a reader can tell a presentation
    difference from a wrong answer.
    """
    if not actual or not expected or len(actual) != len(expected):
        return False
    width, want_width = len(actual[0]), len(expected[0])
    if width <= want_width:
        return False
    got_columns = [_multiset(c) for c in zip(*actual, strict=True)]
    candidates = [
        [i for i in range(width) if got_columns[i] == _multiset(wanted)]
        for wanted in zip(*expected, strict=True)
    ]
    for tried, picks in enumerate(product(*candidates)):
        if tried >= 1000:
            break
        if len(set(picks)) == len(picks):
            projected = [[row[i] for i in picks] for row in actual]
            if same_result(projected, expected, ordered) is None:
                return True
    return False
