"""The JupyterLab sidebar in real headless Chromium against a real `jupyter lab` (issue 11).

The test starts JupyterLab on a free loopback port with a token and a temporary root, opens a
notebook, and does what a user does: opens the nlsql panel, loads the extension from it, asks a
question in a cell and sees it in the panel's history, chooses another database in the panel and
sees the kernel's session follow (`%nlsql status`), inserts a question back as a cell, and
restarts the kernel and sees the panel come back once the extension is loaded again. Every
request that leaves the loopback server is aborted and must not happen. The screenshot of the
panel beside the notebook goes to .tmp/screenshots/sidebar.png (docs/images/sidebar.png).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nbformat
import pytest
from playwright.sync_api import Locator, Page, Route, expect, sync_playwright
from test_export import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, needs_chromium

pytestmark = needs_chromium

QUESTION = "top 5 customers by total purchase amount"
#: Long enough for a kernel to start, the bundled server to come up and an answer to be drawn.
SLOW_MS = 60_000


@dataclass
class Lab:
    """A running `jupyter lab` and the requests the browser was refused."""

    url: str
    token: str
    log: Path
    #: JUPYTERLAB_SETTINGS_DIR: user settings, read again at each page load.
    settings: Path
    outside: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """JupyterLab from this venv on 127.0.0.1, with its own root, settings and workspaces."""
    root = tmp_path_factory.mktemp("lab-root")
    home = tmp_path_factory.mktemp("lab-home")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nbformat.write(notebook, root / "sidebar.ipynb")
    # No news or update toasts over the notebook (they would also ask the internet).
    notification = home / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
    }
    log = home / "lab.log"
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--allow-root",
        "--no-browser",
        "--ServerApp.open_browser=False",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, token, process, log)
        yield Lab(url=url, token=token, log=log, settings=home / "settings")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_up(url: str, token: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"jupyter lab exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer in 60 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def page(lab: Lab) -> Iterator[Page]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.url)
        page = context.new_page()

        def loopback_only(route: Route) -> None:
            if route.request.url.startswith((lab.url, "data:", "blob:")):
                route.continue_()
            else:
                lab.outside.append(route.request.url)
                route.abort()

        page.route("**/*", loopback_only)
        page.goto(f"{lab.url}/lab/tree/sidebar.ipynb?reset&token={lab.token}")
        yield page
        browser.close()


def sidebar(page: Page) -> Locator:
    return page.locator("#nlsql-jupyter-sidebar")


def run_cell(page: Page, source: str) -> Locator:
    """Type `source` into the active cell, run it (Shift+Enter) and return that cell."""
    cell = page.locator(".jp-Notebook .jp-Cell.jp-mod-active")
    cell.locator(".cm-content").click()
    for i, line in enumerate(source.split("\n")):
        if i:
            page.keyboard.press("Enter")
        page.keyboard.type(line)
    index = cell.get_attribute("data-windowed-list-index")
    page.keyboard.press("Shift+Enter")
    return page.locator(f'.jp-Notebook .jp-Cell[data-windowed-list-index="{index}"]')


def wait_for_idle(page: Page) -> None:
    expect(page.locator(".jp-Notebook-ExecutionIndicator")).to_have_attribute(
        "data-status", "idle", timeout=SLOW_MS
    )


def test_sidebar_follows_the_kernel_both_ways(page: Page, lab: Lab):
    wait_for_idle(page)
    page.locator('.jp-SideBar .lm-TabBar-tab[data-id="nlsql-jupyter-sidebar"]').click()
    panel = sidebar(page)
    expect(panel).to_be_visible()
    expect(panel.locator(".nlsql-Notebook")).to_have_text("sidebar.ipynb")

    # A fresh kernel has not loaded the extension: the panel offers to.
    expect(panel.locator(".nlsql-Notice")).to_contain_text("not loaded in this kernel")
    panel.get_by_role("button", name="Load nlsql_jupyter in the kernel").click()
    databases = panel.locator("select.nlsql-Databases")
    expect(databases).to_have_value("retail", timeout=SLOW_MS)
    expect(databases.locator("option")).to_have_text(
        ["Choose a database", "retail — sqlite, 8 tables", "finance — sqlite, 6 tables"]
    )
    expect(panel.locator('dd[data-term="status"]')).to_have_text("connected")
    expect(panel.locator('dd[data-term="server"]')).to_contain_text(
        "bundled server http://127.0.0.1:"
    )
    expect(panel.locator('dd[data-term="sessions"]')).to_have_text("ok")
    expect(panel.locator(".nlsql-Empty").first).to_have_text(
        "No questions asked from this kernel yet."
    )

    # A question asked in the notebook shows in the history, with no click in the panel.
    asked = run_cell(page, f"%%ask\n{QUESTION}")
    expect(asked.locator(".jp-OutputArea-output table.dataframe")).to_be_visible(timeout=SLOW_MS)
    turn = panel.locator(".nlsql-Turn").first
    expect(turn.locator(".nlsql-Question")).to_have_text(QUESTION)
    expect(turn.locator(".nlsql-Meta")).to_contain_text("retail · 5 rows")
    expect(turn.locator(".nlsql-Sql")).to_contain_text("SELECT")
    expect(panel.locator('dd[data-term="websocket"]')).to_contain_text("connected")

    # The schema of the chosen database, searchable by column.
    schema = panel.locator(".nlsql-Schema")
    expect(schema.locator("h3")).to_have_text("Schema of retail")
    expect(schema.locator(".nlsql-Table summary b")).to_have_count(8)
    schema.locator("input.nlsql-Search").fill("email")
    expect(schema.locator(".nlsql-Table summary b")).to_have_text(["customers"])
    expect(schema.locator(".nlsql-Column")).to_have_text(["email"])
    page.screenshot(path=str(_screenshot("sidebar.png")))

    # The copied SQL is the SQL shown.
    turn.get_by_role("button", name="Copy SQL").click()
    expect(turn.get_by_role("button", name="Copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == turn.locator(".nlsql-Sql").inner_text()

    # Choosing a database in the panel is `%nlsql use`: the kernel's session follows.
    databases.select_option("finance")
    expect(schema.locator("h3")).to_have_text("Schema of finance")
    expect(databases).to_have_value("finance")
    status = run_cell(page, "%nlsql status")
    expect(status.locator(".jp-OutputArea-output")).to_contain_text(
        re.compile(r"database\s*finance"), timeout=SLOW_MS
    )

    # A history entry becomes a %%ask cell below the active cell.
    active_before = page.locator(".jp-Notebook .jp-Cell").count()
    turn.locator(".nlsql-Question").click()
    expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(active_before + 1)
    expect(page.locator(".jp-Notebook .jp-Cell.jp-mod-active .cm-content")).to_have_text(
        f"%%ask{QUESTION}"  # one line per div: no newline in the text content
    )

    # While a cell runs, the panel still moves the session (comms on a kernel subshell).
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below the inserted one
    sleeping = run_cell(page, "import time; time.sleep(6)")
    expect(sleeping.locator(".jp-InputPrompt")).to_contain_text("[*]")
    databases.select_option("retail")
    expect(schema.locator("h3")).to_have_text("Schema of retail", timeout=4_000)
    expect(sleeping.locator(".jp-InputPrompt")).to_contain_text("[*]")
    wait_for_idle(page)

    # A restart empties the kernel: the panel says so, and comes back with %load_ext.
    page.locator(".lm-MenuBar-itemLabel", has_text="Kernel").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Restart Kernel…$")).click()
    page.locator(".jp-Dialog .jp-mod-accept").click()
    expect(panel.locator(".nlsql-Notice")).to_contain_text(
        "not loaded in this kernel", timeout=SLOW_MS
    )
    expect(panel.locator(".nlsql-Turn")).to_have_count(0)
    wait_for_idle(page)
    run_cell(page, "%load_ext nlsql_jupyter")
    expect(databases).to_have_value("retail", timeout=SLOW_MS)
    expect(panel.locator('dd[data-term="status"]')).to_have_text("connected")
    expect(panel.locator(".nlsql-History .nlsql-Empty")).to_have_text(
        "No questions asked from this kernel yet."
    )

    assert lab.outside == [], f"requests left the machine: {lab.outside}"


def test_a_busy_kernel_shows_busy_then_catches_up(page: Page, lab: Lab):
    """Where comms wait for the running cell (kernels without subshells, or JupyterLab set not
    to use them), a choice made during a cell says so and takes effect when the cell ends."""
    kernels = lab.settings / "@jupyterlab" / "apputils-extension"
    (kernels / "kernels-settings.jupyterlab-settings").write_text(
        json.dumps({"commsOverSubshells": "disabled"})
    )
    page.reload()
    wait_for_idle(page)
    panel = sidebar(page)
    if not panel.is_visible():
        page.locator('.jp-SideBar .lm-TabBar-tab[data-id="nlsql-jupyter-sidebar"]').click()
    databases = panel.locator("select.nlsql-Databases")
    expect(databases).to_be_enabled(timeout=SLOW_MS)
    other = "finance" if databases.input_value() == "retail" else "retail"

    page.locator(".jp-Notebook .jp-Cell").last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    sleeping = run_cell(page, "import time; time.sleep(5)")
    expect(sleeping.locator(".jp-InputPrompt")).to_contain_text("[*]")
    databases.select_option(other)
    expect(panel.locator(".nlsql-Notice")).to_have_text(
        "Kernel busy: the panel updates when the running cell ends."
    )
    expect(databases).to_be_disabled()
    expect(panel.locator(".nlsql-Schema h3")).to_have_text(f"Schema of {other}", timeout=SLOW_MS)
    expect(sleeping.locator(".jp-InputPrompt")).not_to_contain_text("[*]")
    expect(databases).to_have_value(other)
    expect(panel.locator(".nlsql-Notice")).to_be_hidden()
    assert lab.outside == [], f"requests left the machine: {lab.outside}"


def _screenshot(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name
