"""`Answer`: one question's result as the server sent it, with a DataFrame and a chart on demand.

pandas and Altair are imported only when `df` or `chart` is first used, so importing the
package (and `%load_ext`) stays cheap.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

__all__ = ["Answer"]

log = logging.getLogger(__name__)
_MONTH = re.compile(r"\d{4}-\d{2}")

#: The name the server gives the result rows in its Vega-Lite spec (`data: {"name": ...}`).
RESULT_DATA_NAME = "result"


@dataclass(frozen=True)
class Answer:
    """The server's answer to one question.

    `rows` are JSON values (dates as ISO strings); `df` converts them by `column_types`
    (integer | number | date | text | other). `chart_info` is the server's chart choice
    (`{kind, x, y, color, title, spec}`) or None; `chart` is it as an Altair chart, with the
    rows bound to the spec's named dataset. `executed` is False for "only the SQL" answers.
    """

    question: str
    sql: str
    explanation: str = ""
    engine: str | None = None
    database: str | None = None
    columns: tuple[str, ...] = ()
    column_types: tuple[str, ...] = ()
    rows: tuple[Any, ...] = ()
    row_count: int = 0
    truncated: bool = False
    chart_info: dict[str, Any] | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    progress: tuple[dict[str, Any], ...] = ()
    executed: bool = True
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_result(cls, result: dict[str, Any], *, executed: bool = True) -> Answer:
        """Build from an `ask` result; unknown fields stay available in `raw`."""
        columns = tuple(str(c) for c in result.get("columns") or ())
        types = tuple(str(t) for t in result.get("column_types") or ())
        rows = tuple(result.get("rows") or ())
        row_count = result.get("row_count")
        return cls(
            question=str(result.get("question") or ""),
            sql=str(result.get("sql") or ""),
            explanation=str(result.get("explanation") or ""),
            engine=result.get("engine"),
            database=result.get("database"),
            columns=columns,
            column_types=types + ("other",) * (len(columns) - len(types)),
            rows=rows,
            row_count=int(row_count) if row_count is not None else len(rows),
            truncated=bool(result.get("truncated")),
            chart_info=result.get("chart") or None,
            timings=dict(result.get("timings") or {}),
            progress=tuple(result.get("progress") or ()),
            executed=bool(result.get("executed", executed)),
            raw=result,
        )

    def records(self) -> list[dict[str, Any]]:
        """The rows as JSON-ready dicts (what the chart binds to)."""
        return [
            dict(row) if isinstance(row, dict) else dict(zip(self.columns, row, strict=False))
            for row in self.rows
        ]

    @cached_property
    def df(self) -> pd.DataFrame:
        """The rows as a DataFrame, each column converted by its coarse kind."""
        import pandas as pd

        frame = pd.DataFrame.from_records(list(self.rows), columns=list(self.columns))
        for position, kind in enumerate(self.column_types):
            if position < frame.shape[1]:
                frame.isetitem(position, _convert(frame.iloc[:, position], kind))
        return frame

    @cached_property
    def chart(self) -> alt.TopLevelMixin | None:
        """The server's chart as an Altair chart bound to the rows, or None."""
        info = self.chart_info
        if not info or not isinstance(info.get("spec"), dict) or not self.rows:
            return None
        return build_chart(info["spec"], self.records())

    def _ipython_display_(self) -> None:
        from nlsql_jupyter.display import show_answer

        show_answer(self)


def build_chart(spec: dict[str, Any], records: list[dict[str, Any]]) -> alt.TopLevelMixin:
    """An Altair chart from a Vega-Lite spec whose data is named: bind `records` to that name.

    Binding through top-level `datasets` (as Altair itself does) works however deep the named
    reference sits (layers, concatenations). `$schema` is dropped so Altair states its own.
    """
    import altair as alt
    from altair.utils.schemapi import SchemaValidationError

    spec = copy.deepcopy(spec)
    spec.pop("$schema", None)
    data = spec.get("data")
    name = data.get("name") if isinstance(data, dict) else None
    datasets = spec.setdefault("datasets", {})
    datasets[name or RESULT_DATA_NAME] = records
    if data is None:
        spec["data"] = {"name": RESULT_DATA_NAME}
    kind: type[alt.TopLevelMixin] = alt.Chart
    for key, cls in (
        ("layer", alt.LayerChart),
        ("hconcat", alt.HConcatChart),
        ("vconcat", alt.VConcatChart),
        ("concat", alt.ConcatChart),
        ("facet", alt.FacetChart),
        ("repeat", alt.RepeatChart),
    ):
        if key in spec:
            kind = cls
            break
    try:
        return kind.from_dict(spec)  # type: ignore[attr-defined,no-any-return]
    except SchemaValidationError:
        log.warning("the server's chart spec does not validate against Altair's schema")
        return kind.from_dict(spec, validate=False)  # type: ignore[attr-defined,no-any-return]


def _all_months(series: pd.Series) -> bool:
    """True when every value is a 'YYYY-MM' month label (what a per-month answer groups by)."""
    values = series.dropna()
    return len(values) > 0 and all(
        isinstance(v, str) and _MONTH.fullmatch(v) is not None for v in values
    )


def _convert(series: pd.Series, kind: str) -> pd.Series:
    """One column from JSON values to the dtype its kind calls for; unchanged if that fails."""
    import pandas as pd

    try:
        if kind == "date":
            if _all_months(series):  # '2024-03' is a month, not midnight on 2024-03-01
                return series.astype("period[M]")
            return pd.to_datetime(series, format="ISO8601")
        if kind == "integer":
            numbers = pd.to_numeric(series)
            return numbers.astype("int64" if not numbers.isna().any() else "Int64")
        if kind == "number":
            return pd.to_numeric(series)
    except (ValueError, TypeError, OverflowError):
        log.debug("column %r left as sent (not %s)", series.name, kind)
    return series
