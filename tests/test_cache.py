"""The per-user cache outside the checkout (`nlsql_jupyter/cache.py`, `scripts/cache-dir.sh`).

A second clone on the same machine must find what the first one fetched instead of fetching it
again; a clone that still has its old `.cache/` gets it linked over. Checked with the widget JS
(small, fetched from npm): a clone is a fresh directory holding the install scripts, and an
`npm` placed first on the PATH fails the test if the script reaches for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from nlsql_jupyter.export import widget_js_dir

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = ("install-widget-js.sh", "cache-dir.sh")


@pytest.fixture
def widget_js() -> Path:
    found = widget_js_dir()
    if found is None:
        pytest.skip("the widget JS is missing: run scripts/install-widget-js.sh (`make test` does)")
    return found


def fresh_clone(root: Path) -> Path:
    (root / "scripts").mkdir(parents=True)
    for name in SCRIPTS:
        shutil.copy2(REPO / "scripts" / name, root / "scripts" / name)
    return root


def run_install(clone: Path, cache: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """scripts/install-widget-js.sh in `clone`, with `cache` as the user cache and an `npm`
    that only says it was called."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    npm = bin_dir / "npm"
    npm.write_text("#!/bin/sh\necho 'npm was called' >&2\nexit 1\n")
    npm.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "NLSQL_WIDGET_JS"}
    env |= {"NLSQL_CACHE_DIR": str(cache), "PATH": f"{bin_dir}:{env['PATH']}"}
    return subprocess.run(
        ["bash", str(clone / "scripts" / "install-widget-js.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_second_clone_uses_the_user_cache_and_fetches_nothing(
    widget_js: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(widget_js, cache / "widget-js")
    clone = fresh_clone(tmp_path / "clone")
    done = run_install(clone, cache, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "npm was called" not in done.stderr
    assert not (clone / ".cache").exists()


def test_a_clone_with_the_old_checkout_cache_links_it_into_the_user_cache(
    widget_js: Path, tmp_path: Path
) -> None:
    clone = fresh_clone(tmp_path / "clone")
    shutil.copytree(widget_js, clone / ".cache" / "widget-js")
    cache = tmp_path / "cache"
    done = run_install(clone, cache, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (cache / "widget-js" / "embed-amd.js").read_bytes() == (
        widget_js / "embed-amd.js"
    ).read_bytes()
    assert (clone / ".cache" / "widget-js" / "embed-amd.js").exists()  # left in place


def test_the_export_finds_the_widget_js_in_the_user_cache(
    widget_js: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(widget_js, cache / "widget-js")
    monkeypatch.delenv("NLSQL_WIDGET_JS", raising=False)
    monkeypatch.setenv("NLSQL_CACHE_DIR", str(cache))
    assert widget_js_dir() == cache / "widget-js"
