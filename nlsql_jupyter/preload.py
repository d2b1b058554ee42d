"""What `%load_ext nlsql_jupyter` sets going in the background, so the first `%%ask` waits less.

`%load_ext` returns at once, having started the chart renderer's process (its engine starts
there, on another core: `nlsql_jupyter.static_chart`) and a daemon thread that starts the
bundled server when no server URL is configured (the first request waits only for what is left
of that start), then readies the SQL highlighter. pandas is not imported: the first answer is
shown without it (`Answer.df` imports it when first used), and an import begun here would take
turns for the GIL with the user's next cell for most of a second.
"""

from __future__ import annotations

import logging
import threading

from nlsql_jupyter import display, static_chart

__all__ = ["preload"]

log = logging.getLogger(__name__)


def preload(*, bundled: bool, renderer: bool) -> threading.Thread:
    """Start the preparation for the first question; return the background thread.

    `bundled`: start the bundled server; `renderer`: start the chart renderer (static charts on).
    """
    if renderer:
        static_chart.warm_up()
    thread = threading.Thread(target=_prepare, args=(bundled,), name="nlsql-preload", daemon=True)
    thread.start()
    return thread


def _prepare(bundled: bool) -> None:
    if bundled:
        from nlsql_jupyter.embedded import embedded_server

        try:
            embedded_server()
        except Exception as exc:  # the first request starts it again and shows why it failed
            log.debug("the bundled nlsql server did not start in the background: %s", exc)
    # Meanwhile a "Run All" kernel waits for the server to read the schema (SQLite, which lets
    # go of the GIL): the time to get the SQL highlighter ready.
    display.warm_up()
