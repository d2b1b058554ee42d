"""`Answer`: one question's result as the server sent it, with a DataFrame and a chart on demand.

pandas and Altair are imported only when `df` or `chart` is first used, so importing the
package (and `%load_ext`) stays cheap. A question the engine declines comes back as `Declined`,
which reads like an answer (it shows what was understood and how to rephrase) so that one
unanswerable question does not stop "Run All".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any

from nlsql_jupyter.table import is_months

if TYPE_CHECKING:
    import altair as alt
    import pandas as pd

    from nlsql_jupyter.exceptions import CannotAnswer

__all__ = ["Answer", "Declined", "bound_spec", "build_chart"]

log = logging.getLogger(__name__)

#: The name the server gives the result rows in its Vega-Lite spec (`data: {"name": ...}`).
RESULT_DATA_NAME = "result"


@dataclass(frozen=True)
class Answer:
    """The server's answer to one question.

    `rows` are JSON values (dates as ISO strings); `df` converts them by `column_types`
    (integer | number | date | text | other). A large result comes as Arrow instead: `table`
    (a `pyarrow.Table`) holds its rows, `rows` is empty, and `df` is the table's `to_pandas()`
    with the same conversions. `chart_info` is the server's chart choice
    (`{kind, x, y, color, title, spec, note?}`; kind `value` for a single number, drawn as a
    big number with no spec) or None; `chart` is it as an Altair chart, with the rows bound to
    the spec's named dataset. `executed` is False for "only the SQL" answers. `schema` is the
    part of the schema the SQL was written against (`{fingerprint, tables}`).

    In a notebook an `Answer` shows itself as the SQL, the table and the chart, each a separate
    output so that JupyterLab draws the chart live and exports keep a static copy.
    """

    question: str
    sql: str
    explanation: str = ""
    engine: str | None = None
    database: str | None = None
    columns: tuple[str, ...] = ()
    column_types: tuple[str, ...] = ()
    rows: tuple[Any, ...] = ()
    table: Any = field(default=None, repr=False, compare=False)
    row_count: int = 0
    truncated: bool = False
    chart_info: dict[str, Any] | None = None
    timings: dict[str, Any] = field(default_factory=dict)
    progress: tuple[dict[str, Any], ...] = ()
    executed: bool = True
    schema: dict[str, Any] = field(default_factory=dict, repr=False)
    server_version: str | None = None
    answered_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: The row limit it was asked with (None: the server's), so a replay asks the same.
    limit: int | None = None
    #: A replay's saved provenance (`metadata["nlsql"]` of the answer it re-ran), kept as its
    #: own so that it replays again next time; None for an answer from an engine.
    replay_of: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: How it shows itself in a notebook (`show_answer`'s options: chart, display_rows,
    #: static_chart); the magic sets them from its configuration.
    view: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    declined = False

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
            table=result.get("table"),
            row_count=int(row_count) if row_count is not None else len(rows),
            truncated=bool(result.get("truncated")),
            chart_info=result.get("chart") or None,
            timings=dict(result.get("timings") or {}),
            progress=tuple(result.get("progress") or ()),
            executed=bool(result.get("executed", executed)),
            schema=dict(result.get("schema") or {}),
            server_version=result.get("server_version"),
            raw=result,
        )

    def provenance(self) -> dict[str, Any]:
        """Where this answer came from, saved as each output's metadata (`metadata["nlsql"]`):
        enough to replay it with no engine (`nlsql_jupyter.replays`) and to tell whether the
        tables it read changed since (`schema_tables`: each table's `"column TYPE"` list).

        A replay keeps the metadata it was replayed from, with `engine: "replay"`, the engine
        that wrote the SQL as `original_engine` and the replay's time as `replayed_at`."""
        if self.replay_of is not None:
            original = self.replay_of.get("original_engine") or self.replay_of.get("engine")
            return self.replay_of | {
                "engine": "replay",
                "original_engine": original,
                "replayed_at": self.answered_at,
            }
        chart = {k: v for k, v in (self.chart_info or {}).items() if k != "value"}
        return {
            "question": self.question,
            "database": self.database,
            "engine": self.engine,
            "sql": self.sql,
            "explanation": self.explanation,
            "limit": self.limit,
            "chart": chart or None,
            "schema_fingerprint": self.schema.get("fingerprint"),
            "schema_tables": dict(self.schema.get("tables") or {}),
            "server_version": self.server_version,
            "answered_at": self.answered_at,
        }

    def head(self, count: int) -> list[Any]:
        """The first `count` rows as JSON values, from `rows` or, for an Arrow result, from
        the first rows of its table (the rest is never converted)."""
        if self.table is not None:
            return [list(row.values()) for row in self.table.slice(0, count).to_pylist()]
        return list(self.rows[:count])

    def records(self) -> list[dict[str, Any]]:
        """The rows as JSON-ready dicts (what the chart binds to)."""
        if self.table is not None:
            return list(self.table.to_pylist())
        return [
            dict(row) if isinstance(row, dict) else dict(zip(self.columns, row, strict=False))
            for row in self.rows
        ]

    @cached_property
    def df(self) -> pd.DataFrame:
        """The rows as a DataFrame, each column converted by its coarse kind."""
        import pandas as pd

        if self.table is not None:
            frame = _from_arrow(self.table)
        else:
            frame = pd.DataFrame.from_records(list(self.rows), columns=list(self.columns))
        for position, kind in enumerate(self.column_types):
            if self.table is not None and kind != "date":
                continue  # Arrow's types already are what the kind calls for
            if position < frame.shape[1]:
                frame.isetitem(position, _convert(frame.iloc[:, position], kind))
        return frame

    def chart_spec(self) -> dict[str, Any] | None:
        """The chart as a self-contained Vega-Lite spec (rows inline), or None."""
        info = self.chart_info
        if not info or not isinstance(info.get("spec"), dict) or not self.row_count:
            return None
        return bound_spec(info["spec"], self.records())

    @cached_property
    def chart(self) -> alt.TopLevelMixin | None:
        """The server's chart as an Altair chart bound to the rows, or None."""
        info = self.chart_info
        if not info or not isinstance(info.get("spec"), dict) or not self.row_count:
            return None
        return build_chart(info["spec"], self.records())

    def _ipython_display_(self) -> None:
        from nlsql_jupyter.display import show_answer

        show_answer(self, **self.view)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """One bundle with the SQL, the table and the chart (a static SVG), for front ends that
        show an object as a single output; IPython uses `_ipython_display_` instead."""
        from nlsql_jupyter.display import answer_bundle

        return answer_bundle(self)


@dataclass(frozen=True)
class Declined:
    """A question the engine would not answer rather than guess: what it understood and how to
    ask again. Falsy, with an empty `df` and no SQL, so notebook code after it still runs."""

    question: str
    message: str
    database: str | None = None
    understood: Any = None
    #: Whether the server has an LLM engine (`--engine llm` could take the question).
    llm_configured: bool = False

    declined = True
    sql = ""
    chart = None

    @classmethod
    def from_error(
        cls, question: str, error: CannotAnswer, database: str | None = None
    ) -> Declined:
        """From the server's `CannotAnswer` error."""
        return cls(
            question=question,
            message=error.message,
            database=error.data.get("database", database),
            understood=error.understood,
            llm_configured=bool(error.data.get("llm_configured")),
        )

    @property
    def understood_text(self) -> str:
        """`understood` as one line a person reads."""
        from nlsql_jupyter.exceptions import describe_understood

        return describe_understood(self.understood)

    def __bool__(self) -> bool:
        return False

    @cached_property
    def df(self) -> pd.DataFrame:
        """An empty DataFrame, so `answer.df` works whatever the outcome."""
        import pandas as pd

        return pd.DataFrame()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from nlsql_jupyter.display import declined_bundle

        data, metadata = declined_bundle(self)
        display(data, metadata=metadata, raw=True)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from nlsql_jupyter.display import declined_bundle

        return declined_bundle(self)[0]


def bound_spec(spec: dict[str, Any], records: list[dict[str, Any]]) -> dict[str, Any]:
    """The Vega-Lite `spec` with `records` bound to its named dataset (top-level `datasets`, as
    Altair itself does, so it works however deep the named reference sits).

    A shallow copy: the server's spec and the rows are shared, not copied, which keeps this
    free for large results.
    """
    bound = {key: value for key, value in spec.items() if key != "$schema"}
    data = bound.get("data")
    name = data.get("name") if isinstance(data, dict) else None
    bound["datasets"] = {**(bound.get("datasets") or {}), (name or RESULT_DATA_NAME): records}
    if data is None:
        bound["data"] = {"name": RESULT_DATA_NAME}
    return bound


def build_chart(spec: dict[str, Any], records: list[dict[str, Any]]) -> alt.TopLevelMixin:
    """An Altair chart from the server's Vega-Lite spec with `records` bound to its data.

    Not validated: the server builds specs from fixed templates, and Altair's validation costs
    40-200 ms a chart. The rows are attached after `from_dict`, as plain records, because
    converting them into Altair objects is what makes `from_dict` slow.
    """
    import altair as alt

    bound = bound_spec(spec, records)
    datasets = bound.pop("datasets")
    kind: type[alt.TopLevelMixin] = alt.Chart
    for key, cls in (
        ("layer", alt.LayerChart),
        ("hconcat", alt.HConcatChart),
        ("vconcat", alt.VConcatChart),
        ("concat", alt.ConcatChart),
        ("facet", alt.FacetChart),
        ("repeat", alt.RepeatChart),
    ):
        if key in bound:
            kind = cls
            break
    chart = kind.from_dict(bound, validate=False)  # type: ignore[attr-defined]
    chart.datasets = datasets
    return chart  # type: ignore[no-any-return]


def _from_arrow(table: Any) -> pd.DataFrame:
    """An Arrow table as the DataFrame JSON rows would give: integers with nulls as `Int64`,
    without as `int64` (`to_pandas` alone makes floats of the first)."""
    import pandas as pd
    import pyarrow as pa

    nullable = {pa.int64(): pd.Int64Dtype()}
    frame = table.to_pandas(types_mapper=nullable.get)
    for position, column in enumerate(table.columns):
        if pa.types.is_int64(column.type) and not column.null_count:
            frame.isetitem(position, frame.iloc[:, position].astype("int64"))
    return frame


def _convert(series: pd.Series, kind: str) -> pd.Series:
    """One column from JSON values to the dtype its kind calls for; unchanged if that fails."""
    import pandas as pd

    try:
        if kind == "date":
            if is_months(list(series.dropna())):  # '2024-03' is a month, not 2024-03-01
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
