"""What `%load_ext nlsql_jupyter` sets going in the background, so the first `%%ask` waits less.

`%load_ext` returns at once, having started the chart renderer's process (its engine starts
there, on another core: `nlsql_jupyter.static_chart`). A daemon thread then starts the bundled
server (when no server URL is configured; the first request waits only for what is left of that
start) and imports pandas (the answer's DataFrame). The import is only a head start for while the
user writes the question: once the user runs another cell it is left to that cell, with which it
would otherwise take turns for the GIL.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from nlsql_jupyter import static_chart

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["preload"]

log = logging.getLogger(__name__)


def preload(shell: InteractiveShell, *, bundled: bool, renderer: bool) -> threading.Thread:
    """Start the preparation for `shell`'s first question; return the background thread.

    `bundled`: start the bundled server; `renderer`: start the chart renderer (static charts on).
    """
    if renderer:
        static_chart.warm_up()
    ran_a_cell = threading.Event()

    def on_cell(info: object) -> None:
        ran_a_cell.set()
        shell.events.unregister("pre_run_cell", on_cell)

    shell.events.register("pre_run_cell", on_cell)
    thread = threading.Thread(
        target=_prepare, args=(ran_a_cell, bundled), name="nlsql-preload", daemon=True
    )
    thread.start()
    return thread


def _prepare(ran_a_cell: threading.Event, bundled: bool) -> None:
    if bundled:
        from nlsql_jupyter.embedded import embedded_server

        try:
            embedded_server()
        except Exception as exc:  # the first request starts it again and shows why it failed
            log.debug("the bundled nlsql server did not start in the background: %s", exc)
    if not ran_a_cell.is_set():
        import pandas  # noqa: F401  (imported for its side effect: the first DataFrame is quick)
