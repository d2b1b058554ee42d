"""The `nlsql` command: `serve`, `databases`, `ask`, `sql`, `mcp`, `samples load`, `glossary`.

`ask` and `databases` run the pipeline in-process (no server needed); `serve` runs the server.
`glossary list|add|remove` reads and writes a database's overlay of remembered meanings.
A query whose plan is over the cost budget (`NLSQL_COST_BUDGET_ROWS`) is not run by `ask` or
`sql` without `--yes`: they print the estimate and exit with `NEEDS_CONFIRMATION` (3).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from . import __version__, pipeline, remembering, tools
from .agents.nlp import ENGINES
from .databases.paths import looks_like_sqlite_path
from .exceptions import InvalidParams, NeedsClarification, NeedsConfirmation, NlsqlError
from .exposure import is_loopback
from .glossary import AGGREGATES, term_rows
from .services import Services
from .settings import Settings

#: The exit status of `ask` and `sql` when a query waited for `--yes`.
NEEDS_CONFIRMATION = 3
_YES_HELP = "run queries whose plan is over the server's cost budget (NLSQL_COST_BUDGET_ROWS)"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nlsql", description="Ask SQL databases questions in plain English."
    )
    parser.add_argument("--version", action="version", version=f"nlsql {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the JSON-RPC server (WebSocket /ws, HTTP /rpc)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; anything but loopback needs a token",
    )
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument(
        "--token",
        default=None,
        help="require `Authorization: Bearer TOKEN` (default: $NLSQL_TOKEN)",
    )
    serve.add_argument(
        "--no-websocket",
        action="store_true",
        help="serve HTTP only (for proxies that block WebSockets)",
    )
    serve.add_argument("--log-level", default="info")

    databases = commands.add_parser("databases", help="list the databases the server answers from")
    databases.add_argument("--format", choices=("table", "json"), default="table")

    mcp = commands.add_parser(
        "mcp", help="serve the MCP tools over stdio (for desktop MCP clients)"
    )
    mcp.add_argument(
        "--db",
        action="append",
        help="expose only this database (a name, a SQLite path or a URL; repeatable): the "
        "client knows no other",
    )

    ask = commands.add_parser("ask", help="answer questions and print SQL and rows")
    ask.add_argument("question", nargs="?", help="the question (or use --file)")
    ask.add_argument("--db", required=True, help="a database name, or the path of a SQLite file")
    ask.add_argument("--file", help="read one question per line from FILE ('-' for stdin)")
    ask.add_argument("--format", choices=("table", "json", "jsonl"), default=None)
    ask.add_argument(
        "--engine",
        choices=ENGINES,
        default=None,
        help="auto (default: offline when confident, else the LLM), offline, or llm",
    )
    ask.add_argument("--limit", type=int, default=None)
    ask.add_argument(
        "--choose",
        type=int,
        metavar="N",
        help="when the question has several meanings, answer with option N (as listed)",
    )
    ask.add_argument(
        "--remember",
        action="store_true",
        help="with --choose: keep the choice in the database's glossary overlay",
    )
    ask.add_argument("--yes", action="store_true", help=_YES_HELP)

    sql = commands.add_parser("sql", help="run one read-only SQL statement and print the rows")
    sql.add_argument("statement", help="one SELECT (checked like the sql.run method)")
    sql.add_argument("--db", required=True, help="a database name, a SQLite path or a URL")
    sql.add_argument("--format", choices=("table", "json"), default="table")
    sql.add_argument("--limit", type=int, default=None)
    sql.add_argument("--yes", action="store_true", help=_YES_HELP)

    glossary = commands.add_parser(
        "glossary", help="the meanings remembered for a database (its glossary overlay)"
    ).add_subparsers(dest="glossary_command", required=True)
    listed = glossary.add_parser("list", help="the database's glossary and its overlay")
    listed.add_argument("--db", required=True, help="a database name, or a SQLite path")
    listed.add_argument("--format", choices=("table", "json"), default="table")
    added = glossary.add_parser("add", help="remember a meaning (it wins over the glossary's)")
    added.add_argument("name", help="the word (for --date: the table)")
    added.add_argument("--db", required=True, help="a database name, or a SQLite path")
    meaning = added.add_mutually_exclusive_group(required=True)
    meaning.add_argument("--date", metavar="TABLE.COLUMN", help="the date that places rows in time")
    meaning.add_argument(
        "--filter", metavar="SQL", help="a condition, e.g. \"orders.status = 'open'\""
    )
    meaning.add_argument("--measure", metavar="SQL", help="a per-row value to aggregate")
    added.add_argument("--aggregate", choices=AGGREGATES, default="sum", help="for --measure")
    added.add_argument("--description", default="")
    removed = glossary.add_parser("remove", help="forget a remembered meaning")
    removed.add_argument("name", help="the word (a date term: its table)")
    removed.add_argument("--db", required=True, help="a database name, or a SQLite path")

    sample_commands = commands.add_parser("samples", help="the sample databases").add_subparsers(
        dest="samples_command", required=True
    )
    load = sample_commands.add_parser(
        "load", help="load the samples into a MySQL, MariaDB, TiDB or PostgreSQL server"
    )
    load.add_argument(
        "--url",
        required=True,
        help="the server, e.g. mysql://root@127.0.0.1:3306/ or postgresql://postgres@127.0.0.1/postgres",
    )
    load.add_argument("--prefix", default="", help="prefix of the database names (e.g. nlsql_)")
    load.add_argument("--sample", action="append", help="load only this sample (repeatable)")
    load.add_argument(
        "--replace", action="store_true", help="drop and reload databases that exist already"
    )
    return parser


def _services() -> Services:
    """Services for a one-shot command (`--db` names are added by `_register`)."""
    return Services.from_settings(Settings())


def _register(services: Services, db: str) -> str:
    """The database name `db` stands for: a configured name as is; a URL or a SQLite path is
    registered first (by the URL's database name, or the file's name)."""
    if db in services.registry.names():
        return db
    if "://" in db:
        from .databases.urls import name_from_url

        name = name_from_url(db)
        services.registry.add_url(name, db)
        return name
    if looks_like_sqlite_path(db):
        path = Path(db).expanduser()
        services.registry.add_sqlite(path.stem, path)
        return path.stem
    return db


def _questions(args: argparse.Namespace) -> Iterator[str]:
    if args.file is None:
        if not args.question:
            raise SystemExit("nlsql ask: give a QUESTION or --file FILE")
        yield args.question
        return
    if args.file == "-":
        lines: Iterable[str] = sys.stdin
    else:
        lines = Path(args.file).read_text(encoding="utf-8").splitlines()
    for line in lines:
        if line.strip():
            yield line.strip()


def _answer(
    services: Services, question: str, database: str, args: argparse.Namespace
) -> dict[str, Any]:
    """The answer as a JSON-ready dict; an error becomes `error` so a batch goes on.

    A question with several meanings is answered with option `--choose` (from 1), which
    `--remember` writes to the glossary overlay; without it the options are the error's."""

    def ask(choice: dict[str, Any] | None = None) -> dict[str, Any]:
        return asyncio.run(
            pipeline.ask(
                services,
                question,
                database=database,
                engine=args.engine,
                limit=args.limit,
                choice=choice,
                confirm=args.yes,
            )
        )

    try:
        try:
            return ask() | {"error": None}
        except NeedsClarification as exc:
            if args.choose is None:
                raise
            options = exc.data["options"]
            if not 1 <= args.choose <= len(options):
                raise InvalidParams(
                    f"--choose {args.choose}: the question has options 1 to {len(options)}."
                ) from exc
            term = options[args.choose - 1]["choice"]["term"]
            answer = ask(term)
            if args.remember:
                remembering.add(services.registry, database, term)
            return answer | {"error": None, "chosen": options[args.choose - 1]["label"]}
    except NlsqlError as exc:
        return {
            "question": question,
            "database": database,
            "sql": exc.data.get("sql") if isinstance(exc, NeedsConfirmation) else None,
            "columns": [],
            "rows": [],
            "engine": args.engine or services.settings.engine,
            "error": exc.message,
            "error_code": exc.code,
            "error_data": exc.data,
        }


def _print_table(answer: dict[str, Any], out: TextIO) -> None:
    import pandas as pd

    print(f"-- {answer['question']}", file=out)
    if answer.get("error_code") == NeedsConfirmation.code:
        _print_estimate(answer["error_data"], out)
        return
    if answer["error"]:
        print(f"error: {answer['error']}", file=out)
        options = answer["error_data"].get("options") or []
        for number, option in enumerate(options, start=1):
            print(f"  {number}. {option['label']}", file=out)
        if options:
            print("Ask again with --choose N (and --remember to keep the choice).", file=out)
        return
    if answer.get("chosen"):
        print(f"-- as: {answer['chosen']}", file=out)
    print(answer["sql"], file=out)
    frame = pd.DataFrame(answer["rows"], columns=answer["columns"])
    print(frame.to_string(index=False), file=out)
    more = " (truncated)" if answer.get("truncated") else ""
    print(f"({answer['row_count']} rows{more}, {answer['timings']['total']:.0f} ms)\n", file=out)


def _print_estimate(data: dict[str, Any], out: TextIO) -> None:
    """A query that waits for `--yes`: the estimate, the plan in words, the SQL."""
    estimate = data.get("estimate") or {}
    print(
        f"not run: it would read about {estimate.get('rows', 0):,} rows "
        f"({estimate.get('kind')}), over the budget of {data.get('budget', 0):,} rows "
        "(NLSQL_COST_BUDGET_ROWS); add --yes to run it anyway.",
        file=out,
    )
    print("plan:", file=out)
    for step in estimate.get("plan") or []:
        print(f"  - {step}", file=out)
    print(data.get("sql") or "", file=out)


def _cmd_ask(args: argparse.Namespace) -> int:
    try:
        services = _services()
        database = _register(services, args.db)
        services.registry.get(database)
    except NlsqlError as exc:
        print(f"nlsql ask: {exc.message}", file=sys.stderr)
        return 2
    fmt = args.format or ("jsonl" if args.file else "table")
    failed = waiting = 0
    for question in _questions(args):
        answer = _answer(services, question, database, args)
        failed += answer["error"] is not None
        waiting += answer.get("error_code") == NeedsConfirmation.code
        if fmt == "table":
            _print_table(answer, sys.stdout)
        else:
            print(json.dumps(answer, default=str, indent=2 if fmt == "json" else None), flush=True)
    if failed > waiting:
        return 1
    return NEEDS_CONFIRMATION if waiting else 0


def _cmd_databases(args: argparse.Namespace) -> int:
    services = _services()
    rows: list[dict[str, Any]] = []
    for name in services.registry.names():
        db = services.registry.get(name)
        rows.append(
            {"name": name, "dialect": db.dialect, "url": db.url, "description": db.description}
        )
    if args.format == "json":
        print(json.dumps(rows, indent=2))
    else:
        _print_rows(rows, ("name", "dialect", "url"))
    return 0


def _print_rows(rows: Iterable[dict[str, Any]], keys: tuple[str, ...]) -> None:
    rows = list(rows)
    widths = [max([len(k)] + [len(str(r[k])) for r in rows]) for k in keys]
    print("  ".join(k.ljust(w) for k, w in zip(keys, widths)))
    for row in rows:
        print("  ".join(str(row[k]).ljust(w) for k, w in zip(keys, widths)))


def _cmd_sql(args: argparse.Namespace) -> int:
    try:
        services = _services()
        database = _register(services, args.db)
        result = asyncio.run(
            tools.run_sql(services, database, args.statement, args.limit, confirm=args.yes)
        )
    except NeedsConfirmation as exc:
        _print_estimate(exc.data, sys.stderr)
        return NEEDS_CONFIRMATION
    except NlsqlError as exc:
        print(f"nlsql sql: {exc.message}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(result, default=str, indent=2))
        return 0
    import pandas as pd

    print(pd.DataFrame(result["rows"], columns=result["columns"]).to_string(index=False))
    more = " (truncated)" if result.get("truncated") else ""
    print(f"({result['row_count']} rows{more})")
    return 0


def _cmd_glossary(args: argparse.Namespace) -> int:
    services = _services()
    database = _register(services, args.db)
    if args.glossary_command == "add":
        remembering.add(services.registry, database, _term(args))
    elif args.glossary_command == "remove":
        forgot = remembering.remove(services.registry, database, args.name)["removed"]
        if not forgot:
            print(f"nlsql glossary: nothing is remembered as {args.name!r}.", file=sys.stderr)
            return 1
    state = remembering.listing(services.registry, database)
    if getattr(args, "format", "table") == "json":
        print(json.dumps(state, indent=2))
        return 0
    print(f"overlay of {database}: {services.registry.overlay(database).path}")
    _print_rows(term_rows(state), ("source", "names", "kind", "meaning"))
    return 0


def _term(args: argparse.Namespace) -> dict[str, Any]:
    """The glossary term `nlsql glossary add` describes; its tables are the ones it names."""
    import sqlglot
    from sqlglot import exp

    raw: dict[str, Any] = {"names": [args.name], "description": args.description}
    if args.date:
        table = args.date.split(".")[0]
        return raw | {"kind": "date", "date_column": args.date, "tables": [table]}
    text = args.filter or args.measure
    try:
        columns = sqlglot.parse_one(text).find_all(exp.Column)
    except sqlglot.errors.ParseError as exc:
        raise InvalidParams(f"Not an SQL expression: {text!r}") from exc
    tables = sorted({column.table for column in columns if column.table})
    if args.filter:
        return raw | {"kind": "filter", "filter": text, "tables": tables}
    return raw | {"kind": "measure", "value": text, "aggregate": args.aggregate, "tables": tables}


def _cmd_samples(args: argparse.Namespace) -> int:
    from .databases.urls import scheme_of
    from .samples import SAMPLE_NAMES

    options = {
        "data_dir": Settings().data_dir,
        "prefix": args.prefix,
        "names": args.sample or SAMPLE_NAMES,
        "replace": args.replace,
    }
    try:
        if scheme_of(args.url) == "duckdb":
            from .samples.load_duckdb import (
                config_snippet_duckdb,
                duckdb_folder,
                load_samples_duckdb,
            )

            folder = duckdb_folder(args.url)
            loaded = load_samples_duckdb(folder, **options)
            snippet = config_snippet_duckdb(folder, loaded)
        else:
            from .samples.load import config_snippet, load_samples

            loaded = load_samples(args.url, **options)
            snippet = config_snippet(args.url, loaded)
    except NlsqlError as exc:
        print(f"nlsql samples load: {exc.message}", file=sys.stderr)
        return 1
    for item in loaded:
        done = "up to date" if item.skipped else f"loaded in {item.seconds:.1f} s"
        print(f"{item.sample} -> {item.database}: {item.tables} tables, {item.rows:,} rows, {done}")
    print()
    print(snippet)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app, uvicorn_options

    settings = Settings(websocket=not args.no_websocket)
    if args.token:
        settings.token = args.token
    if not is_loopback(args.host):
        if not settings.token:
            print(
                f"nlsql serve: refusing to listen on {args.host} without a token: anyone who "
                "reaches it could read the databases. Give --token (or NLSQL_TOKEN), or "
                "listen on 127.0.0.1.",
                file=sys.stderr,
            )
            return 2
        if "NLSQL_ALLOWED_HOSTS" not in os.environ:
            # Clients name this server by addresses and names we cannot know; the token guards.
            settings.allowed_hosts = ["*"] if args.host in ("0.0.0.0", "::") else [args.host]
        if "NLSQL_DISCLOSE_PATHS" not in os.environ:
            settings.disclose_paths = False
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        **uvicorn_options(settings),
    )
    return 0


def _cmd_mcp(args: argparse.Namespace) -> int:
    from .mcp_server import build_mcp

    services = _services()
    try:
        chosen = [_register(services, db) for db in args.db or ()]
    except NlsqlError as exc:
        print(f"nlsql mcp: {exc.message}", file=sys.stderr)
        return 2
    known = services.registry.names()
    unknown = [name for name in chosen if name not in known]
    if unknown:
        print(
            f"nlsql mcp: unknown database {unknown[0]!r}. Databases: {', '.join(known)}.",
            file=sys.stderr,
        )
        return 2
    build_mcp(services, chosen or None).run("stdio")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {
        "serve": _cmd_serve,
        "databases": _cmd_databases,
        "ask": _cmd_ask,
        "mcp": _cmd_mcp,
        "sql": _cmd_sql,
        "samples": _cmd_samples,
        "glossary": _cmd_glossary,
    }[args.command]
    try:
        return handler(args)
    except NlsqlError as exc:
        # A databases file that is wrong stops every command: say which entry, not a traceback.
        print(f"nlsql {args.command}: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
