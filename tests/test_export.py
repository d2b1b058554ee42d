"""Exported notebooks show every chart, table and widget with the network off (issue 9).

The tour notebook is executed by a real kernel (widget state saved; conftest), exported with
plain `jupyter nbconvert --to html` and with `python -m nlsql_jupyter.export`, and each file is
opened in real headless Chromium with every request that is not a local file aborted and
recorded. Screenshots go to .tmp/screenshots/: each whole page, and the first answer's chart
and the picker on their own (the pictures in docs/ and the README).
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
from playwright.sync_api import Browser, Page, Route, sync_playwright
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

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason=f"{CHROMIUM} is missing (scripts/install-system-deps.sh installs it; CI must run this)",
)


@dataclass
class Expected:
    """What the executed notebook holds, counted from its outputs and saved widget state."""

    charts: int
    tables: int
    dropdowns: list[list[str]]
    #: DataFrames inside saved `Output` widgets (an answer shown after a choice or "Run anyway"):
    #: only an export that renders widgets shows them.
    widget_tables: int = 0


def _expected(notebook: nbformat.NotebookNode) -> Expected:
    """Count charts, DataFrames and dropdowns from the notebook itself, not from its export."""
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    data = [o.get("data", {}) for o in outputs]
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    in_widgets = [
        o.get("data", {})
        for model in state.values()
        if model["model_name"] == "OutputModel"
        for o in model["state"].get("outputs", [])
    ]
    return Expected(
        charts=sum(any(k.startswith("application/vnd.vegalite.") for k in d) for d in data),
        tables=sum('class="dataframe"' in "".join(d.get("text/html", "")) for d in data),
        widget_tables=sum(
            'class="dataframe"' in "".join(d.get("text/html", "")) for d in in_widgets
        ),
        dropdowns=[
            list(model["state"]["_options_labels"])
            for model in state.values()
            if model["model_name"] == "DropdownModel"
        ],
    )


@pytest.fixture(scope="module")
def executed(executed_tour: tuple[Path, nbformat.NotebookNode]) -> tuple[Path, Expected]:
    """The tour as a real kernel ran it (conftest), and what its outputs hold."""
    path, notebook = executed_tour
    expected = _expected(notebook)
    assert expected.charts and expected.tables and expected.dropdowns, expected
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
        if widgets:
            _save_parts(page)
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


def _save_parts(page: Page) -> None:
    """The picker with its schema open (the tour's last) and the first answer (SQL, table,
    chart) as pictures of their own."""
    cells = page.locator(".jp-CodeCell")
    picker = cells.filter(has=page.locator(".jupyter-widgets select")).last
    answer = cells.filter(has=page.locator("img[src^='data:image/svg+xml']")).first
    picker.screenshot(path=str(SCREENSHOTS / "picker.png"))
    answer.screenshot(path=str(SCREENSHOTS / "answer.png"))


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
    assert rendered.tables == expected.tables + expected.widget_tables, rendered
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
