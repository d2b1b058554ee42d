"""`%%ask` and `%nlsql`: the notebook's way in.

`AskMagics` is a traitlets `Configurable` registered with the shell, so its options can be set
with `%config AskMagics.timeout = 30` or in an IPython profile. Each magic first turns its
line and cell into a parsed request (usage errors stop there), then runs it against the
kernel's `Runtime`. Our own errors render as a short message without a traceback (see
`NlsqlError._render_traceback_`); any other exception is left to IPython as usual.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import (
    MagicArgumentParser,
    argument,
    magic_arguments,
    parse_argstring,
)
from traitlets import Bool, Float, Integer, Unicode, observe

from nlsql_jupyter.display import (
    ProgressView,
    StatusView,
    show_answer,
    show_databases,
    show_history,
    transport_summary,
)
from nlsql_jupyter.exceptions import EmptyQuestion, NlsqlError, Unauthorized
from nlsql_jupyter.runtime import Runtime, get_runtime

__all__ = ["AskMagics", "AskRequest"]

#: Where the DataFrame goes when `--out` is not given.
DEFAULT_OUT = "_ask"


@dataclass(frozen=True)
class AskRequest:
    """One `%%ask` cell, parsed: the question and what to do with the answer."""

    question: str
    database: str | None = None
    out: str = DEFAULT_OUT
    chart: bool = True
    sql_only: bool = False
    limit: int | None = None
    engine: str | None = None

    @classmethod
    def from_args(cls, args: Any, cell: str | None) -> AskRequest:
        question = " ".join((cell or "").split())
        if not question:
            raise EmptyQuestion(
                "the question is empty: write it in the cell under the magic line, e.g.\n"
                "%%ask --db retail\nShow me the top 5 customers by total purchase amount"
            )
        out = args.out or DEFAULT_OUT
        if not out.isidentifier():
            raise UsageError(f"--out needs a Python variable name, not {out!r}")
        if args.limit is not None and args.limit <= 0:
            raise UsageError("--limit must be a positive number of rows")
        return cls(
            question=question,
            database=args.db,
            out=out,
            chart=not args.no_chart,
            sql_only=args.sql,
            limit=args.limit,
            engine=args.engine,
        )


@magics_class
class AskMagics(Magics):
    """Ask a database questions in plain English."""

    timeout = Float(120.0, help="Seconds to wait for one answer.").tag(config=True)
    limit = Integer(
        None, allow_none=True, help="Rows an answer carries at most (None: the server's limit)."
    ).tag(config=True)
    chart = Bool(True, help="Show the chart the server picks.").tag(config=True)
    display_rows = Integer(20, help="Rows of the DataFrame shown in the cell.").tag(config=True)
    progress = Bool(True, help="Show each stage while the question is answered.").tag(config=True)
    server_url = Unicode(
        None,
        allow_none=True,
        help="Server to use (default: $NLSQL_SERVER_URL, else the bundled server).",
    ).tag(config=True)

    def __init__(self, shell: Any = None, runtime: Runtime | None = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.runtime = runtime if runtime is not None else get_runtime()
        if self.server_url:
            self.runtime.connect(self.server_url)

    @observe("server_url")
    def _server_url_changed(self, change: dict[str, Any]) -> None:
        if change["new"] != change["old"]:
            self.runtime.connect(change["new"] or None)

    # -- %%ask -------------------------------------------------------------------------------

    @cell_magic("ask")
    @magic_arguments()
    @argument("--db", metavar="NAME", help="Database to ask (default: the session's).")
    @argument("--out", metavar="VAR", help=f"Variable for the DataFrame (default: {DEFAULT_OUT}).")
    @argument("--no-chart", action="store_true", help="Do not show a chart.")
    @argument("--sql", action="store_true", help="Only show the generated SQL; do not run it.")
    @argument("--limit", type=int, metavar="N", help="Return at most N rows.")
    @argument(
        "--engine",
        choices=("auto", "offline", "llm"),
        help="Engine that writes the SQL: auto (offline when confident, else the LLM), "
        "offline, llm.",
    )
    def ask_cell(self, line: str, cell: str) -> None:
        """Answer the question in the cell body: show the SQL, the data and a chart.

        The DataFrame is stored in the user namespace as `--out VAR` (default `_ask`).

            %%ask --db retail --out top
            Show me the top 5 customers by total purchase amount
        """
        request = AskRequest.from_args(parse_argstring(self.ask_cell, line), cell)
        progress = ProgressView(request.question, visible=self.progress)
        try:
            answer = self.runtime.ask(
                request.question,
                database=request.database,
                limit=request.limit if request.limit is not None else self.limit,
                engine=request.engine,
                execute=not request.sql_only,
                timeout=self.timeout,
                on_progress=progress.update,
            )
        except (NlsqlError, KeyboardInterrupt) as exc:
            progress.fail(exc)
            raise
        progress.finish(answer)
        show_answer(answer, chart=request.chart and self.chart, display_rows=self.display_rows)
        if answer.executed and self.shell is not None:
            self.shell.user_ns[request.out] = answer.df

    # -- %nlsql ------------------------------------------------------------------------------

    @line_magic
    def nlsql(self, line: str) -> None:
        """Manage the connection and the session.

        %nlsql databases        the databases the server offers
        %nlsql use NAME         ask NAME from now on (this session)
        %nlsql status           server URL, session, database, transport stats
        %nlsql connect [URL] [--token T]
                                use the server at URL (no URL: the default server)
        %nlsql history          the questions asked in this session
        """
        try:
            args = _nlsql_parser().parse_argstring(line)
        except SystemExit:  # --help printed its text
            return
        handler = getattr(self, f"_handle_{args.command}")
        handler(args)

    def _handle_databases(self, args: Any) -> None:
        show_databases(self.runtime.databases(), active=self.runtime.status()["database"])

    def _handle_use(self, args: Any) -> None:
        name = self.runtime.use(args.name)
        print(f"Using database {name!r}.")

    def _handle_status(self, args: Any) -> None:
        status = self.runtime.status(server=True)
        if status["transports"] is not None:
            status["transports"] = transport_summary(status["transports"])
        if not status["connected"]:
            status["server"] = status["server"] or "bundled server (starts on first question)"
        from IPython.display import display

        display(StatusView("nlsql status", status))

    def _handle_connect(self, args: Any) -> None:
        try:
            self.runtime.connect(args.url, token=args.token)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        try:
            pong = self.runtime.ping(timeout=5.0)
        except Unauthorized as exc:
            print(f"{args.url} refused the connection: {exc.message}", file=sys.stderr)
            return
        except NlsqlError as exc:
            print(
                f"Cannot reach {args.url or 'the server'} now ({exc.message}); "
                "questions will try again.",
                file=sys.stderr,
            )
            return
        where = "the bundled server" if self.runtime.embedded else self.runtime.client.url
        version = pong.get("version") if isinstance(pong, dict) else None
        print(f"Connected to {where}" + (f" (nlsql server {version})." if version else "."))
        if self.runtime.embedded:
            print(f"  {self.runtime.client.url}")

    def _handle_history(self, args: Any) -> None:
        history = self.runtime.history
        if not history:
            print("No questions asked yet in this session.")
            return
        show_history(history)


def _nlsql_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(prog="%nlsql", description="Manage the nlsql connection.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("databases", help="list the databases the server offers")
    use = commands.add_parser("use", help="ask this database from now on")
    use.add_argument("name", metavar="NAME")
    commands.add_parser("status", help="server, session and transport statistics")
    connect = commands.add_parser("connect", help="use the server at URL (none: the default)")
    connect.add_argument("url", metavar="URL", nargs="?")
    connect.add_argument("--token", metavar="T", help="sent as Authorization: Bearer T")
    commands.add_parser("history", help="questions asked in this session")
    return parser
