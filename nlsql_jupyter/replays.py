"""Replayable answers: an `%%ask` cell's saved SQL run again with no engine, or frozen to SQL.

Each answer's outputs carry its provenance (`Answer.provenance`, saved in the notebook as
`metadata["nlsql"]`): the question, the database, the SQL, the chart and the columns of every
table the SQL read. The kernel does not see the notebook's outputs, so a replay reads the
saved notebook file: the one `AskMagics.notebook` or `NLSQL_NOTEBOOK` names, else the one
Jupyter Server started this kernel for (`JPY_SESSION_NAME`, which ipykernel also sets as
`__session__`). The cell is found by its source (the replay flags left out), else by its
question.

Before the saved SQL runs, the tables it reads are compared with those it was written against
(`schema.provenance`). When one changed, the SQL is not run: its rows could be quietly wrong
(a retyped column, a table refilled under another meaning), so the cell shows a `Stale` that
says which tables and columns changed and how to ask again.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nlsql_jupyter.answer import Answer, Declined
from nlsql_jupyter.exceptions import InvalidParams

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pandas as pd

    from nlsql_jupyter.runtime import Runtime

__all__ = [
    "NOTEBOOK_ENV",
    "REPLAY_ENV",
    "Stale",
    "frozen_cell",
    "notebook_path",
    "replay",
    "saved_answer",
    "schema_changes",
    "sql_answer",
]

#: `NLSQL_REPLAY=1`: every `%%ask` cell replays its saved answer (`AskMagics.replay`).
REPLAY_ENV = "NLSQL_REPLAY"
#: The saved notebook replays read (nbclient and nbconvert runs have no Jupyter session).
NOTEBOOK_ENV = "NLSQL_NOTEBOOK"
#: Set by Jupyter Server in the kernel's environment: the notebook it started the kernel for.
SESSION_ENV = "JPY_SESSION_NAME"
#: Magic-line flags that change how a cell runs, not what it asks: ignored when matching.
FLAGS = frozenset({"--replay", "--freeze"})
#: What a `Stale` output adds to the metadata it keeps; dropped before replaying it again.
_STALE_KEYS = ("stale", "schema_changes")
_ASK_LINE = re.compile(r"^(%%?)ask(?:\s+(.*))?$")

CellKey = tuple[tuple[str, ...], str]


def replay_from_env() -> bool:
    """Whether `NLSQL_REPLAY` asks for replays (`1`, `true`, `yes`, `on`)."""
    return os.environ.get(REPLAY_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def notebook_path(configured: str | None, namespace: Mapping[str, Any] | None) -> Path | None:
    """The saved notebook to read: the configured one, `NLSQL_NOTEBOOK`, then Jupyter's."""
    candidates = (
        configured,
        os.environ.get(NOTEBOOK_ENV),
        (namespace or {}).get("__session__"),
        os.environ.get(SESSION_ENV),
    )
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return Path(candidate).expanduser()
    return None


def cell_key(line: str, body: str) -> CellKey:
    """What identifies an `%%ask` cell: its options and words without the replay flags, and
    its body with blanks collapsed."""
    return tuple(t for t in line.split() if t not in FLAGS), " ".join(body.split())


def saved_answer(path: Path, line: str, body: str, question: str) -> dict[str, Any] | None:
    """The provenance saved with the cell `line`/`body` in the notebook at `path` (else with
    the first cell that asked `question`); None when it has none."""
    stat = path.stat()
    cells = _saved_cells(str(path), stat.st_mtime_ns, stat.st_size)
    key = cell_key(line, body)
    for found, saved in cells:
        if found == key:
            return dict(saved)
    for _, saved in cells:
        if saved.get("question") == question:
            return dict(saved)
    return None


@lru_cache(maxsize=4)
def _saved_cells(path: str, mtime_ns: int, size: int) -> tuple[tuple[CellKey, dict[str, Any]], ...]:
    """Each `%%ask` cell of the notebook with the provenance its outputs carry (read once per
    version of the file, not once per cell)."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    found = []
    for cell in notebook.get("cells") or ():
        source = cell.get("source") or ""
        source = "".join(source) if isinstance(source, list) else str(source)
        first, _, rest = source.strip().partition("\n")
        match = _ASK_LINE.match(first.strip())
        if cell.get("cell_type") != "code" or match is None:
            continue
        body = rest if match.group(1) == "%%" else ""
        for output in cell.get("outputs") or ():
            metadata = output.get("metadata")
            saved = metadata.get("nlsql") if isinstance(metadata, dict) else None
            if isinstance(saved, dict) and (saved.get("sql") or saved.get("declined")):
                kept = {k: v for k, v in saved.items() if k not in _STALE_KEYS}
                found.append((cell_key(match.group(2) or "", body), kept))
                break
    return tuple(found)


def schema_changes(before: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """What changed in the tables an SQL reads, one line each ("orders.status is gone")."""
    changes = []
    for table in sorted({*before, *now}):
        if table not in now:
            changes.append(f"table {table} is gone")
            continue
        if table not in before:
            changes.append(f"table {table} is new")
            continue
        if not before[table]:  # saved before answers kept columns: names only
            changes.append(f"table {table} changed")
            continue
        old, new = _columns(before[table]), _columns(now[table])
        for column, kind in old.items():
            if column not in new:
                changes.append(f"{table}.{column} is gone")
            elif new[column] != kind:
                changes.append(f"{table}.{column} changed type: {kind or '?'} → {new[column]}")
        changes += [f"{table}.{column} is new" for column in new if column not in old]
    return changes


def _columns(described: Any) -> dict[str, str]:
    """`["id INTEGER", ...]` as `{"id": "INTEGER"}`."""
    pairs = (str(item).partition(" ") for item in described or ())
    return {name: kind.strip() for name, _, kind in pairs}


@dataclass(frozen=True)
class Stale:
    """A saved answer that was not replayed because the tables its SQL reads changed.

    Falsy, with an empty `df`, like `Declined`, so "Run All" goes on; `changes` says what
    changed, `ask_again()` asks the question anew (an engine writes SQL for the new schema).
    Its output keeps the saved metadata, so a later replay (the schema back) still finds it.
    """

    saved: dict[str, Any]
    changes: tuple[str, ...]

    declined = False
    chart = None

    @property
    def question(self) -> str:
        return str(self.saved.get("question") or "")

    @property
    def sql(self) -> str:
        return str(self.saved.get("sql") or "")

    @property
    def database(self) -> str | None:
        return self.saved.get("database")

    def __bool__(self) -> bool:
        return False

    @cached_property
    def df(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame()

    def provenance(self) -> dict[str, Any]:
        """The saved metadata, marked stale with what changed."""
        return self.saved | {"stale": True, "schema_changes": list(self.changes)}

    def ask_again(self, *, engine: str | None = None) -> Answer:
        """Ask the question again (an engine writes new SQL), on the same database."""
        from nlsql_jupyter.runtime import get_runtime

        return get_runtime().ask(
            self.question, database=self.database, limit=self.saved.get("limit"), engine=engine
        )

    def _ipython_display_(self) -> None:
        from IPython.display import display

        from nlsql_jupyter.display import stale_bundle

        data, metadata = stale_bundle(self)
        display(data, metadata=metadata, raw=True)


def replay(
    runtime: Runtime,
    saved: Mapping[str, Any],
    *,
    database: str | None = None,
    limit: int | None = None,
    execute: bool = True,
    frames: Mapping[str, Any] | None = None,
) -> Answer | Stale | Declined:
    """Run `saved`'s SQL again (a provenance dict, `metadata["nlsql"]`) with no engine.

    `database` and `limit` default to the saved ones. With `frames` the SQL runs here over
    those DataFrames, as `%%ask --from` did (no fingerprint: the frames have no saved schema).
    A saved decline is shown again as it was.
    """
    saved = {k: v for k, v in saved.items() if k not in _STALE_KEYS}
    if saved.get("declined"):
        question, message = str(saved.get("question") or ""), str(saved.get("message") or "")
        return Declined(question, message, database or saved.get("database"))
    sql = str(saved.get("sql") or "")
    if not sql:
        raise InvalidParams("This saved answer has no SQL to replay.")
    database = database or saved.get("database")
    limit = limit if limit is not None else saved.get("limit")
    base = {
        "question": saved.get("question") or "",
        "sql": sql,
        "explanation": saved.get("explanation") or "",
        "engine": "replay",
        "server_version": saved.get("server_version"),
    }
    if frames is not None:
        from nlsql_jupyter import frames as local

        result = local.answered(base, local.checked(frames), limit, None)
    else:
        if not database:
            raise InvalidParams("This saved answer names no database to replay it on.")
        now = runtime.provenance(sql, database)
        if saved.get("schema_fingerprint") and now["fingerprint"] != saved["schema_fingerprint"]:
            before = saved.get("schema_tables")
            if not isinstance(before, dict):  # saved before columns were kept: names only
                before = {name: () for name in before or ()}
            return Stale(saved, tuple(schema_changes(before, now["tables"])))
        # The saved SQL already ran once (its outputs are saved): no second confirmation.
        rows = runtime.run_sql(sql, database, limit, confirm=True) if execute else {}
        result = rows | base | {"database": database, "chart": saved.get("chart"), "schema": now}
    answer = Answer.from_result(result, executed=execute)
    return replace(answer, limit=limit, replay_of=saved)


def sql_answer(
    result: Mapping[str, Any], sql: str, database: str, question: str = "", chart: bool = True
) -> Answer:
    """A `sql.run` result as an `Answer` (engine `sql`), charted by the server's viz rules
    as an `ask` would be (rows that came as Arrow are not charted)."""
    from nlsql_server.agents import viz

    spec = None
    if chart and result.get("table") is None and result.get("rows"):
        columns, kinds = list(result["columns"]), list(result["column_types"])
        spec = viz.choose_chart(columns, kinds, list(result["rows"]), title=question)
    given = {"question": question, "sql": sql, "engine": "sql", "database": database}
    return Answer.from_result(dict(result) | given | {"chart": spec})


def frozen_cell(saved: Mapping[str, Any], database: str | None = None) -> str:
    """The `%%nlsql sql` cell that runs `saved`'s SQL on the same database (`database`: as
    the `%%ask` cell named it, so that a SQLite path stays a path), the question kept as a
    comment: what `%%ask --freeze` puts in place of the cell."""
    options = f" --db {shlex.quote(str(database or saved.get('database')))}"
    if saved.get("limit"):
        options += f" --limit {int(saved['limit'])}"
    engine = saved.get("original_engine") or saved.get("engine")
    when = str(saved.get("answered_at") or "")[:10]
    return (
        f"%%nlsql sql{options}\n"
        f"-- {saved.get('question')}\n"
        f"-- (SQL written by the {engine} engine on {when}; frozen from %%ask)\n"
        f"{str(saved.get('sql')).strip()}\n"
    )
