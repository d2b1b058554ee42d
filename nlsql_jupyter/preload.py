"""What `%load_ext nlsql_jupyter` sets going in the background, so the first `%%ask` waits less.

`%load_ext` returns at once; a daemon thread then does, in the order the first answer needs
them: start the bundled server (when no server URL is configured; the first request waits for
what is left of that start), import pandas (the answer's DataFrame), start the chart renderer's
engine (the static SVG, drawn after the answer is shown). The last two are only a head start for
while the user writes the question: once the user runs another cell they are left to it, since
pandas would just take turns with that cell for the GIL, and the renderer holds the GIL for the
second or so its engine takes to start, which would hold back the answer itself.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["preload"]

log = logging.getLogger(__name__)


def preload(shell: InteractiveShell, *, bundled: bool, renderer: bool) -> threading.Thread:
    """Start the background preparation for `shell`'s first question; return its thread.

    `bundled`: start the bundled server; `renderer`: warm the chart renderer (static charts on).
    """
    ran_a_cell = threading.Event()

    def on_cell(info: object) -> None:
        ran_a_cell.set()
        shell.events.unregister("pre_run_cell", on_cell)

    shell.events.register("pre_run_cell", on_cell)
    thread = threading.Thread(
        target=_prepare,
        args=(ran_a_cell, bundled, renderer),
        name="nlsql-preload",
        daemon=True,
    )
    thread.start()
    return thread


def _prepare(ran_a_cell: threading.Event, bundled: bool, renderer: bool) -> None:
    if bundled:
        from nlsql_jupyter.embedded import embedded_server

        try:
            embedded_server()
        except Exception as exc:  # the first request starts it again and shows why it failed
            log.debug("the bundled nlsql server did not start in the background: %s", exc)
    if ran_a_cell.is_set():
        return
    import pandas  # noqa: F401  (imported for its side effect: the first DataFrame is quick)

    if renderer and not ran_a_cell.is_set():
        from nlsql_jupyter.static_chart import warm_up

        warm_up()
