"""`%%ask` and `%nlsql`: the notebook's way in.

`AskMagics` is a traitlets `Configurable` registered with the shell, so its options can be set
with `%config AskMagics.timeout = 30` or in an IPython profile. Each magic first turns its
line and cell into a parsed request (usage errors stop there), then runs it against the
kernel's `Runtime`. Our own errors render as a short message without a traceback (see
`NlsqlError._render_traceback_`); any other exception is left to IPython as usual.

`%%ask` returns the `Answer`, so `_`, `Out[n]` and `--out VAR` hold it like any cell value.
A question the engine declines returns a `Declined` that shows what was understood: one
unanswerable question does not stop "Run All" (`%config AskMagics.strict = True` raises). A
question with two meanings returns a `Clarification`: its readings as buttons (`clarify.py`).
Nor does a query the server would not run without confirmation (its plan is over the cost
budget): that returns an `Unconfirmed` showing the estimate with a "Run anyway" button.
"""

from __future__ import annotations

import os
import re
import string
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import (
    MagicArgumentParser,
    argument,
    magic_arguments,
    parse_argstring,
)
from traitlets import Bool, Enum, Float, Integer, TraitError, Unicode, default, observe

from nlsql_jupyter import replays
from nlsql_jupyter.answer import Answer, Declined
from nlsql_jupyter.confirm import Unconfirmed
from nlsql_jupyter.display import (
    ProgressView,
    StatusView,
    show_databases,
    show_describe,
    show_glossary,
    show_history,
    show_tables,
    transport_summary,
)
from nlsql_jupyter.exceptions import (
    CannotAnswer,
    EmptyQuestion,
    NeedsClarification,
    NeedsConfirmation,
    NlsqlError,
    Unauthorized,
)
from nlsql_jupyter.replays import Stale
from nlsql_jupyter.runtime import Runtime, get_runtime

if TYPE_CHECKING:
    from nlsql_jupyter.clarify import Clarification

__all__ = ["AskMagics", "AskRequest", "expand_variables"]

#: `NLSQL_CLIENT_<NAME>` sets the default of the connection trait `<name>`.
ENV_PREFIX = "NLSQL_CLIENT_"

#: What `--chart` accepts: a Vega-Lite mark the viz agent can draw, or none.
CHART_KINDS = ("bar", "line", "area", "point", "arc", "none")
ENGINES = ("auto", "offline", "llm")


def expand_variables(text: str, namespace: Mapping[str, Any]) -> str:
    """Replace `{name}` in a question by the notebook variable's value (`{{` and `}}` escape),
    as jupyter-ai's `%%ai` does: "orders above {threshold}"."""
    try:
        return string.Formatter().vformat(text, (), namespace)
    except KeyError as exc:
        name = exc.args[0]
        raise UsageError(
            f"{{{name}}} in the question: there is no variable {name!r} in the notebook "
            "(write {{ and }} for literal braces)"
        ) from None
    except (IndexError, ValueError, AttributeError) as exc:
        raise UsageError(
            f"cannot fill in the question's {{...}}: {exc} (write {{{{ and }}}} for literal braces)"
        ) from None


def frame_names(text: str | None) -> tuple[str, ...]:
    """`orders, customers` → ("orders", "customers")."""
    return tuple(name.strip() for name in (text or "").split(",") if name.strip())


def frames_of(names: tuple[str, ...], namespace: Mapping[str, Any] | None) -> dict[str, Any]:
    """The notebook's variables called `names` (DataFrames, checked by `Runtime.ask`)."""
    missing = [name for name in names if namespace is None or name not in namespace]
    if missing:
        raise UsageError(f"there is no variable {missing[0]!r} in the notebook to ask about")
    assert namespace is not None
    return {name: namespace[name] for name in names}


@dataclass(frozen=True)
class AskRequest:
    """One `%%ask` cell, parsed: the question and what to do with the answer."""

    question: str
    database: str | None = None
    out: str | None = None
    #: None: the viz agent chooses; "none": no chart; else the mark to draw.
    chart: str | None = None
    sql_only: bool = False
    limit: int | None = None
    engine: str | None = None
    #: Names of the notebook's DataFrames to ask about (`--from`), instead of a database.
    frames: tuple[str, ...] = ()
    #: Run the SQL even when its plan is over the server's cost budget (`--yes`).
    confirm: bool = False

    @classmethod
    def from_args(
        cls, args: Any, text: str | None, namespace: Mapping[str, Any] | None = None
    ) -> AskRequest:
        question = " ".join((text or "").split())
        if not question:
            raise EmptyQuestion(
                "the question is empty: write it in the cell under the magic line, e.g.\n"
                "%%ask --db retail\nShow me the top 5 customers by total purchase amount"
            )
        if namespace is not None:
            question = expand_variables(question, namespace)
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a Python variable name, not {args.out!r}")
        if args.limit is not None and args.limit <= 0:
            raise UsageError("--limit must be a positive number of rows")
        return cls(
            question=question,
            database=args.db,
            out=args.out,
            chart="none" if args.no_chart else args.chart,
            sql_only=args.sql,
            limit=args.limit,
            engine=args.engine,
            frames=frame_names(args.frames),
            confirm=args.yes,
        )


@magics_class
class AskMagics(Magics):
    """Ask a database questions in plain English."""

    # -- the connection: each of these is a `ClientConfig` field (see `_client_options`), and
    # `NLSQL_CLIENT_<NAME>` in the kernel's environment is its default.
    timeout = Float(
        120.0,
        min=0.01,
        help="Seconds to wait for one answer while the server works on it (raise it for a "
        "slow LLM endpoint).",
    ).tag(config=True, client=True)
    request_timeout = Float(
        30.0,
        min=0.01,
        help="Seconds any other request may take, and how long the server may stay silent "
        "(no answer, no pong) before it is taken for hung and calls fail fast.",
    ).tag(config=True, client=True)
    connect_timeout = Float(
        5.0, min=0.01, help="Seconds to open a connection (TCP, WebSocket handshake)."
    ).tag(config=True, client=True)
    websocket = Bool(
        True, help="Talk to the server over a WebSocket first (False: HTTP only)."
    ).tag(config=True, client=True)
    arrow = Bool(True, help="Receive the rows of large answers as Arrow (False: always JSON).").tag(
        config=True, client=True
    )
    breaker_threshold = Integer(
        5,
        min=1,
        help="Failed requests in a row after which calls fail fast for `breaker_cooldown`.",
    ).tag(config=True, client=True)
    breaker_cooldown = Float(
        1.0, min=0.0, help="Seconds calls fail fast before one request tries the server again."
    ).tag(config=True, client=True)
    backoff_initial = Float(
        1.0, min=0.0, help="Seconds the WebSocket is left alone after it failed (HTTP serves)."
    ).tag(config=True, client=True)
    backoff_max = Float(
        60.0, min=0.0, help="Longest the WebSocket is left alone (the delay doubles each time)."
    ).tag(config=True, client=True)
    limit = Integer(
        None, allow_none=True, help="Rows an answer carries at most (None: the server's limit)."
    ).tag(config=True)
    database = Unicode(
        None,
        allow_none=True,
        help="The database questions go to; setting it acts like `%nlsql use`.",
    ).tag(config=True)
    engine = Enum(
        ENGINES, None, allow_none=True, help="Engine for `%%ask` without --engine (None: server)."
    ).tag(config=True)
    chart = Bool(True, help="Show the chart the server picks.").tag(config=True)
    static_charts = Bool(
        True,
        help="Save a static SVG with each chart so exported notebooks show it with no network.",
    ).tag(config=True)
    strict = Bool(
        False,
        help="Raise CannotAnswer when the engine declines a question, and NeedsConfirmation "
        "when the server would not run a query over its cost budget (stops 'Run All'), "
        "instead of showing what it understood or the estimate with a 'Run anyway' button.",
    ).tag(config=True)
    display_rows = Integer(20, help="Rows of the DataFrame shown in the cell.").tag(config=True)
    progress = Bool(True, help="Show each stage while the question is answered.").tag(config=True)
    server_url = Unicode(
        None,
        allow_none=True,
        help="Server to use (default: $NLSQL_SERVER_URL, else the bundled server).",
    ).tag(config=True)
    replay = Bool(
        help="Replay every `%%ask` cell from the answer saved in the notebook (its SQL runs "
        "again, no engine is asked), as `%%ask --replay` does (default: $NLSQL_REPLAY).",
    ).tag(config=True)
    notebook = Unicode(
        None,
        allow_none=True,
        help="The saved notebook replays read answers from (default: $NLSQL_NOTEBOOK, else the "
        "notebook Jupyter started this kernel for).",
    ).tag(config=True)

    @default("replay")
    def _replay_default(self) -> bool:
        return replays.replay_from_env()

    def __init__(self, shell: Any = None, runtime: Runtime | None = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._apply_environment(kwargs)
        self.runtime = runtime if runtime is not None else get_runtime()
        self.runtime.configure(**self._client_options())
        self.observe(self._client_option_changed, names=list(self.traits(client=True)))
        if self.server_url:
            self.runtime.connect(self.server_url)
        #: A database set in a profile is applied at the first question, not at load time.
        self._pending_database = self.database
        #: The DataFrames `%nlsql use` chose: asked about until another database is chosen.
        self._frames_in_use: tuple[str, ...] = ()

    def _apply_environment(self, given: dict[str, Any]) -> None:
        """`NLSQL_CLIENT_<NAME>` is the default of each connection trait: a value given here,
        in a profile or with `%config` wins. A value that does not parse is ignored, said."""
        configured = {*given, *self.config[type(self).__name__]}
        for name, trait in self.traits(client=True).items():
            variable = ENV_PREFIX + name.upper()
            raw = os.environ.get(variable)
            if raw is None or name in configured:
                continue
            try:
                setattr(self, name, trait.from_string(raw))
            except (TraitError, ValueError) as exc:
                warnings.warn(f"{variable}={raw!r} is ignored: {exc}", stacklevel=2)

    def _client_options(self) -> dict[str, Any]:
        """The connection traits as `ClientConfig` fields."""
        from nlsql_jupyter.client.config import Backoff  # the client loads at the first request

        return {
            "ask_timeout": self.timeout,
            "timeout": self.request_timeout,
            "connect_timeout": self.connect_timeout,
            "websocket": self.websocket,
            "arrow": self.arrow,
            "breaker_threshold": self.breaker_threshold,
            "breaker_cooldown": self.breaker_cooldown,
            "backoff": Backoff(initial=self.backoff_initial, maximum=self.backoff_max),
        }

    def _client_option_changed(self, change: dict[str, Any]) -> None:
        """A connection trait changed: the client uses it from the next request on."""
        if change["new"] != change["old"]:
            self.runtime.configure(**self._client_options())

    @observe("server_url")
    def _server_url_changed(self, change: dict[str, Any]) -> None:
        if change["new"] != change["old"] and hasattr(self, "runtime"):
            self.runtime.connect(change["new"] or None)

    @observe("database")
    def _database_changed(self, change: dict[str, Any]) -> None:
        if change["new"] and hasattr(self, "runtime"):
            self._pending_database = None
            self.runtime.use(change["new"])

    # -- %%ask -------------------------------------------------------------------------------

    @line_cell_magic("ask")
    @magic_arguments()
    @argument(
        "--db",
        metavar="NAME",
        help="Database to ask, a name or the path of a SQLite file; it stays the session's "
        "database, as after `%%nlsql use`.",
    )
    @argument(
        "--from",
        dest="frames",
        metavar="DF[,DF]",
        help="Ask about these DataFrames of the notebook instead of a database: the server "
        "sees their columns and a few text values, never their rows; the SQL runs here.",
    )
    @argument("--out", metavar="VAR", help="Also store the Answer in this variable.")
    @argument(
        "--chart",
        choices=CHART_KINDS,
        help="Draw this kind of chart instead of the one the server picks (none: no chart).",
    )
    @argument("--no-chart", action="store_true", help="Do not show a chart (--chart none).")
    @argument("--sql", action="store_true", help="Only show the generated SQL; do not run it.")
    @argument(
        "--yes",
        action="store_true",
        help="Run the SQL even when the server estimates it over its cost budget.",
    )
    @argument("--limit", type=int, metavar="N", help="Return at most N rows.")
    @argument(
        "--replay",
        action="store_true",
        help="Run the SQL saved with this cell's answer in the notebook again, with no engine "
        "(refused, saying what changed, when the tables it reads changed).",
    )
    @argument(
        "--freeze",
        action="store_true",
        help="Replace this cell by a `%%nlsql sql` cell running the same SQL (the saved "
        "answer's, else a new one's), the question kept as a comment.",
    )
    @argument(
        "--engine",
        choices=ENGINES,
        help="Engine that writes the SQL: auto (offline when confident, else the LLM), "
        "offline, llm.",
    )
    @argument("-h", "--help", action="help", help="Show this usage.")
    @argument("words", nargs="*", metavar="QUESTION", help="The question, in the line form.")
    def ask_cell(
        self, line: str, cell: str | None = None
    ) -> Answer | Declined | Stale | Clarification | Unconfirmed | None:
        """Answer the question in the cell body (or on the line, `%ask ...`): show the SQL,
        the data and a chart.

        The cell's value is the `Answer` (`_`, `Out[n]`; `.df`, `.sql`, `.chart`), also stored
        as `--out VAR`. `{name}` in the question is replaced by the variable's value.

            %%ask --db retail --out top
            Show me the top {n} customers by total purchase amount
        """
        try:
            args = parse_argstring(self.ask_cell, line)
        except SystemExit:  # --help printed the usage
            return None
        namespace = self.shell.user_ns if self.shell is not None else None
        question = " ".join([*args.words, cell or ""])
        request = AskRequest.from_args(args, question, namespace)
        names = request.frames or (() if request.database else self._frames_in_use)
        frames = frames_of(names, namespace) if names else None
        if frames is None:
            self._frames_in_use = ()
            self._switch_database(request.database or self._pending_database)
        if args.replay or args.freeze or self.replay:
            saved = self._saved_answer(line, cell or "", request, args.replay)
            if saved is not None:
                replayed = self._replay(saved, request, frames)
                if args.freeze:
                    self._freeze(replayed, request)
                return replayed
        progress = ProgressView(request.question, visible=self.progress)
        chart = request.chart or (None if self.chart else "none")
        ask_options: dict[str, Any] = {
            "limit": request.limit if request.limit is not None else self.limit,
            "engine": request.engine or self.engine,
            "chart": chart,
            "execute": not request.sql_only,
            "timeout": self.timeout,
            "confirm": request.confirm,
        }
        try:
            answer = self.runtime.ask(
                request.question, frames=frames, on_progress=progress.update, **ask_options
            )
        except NeedsClarification as exc:
            progress.fail(exc, declined=True)
            if self.strict:
                raise
            from nlsql_jupyter.clarify import Clarification  # ipywidgets: only when needed

            database = self.runtime.state.database
            clarification = Clarification(
                self.runtime, request.question, exc, database, {**ask_options, "frames": frames}
            )
            self._store(request.out, clarification)
            return clarification
        except NeedsConfirmation as exc:
            progress.fail(exc, declined=True, message="waiting for confirmation")
            if self.strict:
                raise
            confirmed = {**ask_options, "confirm": True}
            unconfirmed = Unconfirmed(
                request.question,
                exc,
                lambda: replace(
                    self.runtime.ask(request.question, frames=frames, **confirmed),
                    view=self._view(chart),
                ),
            )
            self._store(request.out, unconfirmed)
            return unconfirmed
        except CannotAnswer as exc:
            progress.fail(exc, declined=True)
            if self.strict:
                raise
            declined = Declined.from_error(request.question, exc, self.runtime.state.database)
            self._store(request.out, declined)
            return declined
        except (NlsqlError, KeyboardInterrupt) as exc:
            progress.fail(exc)
            raise
        progress.finish(answer)
        answer = replace(answer, view=self._view(chart))
        if args.freeze:
            self._freeze(answer, request)
        self._store(request.out, answer)
        return answer

    def _view(self, chart: str | None) -> dict[str, Any]:
        """How an answer shows itself (`show_answer`'s options) under this configuration."""
        return {
            "chart": chart != "none",
            "display_rows": self.display_rows,
            "static_chart": self.static_charts,
        }

    def _saved_answer(
        self, line: str, body: str, request: AskRequest, required: bool
    ) -> dict[str, Any] | None:
        """This cell's answer as the saved notebook holds it (None: ask an engine). `required`
        (`--replay`): a cell with none is an error; with `AskMagics.replay` it is asked."""
        namespace = self.shell.user_ns if self.shell is not None else None
        path = replays.notebook_path(self.notebook, namespace)
        replaying = required or self.replay
        if path is None or not path.is_file():
            if not replaying:
                return None
            where = f"there is no notebook at {path}" if path else "no notebook is known"
            raise UsageError(
                f"cannot replay: {where}. Name the saved notebook with "
                "`%config AskMagics.notebook = 'analysis.ipynb'` (or NLSQL_NOTEBOOK)."
            )
        saved = replays.saved_answer(path, line, body, request.question)
        if saved is None and required:
            raise UsageError(
                f"cannot replay: {path.name} holds no saved answer for this cell (run it once "
                "without --replay and save the notebook)."
            )
        if saved is None and replaying:
            print(f"No saved answer for this cell in {path.name}: asking.", file=sys.stderr)
        return saved

    def _replay(
        self, saved: dict[str, Any], request: AskRequest, frames: dict[str, Any] | None
    ) -> Answer | Declined | Stale:
        """The saved answer's SQL run again (no engine), shown like an answer."""
        outcome = replays.replay(
            self.runtime,
            saved,
            database=request.database,
            limit=request.limit,
            execute=not request.sql_only,
            frames=frames,
        )
        if isinstance(outcome, Answer):
            chart = request.chart or (None if self.chart else "none")
            outcome = replace(outcome, view=self._view(chart))
        self._store(request.out, outcome)
        return outcome

    def _freeze(self, outcome: Answer | Declined | Stale, request: AskRequest) -> None:
        """Replace the cell by `%%nlsql sql` running the answer's SQL (jupyter-ai's `-f code`
        way: `set_next_input(..., replace=True)`); said in the output too, for front ends
        that do not replace cells (nbclient, nbconvert)."""
        if isinstance(outcome, Stale):
            print("Not frozen: the tables its SQL reads changed.", file=sys.stderr)
            return
        if not isinstance(outcome, Answer) or request.frames or self._frames_in_use:
            print("Not frozen: only an answer from a database can be frozen.", file=sys.stderr)
            return
        text = replays.frozen_cell(outcome.provenance(), request.database)
        if self.shell is not None:
            self.shell.set_next_input(text, replace=True)
        print(f"Frozen: this cell is now\n{text}")

    def _switch_database(self, database: str | None) -> None:
        """`--db` (or `AskMagics.database`) acts like `%nlsql use`: the choice stays."""
        self._pending_database = None
        if database and database != self.runtime.state.database:
            self.runtime.use(database)

    def _store(self, name: str | None, value: Any) -> None:
        if name and self.shell is not None:
            self.shell.user_ns[name] = value

    # -- %nlsql ------------------------------------------------------------------------------

    @line_cell_magic
    def nlsql(self, line: str, cell: str | None = None) -> Any:
        """Manage the connection and the session; run SQL.

        %nlsql databases        the databases the server offers
        %nlsql use NAME|PATH    ask NAME (or a SQLite file) from now on (this session)
        %nlsql picker           a database picker with the connection status and the schema
        %nlsql tables [NAME]    the tables of a database (default: the session's)
        %nlsql describe TABLE [--db NAME]
                                a table's columns, keys and sample values
        %nlsql status           server URL, session, database, transport stats
        %nlsql connect [URL] [--token T]
                                use the server at URL (no URL: the default server)
        %nlsql history          the questions asked in this session
        %nlsql sql [--db NAME] [--limit N] [--out VAR] [--yes] STATEMENT
                                run one read-only statement (no engine); in the cell form
                                `%%nlsql sql --db NAME` the cell body is the statement
        %nlsql glossary [--db NAME] [--forget WORD]
                                the meanings remembered for a database (forget one)
        """
        command, _, rest = line.strip().partition(" ")
        if command == "sql":
            return self._sql(rest, cell)
        if cell is not None and cell.strip():
            raise UsageError("only `%%nlsql sql` takes a cell body (the SQL)")
        try:
            args = _nlsql_parser().parse_argstring(line)
        except SystemExit:  # --help printed its text
            return None
        handler = getattr(self, f"_handle_{args.command}")
        return handler(args)

    def _sql(self, line: str, cell: str | None) -> Answer | None:
        """`%nlsql sql`: the statement's rows and chart, like an answer, with no engine; its
        first `--` comment is taken as the question (what a frozen `%%ask` cell keeps). Its
        outputs carry the provenance of an answer (fingerprint included)."""
        options, statement = (line, cell) if cell is not None else _split_sql_line(line)
        try:
            args = _sql_parser().parse_argstring(options)
        except SystemExit:
            return None
        statement = statement.strip()
        if not statement:
            raise UsageError("no SQL to run: `%nlsql sql SELECT ...` or a `%%nlsql sql` cell")
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"--out needs a Python variable name, not {args.out!r}")
        database = self._database(args.db)
        comment = re.match(r"\s*--\s*(.*)", statement)
        question = comment.group(1).strip() if comment else ""
        result = self.runtime.run_sql(statement, database, args.limit, confirm=args.yes)
        result["schema"] = self.runtime.provenance(statement, database)
        answer = replays.sql_answer(result, statement, database, question, chart=self.chart)
        answer = replace(answer, limit=args.limit, view=self._view(None if self.chart else "none"))
        self._store(args.out, answer)
        return answer

    def _handle_databases(self, args: Any) -> None:
        show_databases(self.runtime.databases(), active=self.runtime.status()["database"])

    def _handle_use(self, args: Any) -> None:
        self._pending_database = None
        names = frame_names(args.name)
        namespace = self.shell.user_ns if self.shell is not None else {}
        if names and all(_is_frame(namespace.get(name)) for name in names):
            self._frames_in_use = names
            listed = ", ".join(names)
            print(f"Asking about the DataFrame{'s' * (len(names) > 1)} {listed} (rows stay here).")
            return
        self._frames_in_use = ()
        name = self.runtime.use(args.name)
        print(f"Using database {name!r}.")

    def _handle_picker(self, args: Any) -> Any:
        from nlsql_jupyter.picker import picker

        return picker(self.runtime)

    def _handle_tables(self, args: Any) -> None:
        database = self._database(args.database)
        show_tables(database, self.runtime.tables(database))

    def _handle_describe(self, args: Any) -> None:
        database = self._database(args.db)
        show_describe(database, self.runtime.describe(args.table, database))

    def _database(self, given: str | None) -> str:
        """The database a schema command is about: the one given, else the session's."""
        database = (
            self.runtime.resolve_database(given) if given else self.runtime.current_database()
        )
        if database is None:
            raise UsageError("no database is chosen yet: `%nlsql use NAME` or give one")
        return database

    def _handle_status(self, args: Any) -> None:
        status = self.runtime.status(server=True)
        if status["transports"] is not None:
            status["transports"] = transport_summary(status["transports"])
        if status["server"] is None:
            status["server"] = "bundled server (starts on first question)"
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

    def _handle_glossary(self, args: Any) -> None:
        database = self._database(args.db)
        if args.forget:
            state = self.runtime.forget(args.forget, database)
            if state.get("removed"):
                print(f"Forgot {args.forget!r} for {database}.")
            else:
                print(f"Nothing is remembered as {args.forget!r} for {database}.")
        else:
            state = self.runtime.glossary(database)
        show_glossary(state)

    def _handle_history(self, args: Any) -> None:
        history = self.runtime.history
        if not history:
            print("No questions asked yet in this session.")
            return
        show_history(history)


def _nlsql_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(
        prog="%nlsql", description="Manage the nlsql connection.", add_help=True
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    commands.add_parser("databases", help="list the databases the server offers")
    use = commands.add_parser(
        "use",
        help="ask this database (a name or a SQLite path) or these DataFrames (df[,df]) from now on",
    )
    use.add_argument("name", metavar="NAME")
    commands.add_parser("picker", help="a database picker with status and schema")
    tables = commands.add_parser("tables", help="the tables of a database")
    tables.add_argument("database", metavar="NAME", nargs="?")
    describe = commands.add_parser("describe", help="a table's columns, keys and sample values")
    describe.add_argument("table", metavar="TABLE")
    describe.add_argument("--db", metavar="NAME", help="the database (default: the session's)")
    commands.add_parser("status", help="server, session and transport statistics")
    connect = commands.add_parser("connect", help="use the server at URL (none: the default)")
    connect.add_argument("url", metavar="URL", nargs="?")
    connect.add_argument("--token", metavar="T", help="sent as Authorization: Bearer T")
    commands.add_parser("history", help="questions asked in this session")
    commands.add_parser("sql", help="run one read-only statement (`%%nlsql sql`: the cell's)")
    glossary = commands.add_parser(
        "glossary", help="the meanings remembered for a database (its glossary overlay)"
    )
    glossary.add_argument("--db", metavar="NAME", help="the database (default: the session's)")
    glossary.add_argument("--forget", metavar="WORD", help="forget the meaning of WORD")
    return parser


def _sql_parser() -> MagicArgumentParser:
    parser = MagicArgumentParser(prog="%nlsql sql", description="Run one read-only statement.")
    parser.add_argument("--db", metavar="NAME", help="the database (default: the session's)")
    parser.add_argument("--limit", type=int, metavar="N", help="return at most N rows")
    parser.add_argument("--out", metavar="VAR", help="also store the Answer in this variable")
    parser.add_argument(
        "--yes", action="store_true", help="run it even over the server's cost budget"
    )
    return parser


#: `%nlsql sql`'s options (each with a value) before the statement on the same line.
_SQL_OPTIONS = re.compile(
    r"^\s*((?:--yes\s+|--?[\w-]+(?:=|\s+)(?:\"[^\"]*\"|'[^']*'|\S+)\s+)*)(.*)$", re.S
)


def _split_sql_line(line: str) -> tuple[str, str]:
    """`--db retail SELECT 1` → (`--db retail`, `SELECT 1`); quotes in the SQL are kept."""
    match = _SQL_OPTIONS.match(line)
    assert match is not None  # the pattern matches any text
    return match.group(1), match.group(2)


def _is_frame(value: Any) -> bool:
    """A pandas DataFrame, without importing pandas for a variable that cannot be one."""
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)
