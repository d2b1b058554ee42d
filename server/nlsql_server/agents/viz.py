"""The viz agent: the one place that decides which chart fits a result.

It reads the shape of the result (how many columns of which kind, how many rows) and returns
a Vega-Lite spec whose data is the named source `result`, so each client binds its own rows.
"""

from __future__ import annotations

import re
from typing import Any

_TIME_NAMES = re.compile(r"(^|_)(year|quarter|month|week|day|date)($|_)")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}(-\d{2})?([ T].*)?$")
_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")
MAX_BARS = 60
MAX_POINTS = 5_000


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


def _is_time(name: str, kind: str, values: list[Any]) -> bool:
    if kind == "date":
        return True
    if kind == "text" and values and all(isinstance(v, str) and _QUARTER.match(v) for v in values):
        return True
    return kind == "integer" and bool(_TIME_NAMES.search(name.lower()))


def _title(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def _field(name: str, vl_type: str, **extra: Any) -> dict[str, Any]:
    return {"field": name, "type": vl_type, "title": _title(name), **extra}


def choose_chart(
    columns: list[str], kinds: list[str], rows: list[list[Any]], title: str = ""
) -> dict[str, Any] | None:
    """A chart for the result, or None when a table says it better (one value, no measure…)."""
    if len(rows) < 2 or len(rows) > MAX_POINTS:
        return None
    measures = [i for i, k in enumerate(kinds) if k in ("integer", "number")]
    values = {i: [row[i] for row in rows] for i in range(len(columns))}
    times = [i for i in range(len(columns)) if _is_time(columns[i], kinds[i], values[i])]
    measures = [i for i in measures if i not in times]
    labels = [i for i, k in enumerate(kinds) if k == "text" and i not in times]
    if not measures:
        return None
    y = measures[-1]
    y_enc = _field(columns[y], "quantitative")
    if times:
        x = times[0]
        x_type = "temporal" if kinds[x] == "date" and len(str(values[x][0])) >= 10 else "ordinal"
        encoding: dict[str, Any] = {"x": _field(columns[x], x_type), "y": y_enc}
        color = labels[0] if labels else None
        if color is not None:
            encoding["color"] = _field(columns[color], "nominal")
        kind = "line"
        mark: dict[str, Any] = {"type": "line", "point": True}
    elif labels:
        if len(rows) > MAX_BARS:
            return None
        x = labels[0]
        color = labels[1] if len(labels) > 1 else None
        long_labels = max(len(str(v)) for v in values[x]) > 12 or len(rows) > 12
        category = _field(
            columns[x], "nominal", sort=None if color is not None else "-x" if long_labels else "-y"
        )
        kind = "bar"
        mark = {"type": "bar"}
        if long_labels:
            encoding = {"y": category, "x": y_enc}
        else:
            encoding = {"x": category, "y": y_enc}
        if color is not None:
            encoding["color"] = _field(columns[color], "nominal")
    elif len(measures) >= 2:
        x = measures[0]
        color = None
        kind = "point"
        mark = {"type": "point"}
        encoding = {"x": _field(columns[x], "quantitative"), "y": y_enc}
    else:
        return None
    encoding["tooltip"] = [
        _field(
            c,
            "nominal"
            if k == "text"
            else "quantitative"
            if k in ("integer", "number")
            else "ordinal",
        )
        for c, k in zip(columns, kinds)
    ]
    spec = {
        "data": {"name": "result"},
        "mark": mark,
        "encoding": encoding,
        "title": title,
    }
    return {
        "kind": kind,
        "x": columns[x],
        "y": columns[y],
        "color": columns[color] if color is not None else None,
        "title": title,
        "spec": spec,
    }
