"""A static SVG of each chart, made in the kernel, so exported notebooks keep their charts.

JupyterLab draws the Vega-Lite output itself; nbconvert's HTML, GitHub's notebook view and
other static viewers cannot, and Altair's default HTML output loads vega from a public CDN, so
with no network they show nothing. vl-convert-python renders the same spec to SVG with its own
JavaScript engine: no browser, no network. Its engine takes a second or more to start, and
holds the GIL all that time (the whole process waits), so `warm_up()` starts it while the kernel
is idle after `%load_ext` (`nlsql_jupyter.preload`); after that a small chart takes tens of
milliseconds.
"""

from __future__ import annotations

import logging
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

_lock = threading.Lock()


def render_svg(spec: dict[str, Any]) -> str | None:
    """The chart as SVG text, or None when it cannot be rendered (never raises: the live chart
    and the table are shown either way). No data is fetched from any URL."""
    try:
        import vl_convert
    except ImportError:
        log.info("vl-convert-python is not installed: charts get no static copy")
        return None
    with _lock:  # one JavaScript engine per process; calls are serialised
        try:
            return str(
                vl_convert.vegalite_to_svg(
                    spec, vl_version=VEGA_LITE_VERSION, config=STATIC_CONFIG, allowed_base_urls=[]
                )
            )
        except Exception as exc:  # a spec the renderer rejects must not hide the answer
            log.warning("no static copy of the chart: %s", exc)
            return None


def warm_up() -> None:
    """Start the renderer's engine now with a one-point chart. Blocks until it has started and
    holds the GIL meanwhile: call it when nothing else in the process is waiting."""
    render_svg({"data": {"values": [{"x": 1}]}, "mark": "point", "encoding": {"x": {"field": "x"}}})
