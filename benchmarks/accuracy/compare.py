"""Do two result sets agree? Column names are ignored, numbers compared to 9 significant digits.

Rows are compared as multisets unless the question's order matters. Hand-written because the
rules are the benchmark's own (what counts as the same answer), and they fit in a few lines.
`judge` gives the verdict every engine and the plain-prompt baseline are scored by.
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

    The gold rows must all be there, no row more or less, each gold column matched by a distinct
    column of the answer, in order where order matters. A single number is never matched this
    way: an id or a price that happens to equal the gold count is not an answer to "how many".
    `judge` scores such an answer right and marks it (`EXTRA_COLUMNS`).
    """
    if not actual or not expected or len(actual) != len(expected):
        return False
    if len(expected) == 1 and len(expected[0]) == 1 and isinstance(_value(expected[0][0]), float):
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


#: How a right answer is marked whose result is the gold result plus columns.
EXTRA_COLUMNS = "extra columns only"


def judge(
    actual: Sequence[Row], expected: Sequence[Row], ordered: bool, declines: bool
) -> tuple[str, str]:
    """(verdict, reason) of an answer that ran: `right` or `wrong` (confidently wrong).

    The gold result plus columns of its own is right, marked `EXTRA_COLUMNS` in the reason so
    the harness can count it apart; an answer to a question the database cannot answer is wrong.
    """
    if declines:
        return "wrong", "answered a question the database cannot answer"
    reason = same_result(actual, expected, ordered)
    if reason is None:
        return "right", ""
    if any(extra_columns_only(actual, gold, ordered) for gold in _layouts(expected)):
        return "right", f"{EXTRA_COLUMNS}: {reason}"
    if any(same_result(actual, gold, ordered) is None for gold in _layouts(expected)[1:]):
        return "right", f"{EXTRA_COLUMNS}: {reason} (a name in one column)"
    return "wrong", reason


def _layouts(expected: Sequence[Row]) -> list[list[tuple[Any, ...]]]:
    """The gold rows as they are, then with each two neighbouring text columns shown as one
    ("Steven", "King" → "Steven King"): a person's name is one column in an answer."""
    rows = [tuple(r) for r in expected]
    layouts = [rows]
    width = len(rows[0]) if rows else 0
    for k in range(width - 1):
        if all(isinstance(r[k], str) and isinstance(r[k + 1], str) for r in rows):
            layouts.append([r[:k] + (f"{r[k]} {r[k + 1]}",) + r[k + 2 :] for r in rows])
    return layouts
