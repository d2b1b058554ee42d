"""`KernelState`: what the kernel's front ends show, observable, one per kernel.

The ipywidgets picker (and the JupyterLab sidebar's comm) observe these traits instead of
polling: `Runtime` sets them whenever the database, the server or the history changes,
whichever way the change came (`%nlsql use`, `%%ask --db`, the picker, `%nlsql connect`).
"""

from __future__ import annotations

from traitlets import Bool, HasTraits, Integer, Unicode

__all__ = ["KernelState"]


class KernelState(HasTraits):
    """Observable kernel-side state (traitlets: `state.observe(handler, names=["database"])`)."""

    #: The database questions go to (None until the session is opened or a database chosen).
    database = Unicode(None, allow_none=True)
    #: The server's URL (None until a client exists; the bundled server starts on first use).
    server = Unicode(None, allow_none=True)
    #: Whether the server is the one bundled in this kernel.
    embedded = Bool(False)
    #: Bumped when a new server is chosen: observers re-read the list of databases.
    connection = Integer(0)
    #: Bumped after every answer (and after every request a transport carried): observers
    #: refresh the history and the transport statistics.
    activity = Integer(0)
