"""nlsql-jupyter: ask a SQL database a question in plain English from a notebook.

    %load_ext nlsql_jupyter

    %%ask --db retail
    Show me the top 5 customers by total purchase amount

The cell shows live progress, the SQL, the rows and a chart; its value is the `Answer`
(`_.df`, `_.sql`, `_.chart`). The same from Python: `nlsql_jupyter.ask("...")`;
`nlsql_jupyter.picker()` shows a database picker.

Importing this package is cheap: the magics, the client, pandas and Altair load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from collections.abc import Mapping

    from IPython.core.interactiveshell import InteractiveShell

    from nlsql_jupyter.answer import Answer, Declined
    from nlsql_jupyter.client import ClientConfig, HybridClient
    from nlsql_jupyter.exceptions import NlsqlError
    from nlsql_jupyter.picker import DatabasePicker
    from nlsql_jupyter.replays import Stale

__all__ = [
    "Answer",
    "ClientConfig",
    "Declined",
    "HybridClient",
    "NlsqlError",
    "__version__",
    "ask",
    "connect",
    "load_ipython_extension",
    "picker",
    "replay",
    "unload_ipython_extension",
]

_LAZY = {
    "Answer": "nlsql_jupyter.answer",
    "Declined": "nlsql_jupyter.answer",
    "ClientConfig": "nlsql_jupyter.client",
    "HybridClient": "nlsql_jupyter.client",
    "NlsqlError": "nlsql_jupyter.exceptions",
}


def ask(
    question: str,
    database: str | None = None,
    *,
    limit: int | None = None,
    frames: Mapping[str, Any] | None = None,
    choice: Mapping[str, Any] | None = None,
    confirm: bool = False,
) -> Answer:
    """Ask `database` (default: the session's) `question`; return the `Answer`.

    With `frames` (name → DataFrame, e.g. `{"orders": df}`) the question is about those
    DataFrames: the server sees their columns and a few text values, never their rows, and
    the SQL it writes runs in this kernel. Uses the same server and session as `%%ask`.
    A question with two meanings raises `NeedsClarification`; ask again with one of its
    `options[i]["choice"]` as `choice`. SQL whose plan reads more rows than the server's
    budget raises `NeedsConfirmation` (with its estimate) unless `confirm`.
    """
    from nlsql_jupyter.runtime import get_runtime

    return get_runtime().ask(
        question, database=database, limit=limit, frames=frames, choice=choice, confirm=confirm
    )


def replay(
    answer: Answer | Mapping[str, Any], database: str | None = None
) -> Answer | Declined | Stale:
    """Run `answer`'s SQL again with no engine: an `Answer`, or the provenance a notebook saved
    with it (an output's `metadata["nlsql"]`, or that whole metadata).

    The result is an `Answer` with engine `replay` and identical rows when the data has not
    changed; a `Stale` (what changed, no rows) when a table or column the SQL reads changed;
    a saved decline stays a `Declined`.
    """
    from collections.abc import Mapping

    from nlsql_jupyter.replays import replay as run_again
    from nlsql_jupyter.runtime import get_runtime

    if isinstance(answer, Mapping):
        saved = dict(answer.get("nlsql", answer))
    else:
        saved = answer.provenance()
    return run_again(get_runtime(), saved, database=database)


def picker() -> DatabasePicker:
    """A database picker (ipywidgets) bound to this kernel's session: choosing a database acts
    like `%nlsql use`, and `%nlsql use` or `%%ask --db` move it."""
    from nlsql_jupyter.picker import picker as make_picker

    return make_picker()


def connect(url: str | None, *, token: str | None = None) -> None:
    """Use the nlsql server at `url` from now on (None: `$NLSQL_SERVER_URL` or the bundled one).

    `token` is sent as `Authorization: Bearer` to a server started with `NLSQL_TOKEN`.
    """
    from nlsql_jupyter.runtime import get_runtime

    get_runtime().connect(url, token=token)


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """`%load_ext nlsql_jupyter`: register `%%ask` (and `%ask`) and `%nlsql`, and the JupyterLab
    sidebar's comm target (a waiting sidebar connects now); then return at once, leaving the
    bundled server's start and the chart renderer's to run meanwhile (`nlsql_jupyter.preload`).
    """
    from nlsql_jupyter import comm
    from nlsql_jupyter.magics import AskMagics
    from nlsql_jupyter.preload import preload

    magics = AskMagics(shell=ipython)
    ipython.register_magics(magics)
    comm.register()
    preload(bundled=magics.runtime.configured_url is None, renderer=magics.static_charts)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """`%unload_ext nlsql_jupyter`: remove the magics (the server and session stay)."""
    from nlsql_jupyter.magics import AskMagics

    manager = ipython.magics_manager
    for kind, names in (("cell", ("ask", "nlsql")), ("line", ("ask", "nlsql"))):
        for name in names:
            manager.magics[kind].pop(name, None)
    manager.registry.pop(AskMagics.__name__, None)
    ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, AskMagics)]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where JupyterLab finds the prebuilt sidebar extension."""
    return [{"src": "labextension", "dest": "nlsql-jupyter"}]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
