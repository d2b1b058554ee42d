"""`picker()`: an ipywidgets database picker with a status light and a schema browser.

Only core widgets (Dropdown, HTML, Button, Select, Accordion, boxes), so the state saved in a
notebook renders after export through the standard html-manager, with no custom JS. Nothing
polls the server: the picker follows `runtime.state` (any `%nlsql use`, `%%ask --db` or
`%nlsql connect` moves every picker) and the client's call listener (the light changes after
every request, whoever made it).
"""

from __future__ import annotations

import html
import sys
import types
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from nlsql_jupyter.display import transport_summary
from nlsql_jupyter.exceptions import NlsqlError, QueryFailed
from nlsql_jupyter.runtime import Runtime, get_runtime

if TYPE_CHECKING:
    from nlsql_jupyter.client import HybridClient

__all__ = ["DatabasePicker", "picker"]

#: Distinct values shown per text column in the schema view.
SAMPLES = 5

_GREEN, _AMBER, _RED, _GREY = "#15803d", "#b45309", "#b91c1c", "#6b7280"
_FONT = "font-family:var(--jp-ui-font-family, system-ui, sans-serif);font-size:12px"


def picker(runtime: Runtime | None = None) -> DatabasePicker:
    """A picker for `runtime` (default: this kernel's); every picker of a runtime agrees."""
    return DatabasePicker(runtime or get_runtime())


class DatabasePicker(widgets.VBox):
    """Dropdown of the server's databases, status light, error line and schema accordion.

    Choosing a database is `runtime.use(name)`, exactly like `%nlsql use`. Creating one opens
    the session (and starts the bundled server if no other is configured): the list comes
    from the server. A dead server gives a message, an empty list and a Retry button.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.dropdown = widgets.Dropdown(
            description="Database", options=(), layout=widgets.Layout(width="36em")
        )
        self.light = widgets.HTML()
        self.message = widgets.HTML()
        self.retry = widgets.Button(description="Retry", icon="refresh")
        self.tables = widgets.Select(options=(), rows=8, layout=widgets.Layout(width="24em"))
        self.table_detail = widgets.HTML()
        self.schema = widgets.Accordion(
            children=[widgets.HBox([self.tables, self.table_detail])], selected_index=None
        )
        header = widgets.HBox([self.dropdown, self.light, self.retry])
        super().__init__([header, self.message, self.schema])
        self._client: HybridClient | None = None
        self._databases: dict[str, dict[str, Any]] = {}
        self._tables_of: dict[str, list[dict[str, Any]]] = {}
        self._samples_of: dict[tuple[str, str], dict[str, str]] = {}
        self._chosen_table: str | None = None
        self._quiet = False
        self.dropdown.observe(self._on_choice, names="value")
        self.schema.observe(self._on_expand, names="selected_index")
        self.tables.observe(self._on_table, names="value")
        self.retry.on_click(lambda _: self.reload())
        runtime.state.observe(self._on_database, names="database")
        runtime.state.observe(self._on_connection, names="connection")
        self.reload()

    # -- the list and the choice -------------------------------------------------------------

    def reload(self) -> None:
        """Re-read the server's databases and the session's current one (Retry does this)."""
        self._attach()
        try:
            listed = self.runtime.databases()
            current = self.runtime.current_database()
        except NlsqlError as exc:
            self._databases = {}
            self._set_options(None)
            self._show_error(exc)
        else:
            self._databases = {str(db["name"]): db for db in listed}
            self._set_options(current)
            self._show_error(None)
        self._refresh_light()

    def choose(self, name: str) -> None:
        """Make `name` the session's database; a failure is shown in the widget, not raised."""
        try:
            self.runtime.use(name)
        except NlsqlError as exc:
            self._show_error(exc)
            self._set_value(self.runtime.state.database)
        else:
            self._show_error(None)

    def _on_choice(self, change: dict[str, Any]) -> None:
        if not self._quiet and change["new"] not in (None, self.runtime.state.database):
            self.choose(change["new"])

    def _on_database(self, change: dict[str, Any]) -> None:
        self._set_value(change["new"])
        self._reset_schema()

    def _on_connection(self, change: dict[str, Any]) -> None:
        self._tables_of.clear()
        self._samples_of.clear()
        self.reload()

    def _set_options(self, current: str | None) -> None:
        self._quiet = True
        try:
            self.dropdown.options = [(_label(db), name) for name, db in self._databases.items()]
        finally:
            self._quiet = False
        self._set_value(current)
        self._reset_schema()

    def _set_value(self, name: str | None) -> None:
        """Show `name` as chosen without choosing it again (it came from the state)."""
        self._quiet = True
        try:
            self.dropdown.value = name if name in self._databases else None
        finally:
            self._quiet = False

    def _show_error(self, exc: NlsqlError | None) -> None:
        """The error line, with Retry beside the list while there is one (None: clear both)."""
        self.message.value = _error_html(exc) if exc is not None else ""
        self.retry.layout.display = None if exc is not None else "none"

    # -- the status light --------------------------------------------------------------------

    def _attach(self) -> None:
        """Follow the runtime's current client (`%nlsql connect` makes a new one)."""
        client = self.runtime.client
        if client is not self._client:
            if self._client is not None:
                self._client.remove_listener(self._on_call)
            client.add_listener(self._on_call)
            self._client = client

    def _on_call(self, method: str, error: Exception | None) -> None:
        self._refresh_light()

    def _refresh_light(self) -> None:
        if self._client is not None:
            self.light.value = _light_html(self._client.stats())

    # -- the schema --------------------------------------------------------------------------

    def _reset_schema(self) -> None:
        """Point the schema view at the chosen database; load it only while it is open. The
        table last chosen is shown again wherever a database has one of that name."""
        name = self.runtime.state.database
        count = len(self._databases.get(name or "", {}).get("tables") or [])
        self.schema.set_title(0, f"Schema of {name} ({count} tables)" if name else "Schema")
        self.tables.options = ()
        if self.schema.selected_index == 0:
            self._load_schema()
            if self._chosen_table in {value for _, value in self.tables.options}:
                self.tables.value = self._chosen_table

    def _on_expand(self, change: dict[str, Any]) -> None:
        if change["new"] == 0 and not self.tables.options:
            self._load_schema()

    def _load_schema(self) -> None:
        database = self.runtime.state.database
        if database is None:
            self.table_detail.value = _note("Choose a database first.")
            return
        try:
            if database not in self._tables_of:
                self._tables_of[database] = self.runtime.tables(database)
        except NlsqlError as exc:
            self.table_detail.value = _error_html(exc)
            return
        self.tables.options = [
            (f"{t['name']} ({len(t['columns'])} columns, {_rows(t)})", t["name"])
            for t in self._tables_of[database]
        ]
        self.table_detail.value = _note("Choose a table: its columns and a few values.")

    def _on_table(self, change: dict[str, Any]) -> None:
        database, name = self.runtime.state.database, change["new"]
        if name is not None:
            self._chosen_table = name
        table = next(
            (t for t in self._tables_of.get(database or "", []) if t["name"] == name), None
        )
        if database is None or table is None:
            self.table_detail.value = ""
            return
        try:
            samples = self._samples(database, table)
        except NlsqlError as exc:
            self.table_detail.value = _error_html(exc)
            return
        self.table_detail.value = _table_html(table, samples)

    def _samples(self, database: str, table: dict[str, Any]) -> dict[str, str]:
        """A few values of each text column, fetched when the table is first shown."""
        key = (database, table["name"])
        if key not in self._samples_of:
            self._samples_of[key] = {
                column["name"]: self._sample_text(database, table["name"], column["name"])
                for column in table["columns"]
                if column.get("kind") == "text"
            }
        return self._samples_of[key]

    def _sample_text(self, database: str, table: str, column: str) -> str:
        try:
            values = self.runtime.sample_values(database, table, column, SAMPLES)
        except QueryFailed as exc:
            return f"unavailable: {exc.message}"
        return ", ".join(str(v) for v in values)

    def close(self) -> None:
        """Stop following the runtime and its client, and close the child widgets."""
        if self.comm is None:  # closed already (ipywidgets closes again when collected)
            return
        self.runtime.state.unobserve(self._on_database, names="database")
        self.runtime.state.unobserve(self._on_connection, names="connection")
        if self._client is not None:
            self._client.remove_listener(self._on_call)
        inner = (self.dropdown, self.light, self.retry, self.tables, self.table_detail)
        for child in (*self.children, *self.schema.children, *inner):
            child.close()
        super().close()


def _label(db: dict[str, Any]) -> str:
    tables = db.get("tables") or []
    description = str(db.get("description") or "")
    short = description if len(description) <= 60 else description[:59].rstrip() + "…"
    label = f"{db['name']} — {db.get('dialect')}, {len(tables)} tables"
    return f"{label} · {short}" if short else label


def _rows(table: dict[str, Any]) -> str:
    rows = table.get("rows")
    return f"{rows:,} rows" if isinstance(rows, int) else "rows unknown"


def _light_html(stats: dict[str, Any]) -> str:
    """A coloured dot and what carries requests now, from the client's own counters."""
    ws, http = stats["websocket"], stats["http"]
    if ws.get("state") == "connected":
        colour, label, breaker, error = _GREEN, "WebSocket", ws["breaker"], None
    elif http["successes"] and not http["breaker"]["consecutive_failures"]:
        colour, label, breaker = _AMBER, "HTTP fallback", http["breaker"]
        error = ws.get("last_error")
    elif ws["failures"] or http["failures"] or http.get("rejected"):
        colour, label, breaker = _RED, "disconnected", http["breaker"]
        error = http.get("last_error") or ws.get("last_error")
    else:
        colour, label, breaker, error = _GREY, "idle", http["breaker"], None
    text = f"{label} · breaker {breaker['state']}" + (f" · last error: {error}" if error else "")
    tooltip = "\n".join(f"{name}: {line}" for name, line in transport_summary(stats).items())
    return (
        f'<span style="{_FONT}" title="{html.escape(tooltip)}">'
        f'<span style="color:{colour};font-size:14px">●</span> {html.escape(text)}</span>'
    )


def _table_html(table: dict[str, Any], samples: dict[str, str]) -> str:
    """Columns with types, key markers (PK, FK → table.column) and sample values."""
    refs = {
        fk["column"]: f"FK → {fk['ref_table']}.{fk['ref_column']}" for fk in table["foreign_keys"]
    }
    cell = 'style="text-align:left;padding:1px 8px 1px 0;vertical-align:top"'
    rows = []
    for column in table["columns"]:
        keys = " ".join(
            k
            for k in ("PK" if column.get("primary_key") else "", refs.get(column["name"], ""))
            if k
        )
        rows.append(
            f"<tr><td {cell}><b>{html.escape(column['name'])}</b></td>"
            f"<td {cell}>{html.escape(str(column['type']))}</td>"
            f"<td {cell}>{html.escape(keys)}</td>"
            f'<td {cell}><span style="color:{_GREY}">'
            f"{html.escape(samples.get(column['name'], ''))}</span></td></tr>"
        )
    head = "".join(f"<th {cell}>{h}</th>" for h in ("column", "type", "key", "sample values"))
    return (
        f'<div style="{_FONT}"><b>{html.escape(table["name"])}</b> ({_rows(table)})'
        f'<table style="border-collapse:collapse"><tr>{head}</tr>{"".join(rows)}</table></div>'
    )


def _note(text: str, colour: str = _GREY) -> str:
    return f'<div style="{_FONT};color:{colour}">{html.escape(text)}</div>'


def _error_html(exc: NlsqlError) -> str:
    return _note(f"{type(exc).__name__}: {exc.message}", _RED)


class _CallableModule(types.ModuleType):
    """Importing this module rebinds `nlsql_jupyter.picker` from the package's function to the
    module (Python sets a package attribute per imported submodule); calling the module keeps
    `nlsql_jupyter.picker()` working either way."""

    def __call__(self, runtime: Runtime | None = None) -> DatabasePicker:
        return picker(runtime)


sys.modules[__name__].__class__ = _CallableModule
