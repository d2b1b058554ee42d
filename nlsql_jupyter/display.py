"""How an answer looks in a cell: live progress, the SQL, the DataFrame, the chart.

Everything is a plain mime bundle (text/html with inline styles plus text/plain), so it
survives notebook export and reads well in a terminal IPython. An answer's rows are shown as
its DataFrame would show them but drawn without pandas (`nlsql_jupyter.table`), so the first
answer does not wait for pandas' import (`Answer.df` imports it when first used). A chart is
its Vega-Lite spec under the mimetype JupyterLab draws natively plus a static SVG for every
viewer that cannot (no Altair HTML, which loads vega from a CDN). Each output of an answer
carries the answer's provenance in its metadata.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from IPython.display import display
from nlsql_server import protocol

from nlsql_jupyter.static_chart import VEGALITE_MIMETYPE, render_svg
from nlsql_jupyter.table import TableView

if TYPE_CHECKING:
    from nlsql_jupyter.answer import Answer, Declined
    from nlsql_jupyter.replays import Stale
    from nlsql_jupyter.session import Turn

__all__ = [
    "Note",
    "ProgressView",
    "SqlView",
    "StatusView",
    "transport_summary",
    "show_answer",
    "show_databases",
    "show_history",
]

Bundle = dict[str, str]

_MUTED = "color:#6b7280"
_FONT = "font-family:var(--jp-ui-font-family, system-ui, sans-serif);font-size:12px"


class ProgressView:
    """One output area updated in place as the server reports each stage of an `ask`.

    Shown with a display id, so every update replaces the previous state instead of adding a
    line; the final state keeps the timings.
    """

    def __init__(self, question: str, *, visible: bool = True) -> None:
        self.question = question
        self.done: list[str] = []
        self.stage: str | None = None
        self.message = "sending the question…"
        self.elapsed_ms: float | None = None
        self.outcome: str | None = None  # None while running, then "done" or "failed"
        self.timings: dict[str, Any] = {}
        self.unchecked = False  # answered by a model whose SQL no check matched to the question
        self._handle = display(self, display_id=True) if visible else None

    def update(self, event: dict[str, Any]) -> None:
        """Take one `ask.progress` event: `{stage, message, elapsed_ms}`."""
        stage = str(event.get("stage") or "")
        if self.stage and self.stage != stage and self.stage not in self.done:
            self.done.append(self.stage)
        self.stage = stage or self.stage
        self.message = str(event.get("message") or stage)
        elapsed = event.get("elapsed_ms")
        self.elapsed_ms = float(elapsed) if isinstance(elapsed, int | float) else self.elapsed_ms
        self._refresh()

    def finish(self, answer: Answer) -> None:
        if self.stage and self.stage not in self.done:
            self.done.append(self.stage)
        self.outcome = "done"
        self.timings = dict(answer.timings)
        # The offline engine's SQL is checked against the question before it is shown (every
        # word placed, the grain asked for); a model's is only checked to run, and a small one
        # is confidently wrong on a fifth to two fifths of them (docs/llm.md): said in amber.
        self.unchecked = answer.engine == "llm"
        if not answer.executed:
            self.message = "SQL ready (not run)"
        elif self.unchecked:
            self.message = "answered by the LLM: read its SQL before trusting the numbers"
        else:
            self.message = "answered"
        self._refresh()

    def fail(
        self, error: BaseException, *, declined: bool = False, message: str | None = None
    ) -> None:
        """The question failed; `declined`: the server would not go on (not an error), with
        `message` saying why."""
        self.outcome = "declined" if declined else "failed"
        where = f" while {self.stage}" if self.stage else ""
        failed = f"failed{where} ({type(error).__name__})"
        self.message = message or ("not answered" if declined else failed)
        self._refresh()

    def _refresh(self) -> None:
        if self._handle is not None:
            self._handle.update(self)

    def _timing_text(self) -> str:
        parts = []
        total = _total_ms(self.timings, self.elapsed_ms)
        if total is not None:
            parts.append(f"{total:.0f} ms")
        for key, value in self.timings.items():
            name = key.removesuffix("_ms")
            if name != "total" and isinstance(value, int | float):
                parts.append(f"{name} {value:.0f} ms")
        return " · ".join(parts)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        if self.outcome == "done":
            mark, colour = "✓", "#b45309" if self.unchecked else "#15803d"
            detail = self._timing_text()
        elif self.outcome == "failed":
            mark, colour = "✗", "#b91c1c"
            detail = ""
        elif self.outcome == "declined":
            mark, colour = "?", "#b45309"
            detail = ""
        else:
            mark, colour = "…", "#1d4ed8"
            detail = f"{self.elapsed_ms:.0f} ms" if self.elapsed_ms is not None else ""
        text = f"{mark} {self.message}" + (f" — {detail}" if detail else "")
        pills = []
        for stage in protocol.STAGES:
            if stage in self.done:
                style = "color:#15803d"
                label = f"✓ {stage}"
            elif stage == self.stage and self.outcome is None:
                style = "color:#1d4ed8;font-weight:600"
                label = f"▸ {stage}"
            elif stage == self.stage and self.outcome in ("failed", "declined"):
                style = "color:#b91c1c;font-weight:600"
                label = f"✗ {stage}"
            else:
                style = _MUTED
                label = stage
            pills.append(f'<span style="{style};margin-right:10px">{html.escape(label)}</span>')
        body = (
            f'<div style="{_FONT}">'
            f'<span style="color:{colour};font-weight:600">{mark}</span> '
            f"{html.escape(self.message)}"
            + (f' <span style="{_MUTED}">— {html.escape(detail)}</span>' if detail else "")
            + f'<div style="margin-top:2px">{"".join(pills)}</div></div>'
        )
        return {"text/plain": text, "text/html": body}


class SqlView:
    """The generated SQL, highlighted (inline styles, no stylesheet needed), with its
    explanation; text/plain is the SQL itself so it can be copied from any front end."""

    def __init__(self, sql: str, explanation: str = "") -> None:
        self.sql = sql
        self.explanation = explanation

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        text = self.sql
        if self.explanation:
            text = "".join(f"-- {line}\n" for line in self.explanation.splitlines()) + text
        explanation = (
            f'<div style="{_FONT};{_MUTED};margin-bottom:4px">{html.escape(self.explanation)}</div>'
            if self.explanation
            else ""
        )
        return {"text/plain": text, "text/html": explanation + _highlight_sql(self.sql)}


class Note:
    """A one-line remark under a result (row counts, truncation, a missing chart)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        return {
            "text/plain": self.text,
            "text/html": f'<div style="{_FONT};{_MUTED}">{html.escape(self.text)}</div>',
        }


class StatusView:
    """Key/value lines (`%nlsql status`); nested dicts are indented."""

    def __init__(self, title: str, items: dict[str, Any]) -> None:
        self.title = title
        self.items = items

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        lines = [self.title]
        rows = []
        for key, value, depth in _flatten(self.items):
            shown = "" if isinstance(value, dict) else _plain(value)
            lines.append(f"{'  ' * (depth + 1)}{key}: {shown}".rstrip())
            pad = 8 + depth * 16
            rows.append(
                f'<tr><td style="text-align:left;padding-left:{pad}px;{_MUTED}">'
                f"{html.escape(str(key))}</td>"
                f'<td style="text-align:left">{html.escape(shown)}</td></tr>'
            )
        table = (
            f'<div style="{_FONT}"><b>{html.escape(self.title)}</b>'
            f'<table style="border-collapse:collapse">{"".join(rows)}</table></div>'
        )
        return {"text/plain": "\n".join(lines), "text/html": table}


def transport_summary(stats: dict[str, Any]) -> dict[str, str]:
    """One line per transport of `HybridClient.stats()`, for `%nlsql status`.

    The full dict stays available from Python (`Runtime.status()`, `HybridClient.stats()`);
    the cell shows what a person scans for: state, breaker, counts, latency, last error.
    """
    lines: dict[str, str] = {}
    for name in ("websocket", "http"):
        item = stats.get(name)
        if not isinstance(item, dict):
            continue
        breaker = item.get("breaker") or {}
        latency = item.get("latency_ms") or {}
        parts = [
            f"{item['state']}" if "state" in item else "",
            f"breaker {breaker.get('state', '—')}"
            + (f" (retry in {breaker['retry_in_s']:.1f} s)" if breaker.get("retry_in_s") else ""),
            f"{item['attempts']} attempts, {item['successes']} ok, {item['failures']} failed, "
            f"{item['fallbacks']} fallbacks, {item.get('rejected', 0)} rejected",
            f"p50 {_ms(latency.get('p50'))}, p95 {_ms(latency.get('p95'))}",
            f"last error: {item.get('last_error') or '—'}",
        ]
        lines[name] = " · ".join(part for part in parts if part)
    return lines


def _ms(value: Any) -> str:
    return f"{value:.1f} ms" if isinstance(value, int | float) else "—"


class ChartView:
    """A chart as one output: the Vega-Lite spec (JupyterLab and VS Code draw it live) and,
    when rendered, a static SVG that nbconvert's HTML and other static viewers show."""

    def __init__(self, spec: dict[str, Any], title: str = "", svg: str | None = None) -> None:
        self.spec = spec
        self.title = title
        self.svg = svg

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        bundle: dict[str, Any] = {
            VEGALITE_MIMETYPE: self.spec,
            "text/plain": f"<chart: {self.title}>" if self.title else "<chart>",
        }
        if self.svg:
            bundle["image/svg+xml"] = self.svg
        return bundle


class ValueView:
    """A one-value answer as a big number under its title (no chart for a single value)."""

    def __init__(self, title: str, label: str, value: Any, number_format: str | None) -> None:
        self.title = title
        self.label = label
        self.text = format_number(value, number_format)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        label = f'<div style="{_MUTED}">{html.escape(self.label)}</div>' if self.label else ""
        return {
            "text/plain": f"{self.label}: {self.text}" if self.label else self.text,
            "text/html": (
                f'<div style="{_FONT};margin:6px 0">{label}'
                f'<div style="font-size:32px;font-weight:600;line-height:1.2">'
                f"{html.escape(self.text)}</div></div>"
            ),
        }


def format_number(value: Any, number_format: str | None) -> str:
    """`value` as the viz agent's d3 format asks (`$,.2f`, `,.0f`, `.1%`), else as it is.

    Only the forms the viz agent emits are read; anything else is shown unformatted.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _plain(value)
    spec = number_format or (",d" if isinstance(value, int) else ",.2f")
    money = spec.startswith("$")
    spec = spec.removeprefix("$")
    python_spec = spec.replace("d", "") if spec.endswith("d") else spec
    try:
        text = format(value, python_spec or ",")
    except ValueError:
        return _plain(value)
    if money:
        return f"-${text[1:]}" if text.startswith("-") else f"${text}"
    return text


def show_answer(
    answer: Answer,
    *,
    chart: bool = True,
    display_rows: int = 20,
    sql: bool = True,
    static_chart: bool = True,
) -> None:
    """Display the SQL, the rows (the first `display_rows`, with a note on the count) and the
    chart, each output carrying the answer's provenance as metadata (`metadata["nlsql"]`).

    The answer is whole on screen before the chart's static SVG (`nlsql_jupyter.static_chart`)
    is made: the chart goes out as Vega-Lite first, and that output is then updated in place
    with the SVG added (nbclient and JupyterLab apply the update; the saved notebook keeps it).
    The SVG is drawn in the renderer's own process, so the kernel is free while it waits.
    """
    metadata = {"nlsql": answer.provenance()}
    spec = answer.chart_spec() if chart and answer.executed else None
    if answer.replay_of is not None:
        display(Note(replay_note(answer)), metadata=metadata)
    if sql:
        display(SqlView(answer.sql, answer.explanation), metadata=metadata)
    if not answer.executed:
        display(Note("Not run: only the SQL was asked for."), metadata=metadata)
        return
    info = answer.chart_info or {}
    if chart and info.get("kind") == "value" and answer.row_count:
        column = str(info.get("y") or answer.columns[0])
        value = answer.records()[0].get(column)
        label = column.replace("_", " ").capitalize()
        display(
            ValueView(str(info.get("title") or ""), label, value, info.get("format")),
            metadata=metadata,
        )
    else:
        shown = answer.head(display_rows)
        display(_table(answer, shown), metadata=metadata)
        display(Note(_row_note(answer, len(shown))), metadata=metadata)
    if spec is not None:
        title = str(info.get("title") or "")
        handle = display(ChartView(spec, title), metadata=metadata, display_id=static_chart)
        if info.get("note"):
            display(Note(str(info["note"])), metadata=metadata)
        if static_chart:
            # The answer goes out before the wait for the renderer (an ipykernel stream's
            # flush waits until everything before it has gone out).
            sys.stdout.flush()
            svg = render_svg(spec)
            if svg is not None:
                handle.update(ChartView(spec, title, svg), metadata=metadata)


def answer_bundle(answer: Answer) -> Bundle:
    """The SQL, the table and the chart (as an inline static SVG) in one mime bundle."""
    sql = SqlView(answer.sql, answer.explanation)._repr_mimebundle_()
    parts_html = [sql["text/html"]]
    parts_text = [sql["text/plain"]]
    if answer.executed:
        table = _table(answer, answer.head(20))
        parts_html.append(table.html())
        parts_text.append(table.text())
        spec = answer.chart_spec()
        svg = render_svg(spec) if spec is not None else None
        if svg:
            parts_html.append(f"<div>{svg}</div>")
    return {"text/plain": "\n\n".join(parts_text), "text/html": "".join(parts_html)}


def declined_bundle(declined: Declined) -> tuple[Bundle, dict[str, Any]]:
    """A calm, answer-shaped output for a question the engine would not guess at."""
    understood = declined.understood_text
    tips = [
        "Name the table or column you mean, e.g. “total amount of orders per region”.",
        "`%nlsql describe TABLE` lists what there is to ask about.",
    ]
    if declined.llm_configured:
        tips.append("An LLM engine could take it: add `--engine llm` to the magic line.")
    else:
        tips.append(
            "An LLM engine could take questions like this one: see docs/llm.md "
            "(set NLSQL_LLM_BASE_URL / NLSQL_LLM_MODEL, then `--engine llm`)."
        )
    lines = [f"Not answered: {declined.message}"]
    if understood:
        lines.append(f"Understood: {understood}")
    lines += [f"• {tip}" for tip in tips]
    items = "".join(f"<li>{html.escape(tip)}</li>" for tip in tips)
    body = (
        f'<div style="{_FONT};border-left:3px solid #d97706;padding:4px 10px">'
        f'<div><span style="color:#b45309;font-weight:600">Not answered</span> — '
        f"{html.escape(declined.message)}</div>"
        + (
            f'<div style="{_MUTED}">Understood: {html.escape(understood)}</div>'
            if understood
            else ""
        )
        + f'<ul style="margin:4px 0 0 0;padding-left:18px">{items}</ul></div>'
    )
    metadata = {
        "nlsql": {
            "question": declined.question,
            "database": declined.database,
            "declined": True,
            "message": declined.message,
        }
    }
    return {"text/plain": "\n".join(lines), "text/html": body}, metadata


def replay_note(answer: Answer) -> str:
    """The line over a replayed answer: what ran, written by whom and when."""
    saved = answer.provenance()
    written = f"{saved.get('original_engine')} engine, {saved.get('answered_at')}"
    checked = ", whose tables it reads are unchanged" if answer.schema else ""
    where = answer.database or "the DataFrames"
    return f"Replayed: the saved SQL ({written}) ran again on {where}{checked}; no engine asked."


def stale_bundle(stale: Stale) -> tuple[Bundle, dict[str, Any]]:
    """A saved answer not replayed: which tables and columns changed, how to ask again."""
    tips = [
        "Ask again: `_.ask_again()`, or run the cell without --replay (NLSQL_REPLAY unset); "
        "an engine then writes SQL for the tables as they are now.",
        "The saved SQL stays in `_.sql` and in this output's metadata.",
    ]
    lines = [
        "Not replayed: the schema changed since this answer was written; its SQL did not run.",
        *[f"• {change}" for change in stale.changes],
        *tips,
    ]
    changes = "".join(f"<li><code>{html.escape(c)}</code></li>" for c in stale.changes)
    body = (
        f'<div style="{_FONT};border-left:3px solid #b91c1c;padding:4px 10px">'
        f'<div><span style="color:#b91c1c;font-weight:600">Not replayed</span> — the schema '
        f"changed since this answer was written ({html.escape(str(stale.saved.get('answered_at')))}"
        f"); its SQL did not run.</div>"
        f'<ul style="margin:4px 0 0 0;padding-left:18px">{changes}</ul>'
        + "".join(f'<div style="{_MUTED}">{html.escape(tip)}</div>' for tip in tips)
        + "</div>"
    )
    return {"text/plain": "\n".join(lines), "text/html": body}, {"nlsql": stale.provenance()}


def show_databases(databases: Sequence[dict[str, Any]], active: str | None = None) -> None:
    """The databases the server offers, as a table (the active one marked)."""
    import pandas as pd

    rows = []
    for db in databases:
        tables = db.get("tables")
        if isinstance(tables, list):
            names = [t.get("name", "") if isinstance(t, dict) else str(t) for t in tables]
            tables = ", ".join(names)
        rows.append(
            {
                "": "*" if db.get("name") == active else "",
                "name": db.get("name"),
                "dialect": db.get("dialect"),
                "description": db.get("description"),
                "tables": tables,
            }
        )
    frame = pd.DataFrame(rows, columns=["", "name", "dialect", "description", "tables"])
    if active is None:
        frame = frame.drop(columns=[""])
    _display_wide(frame)


def show_tables(database: str | None, tables: Sequence[dict[str, Any]]) -> None:
    """`%nlsql tables`: every table with its row count and columns (`schema.tables`)."""
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "table": table.get("name"),
                "rows": table.get("rows"),
                "columns": ", ".join(str(c.get("name")) for c in table.get("columns") or ()),
            }
            for table in tables
        ],
        columns=["table", "rows", "columns"],
    )
    print(f"{len(frame)} tables in {database}:")
    _display_wide(frame)


def show_describe(database: str | None, table: dict[str, Any]) -> None:
    """`%nlsql describe`: a table's columns with types, keys, references and sample values."""
    import pandas as pd

    references = {
        fk.get("column"): f"{fk.get('ref_table')}.{fk.get('ref_column')}"
        for fk in table.get("foreign_keys") or ()
    }
    samples = table.get("samples") or {}
    frame = pd.DataFrame(
        [
            {
                "column": column.get("name"),
                "type": column.get("type"),
                "key": "primary" if column.get("primary_key") else "",
                "references": references.get(column.get("name"), ""),
                "nullable": "yes" if column.get("nullable") else "no",
                "sample values": ", ".join(str(v) for v in samples.get(column.get("name"), ())),
            }
            for column in table.get("columns") or ()
        ],
        columns=["column", "type", "key", "references", "nullable", "sample values"],
    )
    rows = table.get("rows")
    print(f"{database}.{table.get('name')}" + (f" ({rows} rows)" if rows is not None else ""))
    _display_wide(frame)


def show_glossary(state: dict[str, Any]) -> None:
    """A database's remembered meanings (its overlay) above its own glossary terms."""
    import pandas as pd
    from nlsql_server.glossary import term_rows

    rows = term_rows(state)
    if not rows:
        print(f"{state.get('database')} has no glossary and no remembered meanings.")
        return
    print(f"Glossary of {state.get('database')}: remembered meanings first (overlay).")
    _display_wide(pd.DataFrame(rows, columns=["source", "names", "kind", "meaning"]))


def show_history(turns: Iterable[Turn]) -> None:
    """The questions asked from this kernel, oldest first."""
    import pandas as pd

    frame = pd.DataFrame(
        [
            {
                "at": turn.at.astimezone().strftime("%H:%M:%S"),
                "database": turn.database,
                "question": turn.question,
                "rows": turn.row_count,
                "sql": turn.sql,
            }
            for turn in turns
        ],
        columns=["at", "database", "question", "rows", "sql"],
    )
    _display_wide(frame)


def _display_wide(frame: Any) -> None:
    """A small listing with every column in text/plain too (pandas' repr is formatted now,
    at display time, so the options only apply to this output)."""
    import pandas as pd

    with pd.option_context(
        "display.width", 200, "display.max_columns", None, "display.max_colwidth", 60
    ):
        display(frame)


def _table(answer: Answer, rows: Sequence[Any]) -> TableView:
    """`rows` of `answer` as a table (what its DataFrame shows, without importing pandas)."""
    return TableView(answer.columns, answer.column_types, rows)


def _row_note(answer: Answer, shown: int) -> str:
    total = answer.row_count
    noun = "row" if total == 1 else "rows"
    note = f"{total} {noun}" if shown >= total else f"Showing {shown} of {total} rows"
    if answer.truncated:
        note += " — truncated at the server's row limit; the query matched more"
    return note + "."


def _total_ms(timings: dict[str, Any], fallback: float | None) -> float | None:
    for key in ("total_ms", "total"):
        value = timings.get(key)
        if isinstance(value, int | float):
            return float(value)
    return fallback


def warm_up() -> None:
    """Highlight a statement once, so that the first answer's SQL does not wait for pygments'
    SQL lexer (importing it and compiling its patterns takes a tenth of a second or more)."""
    _highlight_sql("SELECT 1")


def _highlight_sql(sql: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import SqlLexer
    except ImportError:
        return f"<pre>{html.escape(sql)}</pre>"
    formatter = HtmlFormatter(noclasses=True, nobackground=True, style="default")
    return str(highlight(sql, SqlLexer(), formatter))


def _flatten(items: dict[str, Any], depth: int = 0) -> Iterable[tuple[str, Any, int]]:
    for key, value in items.items():
        yield key, value, depth
        if isinstance(value, dict):
            yield from _flatten(value, depth + 1)


def _plain(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
