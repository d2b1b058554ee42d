"""The viz agent: the one place that decides which chart fits a result.

It reads the shape of the result (which columns are times, labels, keys or measures; how many
rows) and returns `{kind, x, y, color, title, spec}` (plus `note` when bars were cut, and
`format`/`value` for a single number) or None when a table says it better. `spec` is a
Vega-Lite spec, valid for v5 and v6, whose data is the named source `result`, so each client
binds its own rows. It runs for every answer: it looks only at the columns it needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..protocol import ChartKind
from .viz_format import (
    as_axis,
    field,
    is_quarter_labels,
    measure_format,
    money_columns,
    readable,
    time_field,
    time_parse,
    top_transform,
    words,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from ..databases.base import QueryResult

__all__ = ["chart_rows", "choose_chart", "column_kinds", "money_columns", "result_kinds"]

MAX_BARS = 30
MAX_POINTS = 5_000
MAX_SERIES = 10
MAX_SLICES = 6
WIDTH, HEIGHT = 480, 300
_TIME_NAMES = re.compile(r"(^|_)(year|quarter|month|week|day|date|hour)($|_)")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?([ T].*)?$")
_KEY = re.compile(r"(^|_)(id|key|pk|fk|no|number|code|uuid|guid)$", re.IGNORECASE)
_CAMEL_KEY = re.compile(r"[a-z0-9](ID|Id|Key|No)$")
_SHARE_QUESTION = re.compile(
    r"\b(shares?|percent(ages?)?|proportions?|breakdown|split)\b", re.IGNORECASE
)
_SHARE_NAMES = frozenset({"share", "pct", "percent", "percentage", "proportion"})


def column_kinds(columns: list[str], rows: list[list[Any]]) -> list[str]:
    """Kind of each result column from its values: integer, number, date, text or other."""
    kinds = []
    for index, _ in enumerate(columns):
        values = [row[index] for row in rows if row[index] is not None]
        if not values or all(isinstance(v, bool) for v in values):
            kinds.append("other")
        elif all(isinstance(v, int) for v in values):
            kinds.append("integer")
        elif all(isinstance(v, int | float) for v in values):
            kinds.append("number")
        elif all(isinstance(v, str) and _ISO_DATE.match(v) for v in values):
            kinds.append("date")
        elif all(isinstance(v, str) for v in values):
            kinds.append("text")
        else:
            kinds.append("other")
    return kinds


def result_kinds(result: QueryResult) -> list[str]:
    """`column_kinds` of a result; of an Arrow one from its column types, and only its first
    `MAX_POINTS` rows (what a chart reads) are looked at to tell dates from text."""
    if result.arrow is None:
        return column_kinds(result.columns, result.rows)
    return arrow_kinds(result.arrow.table)


def arrow_kinds(table: pa.Table) -> list[str]:
    """Kind of each column of an Arrow table, as `column_kinds` reads the same values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = []
    head = table.slice(0, MAX_POINTS)
    for index, field_ in enumerate(table.schema):
        kind, values = field_.type, head.column(index)
        if pa.types.is_integer(kind):
            kinds.append("integer")
        elif pa.types.is_floating(kind) or pa.types.is_decimal(kind):
            kinds.append("number")
        elif pa.types.is_temporal(kind):
            kinds.append("date")
        elif pa.types.is_string(kind) and values.null_count < len(values):
            dates = pc.all(pc.match_substring_regex(values, _ISO_DATE.pattern)).as_py()
            kinds.append("date" if dates else "text")
        else:
            kinds.append("other")
    return kinds


def chart_rows(result: QueryResult) -> list[list[Any]]:
    """The rows a chart reads: none past `MAX_POINTS` (no chart is drawn there)."""
    if result.arrow is None:
        return result.rows
    return result.arrow.head(MAX_POINTS) if result.row_count <= MAX_POINTS else []


@dataclass(frozen=True)
class _Shape:
    """The roles of a result's columns, by position, and how its measures read."""

    columns: list[str]
    kinds: list[str]
    rows: list[list[Any]]
    keys: list[int]
    times: list[int]
    labels: list[int]  # text and key columns: what bars and slices are named by
    measures: list[int]
    money: frozenset[str] | set[str]
    whole: bool  # the question asks for a share of a whole

    def values(self, index: int) -> list[Any]:
        return [row[index] for row in self.rows]

    def distinct(self, *indexes: int) -> int:
        return len({tuple(row[i] for i in indexes) for row in self.rows})

    def is_listing(self) -> bool:
        """Rows of entities (a key beside their attributes) or more labels than a chart shows."""
        attributes = [i for i in self.labels + self.times if i not in self.keys]
        return len(attributes) > 2 or (bool(self.keys) and len(attributes) + len(self.measures) > 2)

    def measure(self, index: int) -> dict[str, Any]:
        """A measure as a quantitative field, titled and formatted (money, percent, count)."""
        name = self.columns[index]
        values = self.values(index)
        fmt, suffix = measure_format(name, self.kinds[index], values, self.money, self.whole)
        title = readable(name) + suffix
        return {"field": field(name), "type": "quantitative", "title": title, "format": fmt}

    def label(self, index: int) -> dict[str, Any]:
        """A time or label column as a colour: discrete, times in their time unit."""
        definition = self.tooltip(index)
        kind = "ordinal" if index in self.times else "nominal"
        return {k: v for k, v in definition.items() if k != "format"} | {"type": kind}

    def parses(self) -> list[dict[str, Any]]:
        """Transforms reading the date-only time columns as local dates."""
        found = (time_parse(self.columns[i], self.kinds[i], self.rows[0][i]) for i in self.times)
        return [t for t in found if t is not None]

    def tooltip(self, index: int) -> dict[str, Any]:
        """One column in the tooltip, formatted as on its axis."""
        name, kind = self.columns[index], self.kinds[index]
        if index in self.times:
            return time_field(name, kind, self.rows[0][index])
        if index in self.measures:
            return self.measure(index)
        return {"field": field(name), "type": "nominal", "title": readable(name)}


def _shape(
    columns: list[str], kinds: list[str], rows: list[list[Any]], money: Any, whole: bool
) -> _Shape:
    keys = [i for i, c in enumerate(columns) if _KEY.search(c) or _CAMEL_KEY.search(c)]
    times = [
        i
        for i, (c, k) in enumerate(zip(columns, kinds))
        if i not in keys
        and (
            k == "date"
            or (k == "integer" and _TIME_NAMES.search(c.lower()))
            or (k == "text" and is_quarter_labels([r[i] for r in rows]))
        )
    ]
    labels = [i for i, k in enumerate(kinds) if i not in times and (k == "text" or i in keys)]
    measures = [
        i for i, k in enumerate(kinds) if k in ("integer", "number") and i not in keys + times
    ]
    return _Shape(columns, kinds, rows, keys, times, labels, measures, money, whole)


def _main_measure(shape: _Shape, measures: list[int], title: str) -> int:
    """The measure the question names (the last such), else the last one."""
    asked = set(words(title))
    named = [i for i in measures if set(words(shape.columns[i])) <= asked]
    return (named or measures)[-1]


def choose_chart(
    columns: list[str],
    kinds: list[str],
    rows: list[list[Any]],
    title: str = "",
    *,
    kind: ChartKind | None = None,
    money_columns: frozenset[str] | set[str] = frozenset(),
) -> dict[str, Any] | None:
    """A chart for the result, or None when a table says it better.

    `kind` forces a mark ("none": no chart); `money_columns` names measures to show as money.
    """
    if kind == "none" or not rows or len(rows) > MAX_POINTS:
        return None
    shape = _shape(columns, kinds, rows, money_columns, bool(_SHARE_QUESTION.search(title)))
    if not shape.measures or (kind is None and shape.is_listing()):
        return None
    named = [i for i in shape.labels if i not in shape.keys]
    dims = shape.times[-1:] or named[:1] or shape.labels[:1]
    x = dims[0] if dims else None
    if kind is None and len(rows) == 1:
        y = _main_measure(shape, shape.measures, title)
        return {
            "kind": "value",
            "x": None if x is None else columns[x],
            "y": columns[y],
            "color": None,
            "title": title,
            "spec": None,
            "format": shape.measure(y)["format"],
            "value": rows[0][y],
        }
    measures = shape.measures
    if x is None and kind in (None, "line", "area", "point") and len(measures) >= 2:
        x, measures = measures[0], measures[1:]
    if x is None:
        return None
    y = _main_measure(shape, measures, title)
    others = [] if x in shape.measures else [i for i in shape.times + named if i != x]
    color = others[0] if others else None
    if kind is None:
        kind = _auto_kind(shape, x, y, color)
    elif kind == "arc" and min(shape.values(y)) < 0:
        kind = None  # no slice can be negative
    if kind is None:
        return None
    chart = _build(shape, kind, x, y, None if kind == "arc" else color, title)
    return chart | {"x": columns[x], "y": columns[y]}


def _auto_kind(shape: _Shape, x: int, y: int, color: int | None) -> ChartKind | None:
    """The mark the rules pick, or None for a table: raw rows or too many series."""
    if x in shape.measures:
        return "point"
    if shape.distinct(x, *([] if color is None else [color])) < len(shape.rows):
        return None  # not one row per bar or point: rows of a listing, not an aggregate
    if color is not None and shape.distinct(color) > MAX_SERIES:
        return None
    if x in shape.times:
        return "line"
    share = shape.whole or not _SHARE_NAMES.isdisjoint(words(shape.columns[y]))
    fits = color is None and len(shape.rows) <= MAX_SLICES and min(shape.values(y)) >= 0
    return "arc" if share and fits else "bar"


def _build(
    shape: _Shape, kind: ChartKind, x: int, y: int, color: int | None, title: str
) -> dict[str, Any]:
    """The spec of `kind` over `x` (a time, a label or a measure) and the measure `y`."""
    columns = shape.columns
    measure = shape.measure(y)
    value_axis = as_axis(measure)
    if measure["format"] == ",d":
        value_axis["axis"]["tickMinStep"] = 1
    encoding: dict[str, Any] = {}
    transform = shape.parses()
    width, height = WIDTH, HEIGHT
    note = None
    if x in shape.measures:
        x_def = as_axis(shape.measure(x))
    elif x in shape.times:
        x_def = as_axis(time_field(columns[x], shape.kinds[x], shape.rows[0][x]))
    else:
        x_def = {
            "field": field(columns[x]),
            "type": "nominal",
            "title": readable(columns[x]),
            "sort": {"field": measure["field"], "op": "sum", "order": "descending"},
            "axis": {"labelLimit": 200},
        }
        bars = shape.distinct(x)
        if bars > MAX_BARS:
            transform += top_transform(x_def["field"], measure["field"], MAX_BARS)
            note = (
                f"Showing the top {MAX_BARS} of {bars} bars ({readable(columns[x])} by "
                f"{measure['title'].lower()}); the table lists them all."
            )
            bars = MAX_BARS
        longest = max(len(str(v)) for v in shape.values(x))
        if kind == "bar" and (bars > 12 or longest > 12):
            encoding = {"y": x_def, "x": value_axis}
            height = max(60, 22 * bars)
    mark: dict[str, Any] = {"type": kind}
    if kind == "arc":
        mark["innerRadius"] = 60
        width = height = HEIGHT
        encoding = {
            "theta": {k: v for k, v in measure.items() if k != "format"} | {"stack": True},
            "color": shape.label(x) | ({} if x in shape.times else {"sort": x_def["sort"]}),
            "order": {"field": measure["field"], "type": "quantitative", "sort": "descending"},
        }
    elif not encoding:
        encoding = {"x": x_def, "y": value_axis}
    if kind == "line":
        mark["point"] = len(shape.rows) <= 100
    if color is not None:
        encoding["color"] = shape.label(color)
    encoding["tooltip"] = [shape.tooltip(i) for i in range(len(columns))]
    spec: dict[str, Any] = {"data": {"name": "result"}, "mark": mark, "encoding": encoding}
    if transform:
        spec["transform"] = transform
    if title:
        spec["title"] = title
    spec |= {"width": width, "height": height}
    chart: dict[str, Any] = {
        "kind": kind,
        "color": None if color is None else columns[color],
        "title": title,
        "spec": spec,
    }
    return chart if note is None else chart | {"note": note}
