"""A static SVG of each chart, made beside the kernel, so exported notebooks keep their charts.

JupyterLab draws the Vega-Lite output itself; nbconvert's HTML, GitHub's notebook view and
other static viewers cannot, and Altair's default HTML output loads vega from a public CDN, so
with no network they show nothing. vl-convert-python renders the same spec to SVG with its own
JavaScript engine: no browser, no network. That engine takes a second or more to start and
holds the GIL while it works, which would stop the whole kernel (the bundled server included),
so it runs in a renderer process of its own (`python -m nlsql_jupyter.static_chart`: one JSON
spec a line in, one JSON reply a line out). `warm_up()` starts it when the extension loads, and
its engine starts there, on another core, while the kernel gets the first answer; after that a
small chart takes tens of milliseconds.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import logging
import os
import subprocess
import sys
import threading
from typing import Any

__all__ = ["render_svg", "warm_up"]

log = logging.getLogger(__name__)

#: Vega-Lite version JupyterLab 4 bundles: the static copy looks like the live chart.
VEGA_LITE_VERSION = "5.21"
#: The vegalite mimetype JupyterLab, VS Code and nbformat all know (see ../shared/PITFALLS.md).
VEGALITE_MIMETYPE = "application/vnd.vegalite.v5+json"
#: The renderer lays text out with Liberation Sans (its own "sans-serif"); a viewer showing the
#: SVG picks its own font. Naming Liberation Sans and its metric twins (Arial, Helvetica) keeps
#: labels the width they were laid out at, so none is cut off at the edge.
STATIC_CONFIG = {"font": "Liberation Sans, Arial, Helvetica, sans-serif"}

#: The smallest chart: the renderer process draws it first, which starts its engine.
_WARM_UP_SPEC = {"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {"x": {"field": "x"}}}

#: How much lower than the kernel's the renderer's scheduling priority is (`os.nice`).
RENDERER_NICENESS = 10

_lock = threading.Lock()  # one chart at a time through the one process
_process: subprocess.Popen[str] | None = None


def render_svg(spec: dict[str, Any]) -> str | None:
    """The chart as SVG text, or None when it cannot be rendered (never raises: the live chart
    and the table are shown either way). No data is fetched from any URL."""
    if importlib.util.find_spec("vl_convert") is None:
        log.info("vl-convert-python is not installed: charts get no static copy")
        return None
    with _lock:
        try:
            process = _running()
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(json.dumps(spec, default=str) + "\n")
            process.stdin.flush()
            reply = json.loads(process.stdout.readline() or "null")
        except (OSError, ValueError) as exc:
            reply = {"error": f"the renderer process failed ({exc})"}
        if not isinstance(reply, dict):  # it exited: the next chart starts a new one
            reply = {"error": "the renderer process exited"}
    if "svg" in reply:
        return str(reply["svg"])
    log.warning("no static copy of the chart: %s", reply.get("error"))
    return None


def warm_up() -> None:
    """Start the renderer process (its engine starts there meanwhile) and return at once."""
    if importlib.util.find_spec("vl_convert") is None:
        return
    with _lock:
        try:
            _running()
        except OSError as exc:
            log.warning("the chart renderer did not start: %s", exc)


def _running() -> subprocess.Popen[str]:
    """The renderer process, started (again, if it exited) on demand; call with `_lock` held."""
    global _process
    if _process is None or _process.poll() is not None:
        if _process is None:
            atexit.register(_stop)
        else:
            _close(_process)
        _process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )
    return _process


def _stop() -> None:
    """At exit: close the renderer's input, which ends it, and reap it."""
    if _process is not None:
        _close(_process)


def _close(process: subprocess.Popen[str]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _svg(spec: dict[str, Any]) -> str:
    import vl_convert

    return str(
        vl_convert.vegalite_to_svg(
            spec, vl_version=VEGA_LITE_VERSION, config=STATIC_CONFIG, allowed_base_urls=[]
        )
    )


def _serve() -> None:
    """The renderer process: draw each spec read from stdin; stop when the kernel closes it.

    At a lower priority than the kernel where the system has priorities (not on Windows): its
    engine's start would otherwise take a core from the kernel's first answer on a busy machine
    (the SVG comes after the answer anyway).
    """
    if hasattr(os, "nice"):
        os.nice(RENDERER_NICENESS)
    _svg(_WARM_UP_SPEC)
    for line in sys.stdin:
        try:
            reply = {"svg": _svg(json.loads(line))}
        except Exception as exc:  # a spec the renderer rejects must not hide the answer
            reply = {"error": str(exc)}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve()
