"""Exported notebooks show every chart, table and widget with the network off (issue 9).

The notebook is executed by a real kernel (widget state saved), exported with plain
`jupyter nbconvert --to html` and with `python -m nlsql_jupyter.export`, and each file is opened
in real headless Chromium with every request that is not a local file aborted and recorded.
Screenshots go to .tmp/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from playwright.sync_api import Browser, Route, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from nlsql_jupyter.export import WIDGET_JS_ENV, export_html, widget_js_dir

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / ".tmp" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The notebook under test: the tour. None instead: one built here with the same kinds of output
# as `%%ask` and `%nlsql picker` (chart bundles, a DataFrame, a Dropdown, an icon button).
NOTEBOOK: Path | None = REPO / "notebooks" / "tour.ipynb"

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"{CHROMIUM} is missing (scripts/install-system-deps.sh installs it; CI must run this)",
)

_CHARTS_CELL = '''\
import vl_convert


def show_chart(spec):
    """Display a chart as `%%ask` does: Vega-Lite with inline data, plus an SVG made here."""
    display(
        {
            "application/vnd.vegalite.v5+json": spec,
            "image/svg+xml": vl_convert.vegalite_to_svg(spec),
            "text/plain": "<VegaLite 5 chart>",
        },
        raw=True,
    )


months = [{"month": f"2024-{m:02d}", "revenue": 1000 + 137 * m} for m in range(1, 13)]
show_chart({
    "data": {"values": months},
    "mark": "bar",
    "encoding": {
        "x": {"field": "month", "type": "ordinal"},
        "y": {"field": "revenue", "type": "quantitative"},
    },
})
show_chart({
    "data": {"values": months},
    "mark": "line",
    "encoding": {
        "x": {"field": "month", "type": "temporal"},
        "y": {"field": "revenue", "type": "quantitative"},
    },
})
'''
_TABLE_CELL = """\
import pandas as pd

pd.DataFrame({"customer": ["Ada", "Grace", "Linus"], "total": [1250.5, 980.0, 410.25]})
"""
_PICKER_CELL = """\
import ipywidgets as widgets

dropdown = widgets.Dropdown(
    options=["sales", "inventory", "hr"], value="inventory", description="Database"
)
retry = widgets.Button(description="Retry", icon="refresh")  # a Font Awesome icon
header = widgets.HBox([dropdown, widgets.HTML("<b>ready</b>"), retry])
tables = widgets.Select(options=["customers", "orders"], rows=4)
schema = widgets.Accordion([widgets.HBox([tables, widgets.HTML("<i>3 columns</i>")])])
schema.set_title(0, "Schema")
widgets.VBox([header, schema])
"""


def _build_notebook(path: Path) -> Path:
    """A small stand-in for the tour with the same kinds of output, quick to debug with."""
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Export check"),
            *(nbformat.v4.new_code_cell(s) for s in (_CHARTS_CELL, _TABLE_CELL, _PICKER_CELL)),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
    )
    nbformat.write(notebook, path)
    return path


@dataclass
class Expected:
    """What the executed notebook holds, counted from its outputs and saved widget state."""

    charts: int
    tables: int
    dropdowns: list[list[str]]


def _expected(notebook: nbformat.NotebookNode) -> Expected:
    """Count charts, DataFrames and dropdowns from the notebook itself, not from its export."""
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    data = [o.get("data", {}) for o in outputs]
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return Expected(
        charts=sum(any(k.startswith("application/vnd.vegalite.") for k in d) for d in data),
        tables=sum('class="dataframe"' in "".join(d.get("text/html", "")) for d in data),
        dropdowns=[
            list(model["state"]["_options_labels"])
            for model in state.values()
            if model["model_name"] == "DropdownModel"
        ],
    )


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, Expected]:
    """The notebook executed by a real `python3` kernel with its widget state saved.

    `data_dir`: a repository notebook asks the sample databases the tests share.
    """
    work = tmp_path_factory.mktemp("export")
    source = NOTEBOOK or _build_notebook(work / "built.ipynb")
    notebook = nbformat.read(source, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(REPO)}},
    ).execute()
    nbformat.validate(notebook)
    errors = [
        o
        for c in notebook.cells
        if "raises-exception" not in c.metadata.get("tags", [])  # an error shown on purpose
        for o in c.get("outputs", [])
        if o.output_type == "error"
    ]
    assert not errors, errors
    expected = _expected(notebook)
    assert expected.charts and expected.tables and expected.dropdowns, expected
    path = work / f"{source.stem}.executed.ipynb"
    nbformat.write(notebook, path)
    return path, expected


@dataclass
class Rendered:
    """What Chromium drew, and every request that was aborted or failed on the way."""

    charts: list[tuple[float, float]]
    tables: int
    selects: list[list[str]]
    aborted: list[str]
    failed: list[str]
    page_errors: list[str]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _open_offline(browser: Browser, html: Path, *, widgets: bool) -> Rendered:
    """Open `html` with the network cut off: only file:// and data: URLs load."""
    aborted: list[str] = []
    failed: list[str] = []
    page_errors: list[str] = []
    page = browser.new_page(viewport={"width": 1200, "height": 900})

    def only_local(route: Route) -> None:
        url = route.request.url
        if url.startswith(("file://", "data:")):
            route.continue_()
        else:
            aborted.append(url)
            route.abort()

    page.route("**/*", only_local)
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    try:
        page.goto(html.as_uri(), wait_until="load")
        if widgets:
            # Rendered after `load`; on a timeout the assertions below tell what went wrong.
            with contextlib.suppress(PlaywrightTimeoutError):
                page.wait_for_selector(".jupyter-widgets select", timeout=20_000)
        # An <img> counts once decoded; an inline <svg> once laid out.
        sizes = page.eval_on_selector_all(
            ".jp-OutputArea-output img, .jp-OutputArea-output svg",
            """els => els
                .filter(e => e.tagName.toLowerCase() !== 'img' || (e.complete && e.naturalWidth > 0))
                .map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })""",
        )
        tables = page.eval_on_selector_all(
            "table.dataframe", "els => els.filter(t => t.querySelector('tbody tr')).length"
        )
        selects = page.eval_on_selector_all(
            ".jupyter-widgets select",
            # ipywidgets shows spaces in option labels as no-break spaces.
            "els => els.map(s => Array.from(s.options, o => o.textContent.replace(/\\u00a0/g, ' ')))",
        )
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{html.stem}.png"), full_page=True)
    finally:
        page.close()
    return Rendered(
        charts=[(w, h) for w, h in sizes if w > 100 and h > 100],
        tables=tables,
        selects=selects,
        aborted=aborted,
        failed=failed,
        page_errors=page_errors,
    )


@needs_chromium
def test_plain_nbconvert_shows_charts_and_tables_offline(
    executed: tuple[Path, Expected], browser: Browser, tmp_path: Path
) -> None:
    notebook, expected = executed
    done = subprocess.run(
        [
            Path(sys.executable).parent / "jupyter",
            "nbconvert",
            "--to",
            "html",
            "--output-dir",
            tmp_path,
            "--output",
            f"{notebook.stem}.nbconvert",
            notebook,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    html = tmp_path / f"{notebook.stem}.nbconvert.html"
    page = html.read_text(encoding="utf-8")
    # nbconvert takes the SVG of a chart bundle (it does not know the Vega-Lite mimetype).
    assert page.count('data-mime-type="image/svg+xml"') == expected.charts

    rendered = _open_offline(browser, html, widgets=False)
    assert len(rendered.charts) == expected.charts, rendered
    assert rendered.tables == expected.tables, rendered


@needs_chromium
def test_export_html_makes_no_request_and_renders_widgets(
    executed: tuple[Path, Expected], browser: Browser, tmp_path: Path
) -> None:
    assert widget_js_dir() is not None, (
        "the widget JS is missing: run scripts/install-widget-js.sh (`make test` does)"
    )
    notebook, expected = executed
    html = tmp_path / f"{notebook.stem}.export.html"
    done = subprocess.run(
        [sys.executable, "-m", "nlsql_jupyter.export", notebook, html],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(html) and not done.stderr, done.stderr

    rendered = _open_offline(browser, html, widgets=True)
    assert rendered.aborted == [], rendered.aborted
    assert rendered.failed == [], rendered.failed
    assert rendered.page_errors == [], rendered.page_errors
    assert len(rendered.charts) == expected.charts, rendered
    assert rendered.tables == expected.tables, rendered
    for labels in expected.dropdowns:
        assert labels in rendered.selects, (labels, rendered.selects)


def test_export_without_widget_js_warns_and_keeps_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(WIDGET_JS_ENV, str(tmp_path / "nowhere"))
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="150"></svg>'
    chart = nbformat.v4.new_output(
        "display_data", data={"image/svg+xml": svg, "text/plain": "<chart>"}
    )
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("show()", outputs=[chart])],
        metadata={"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}}}},
    )
    source = tmp_path / "nb.ipynb"
    nbformat.write(notebook, source)

    with pytest.warns(UserWarning, match="widgets will not render"):
        html = export_html(source, tmp_path / "nb.html").read_text(encoding="utf-8")
    assert 'data-mime-type="image/svg+xml"' in html
    assert not re.search(r"""<(script|link)[^>]*(src|href)=["']?(https?:)?//""", html)
