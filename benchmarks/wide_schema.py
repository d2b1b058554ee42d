"""Wide schemas: the first `%%ask` and one question on 10 / 100 / 300 / 1,000-table SQLite files.

    .venv/bin/python benchmarks/wide_schema.py [--sizes 10 100 300 1000] [--dir DIR]

Generates deterministic schemas of many small tables (a few rows each) that repeat the same
column names (`id`, `name`, `status`, `amount`, `created_at`) and chain to each other by foreign
keys, so the measure word "amount" is in every table. Each file is asked through the kernel's own
path: `Runtime.ask` with the file's path, which attaches it to the bundled server (uvicorn in
this process) and asks over the WebSocket, as `%%ask --db file.sqlite` does. Prints, per size,
the seconds of the first ask (a fresh database: schema read and engine context built) and of
questions asked after it, each with whether its answer came from the right table with the right
number:

- "how many <table>": the first ask;
- "total amount of <table>": the table is named; every table has an `amount`;
- "total amount of <table> per status": every table has a `status` too;
- "total amount of <value>": only the value, held by one table's `status`, names the table;
- LLM linking: the LLM engine's choice of tables and its prompt for the "per status" question,
  without calling a model (right: the prompt describes the table named).
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

SIZES = (10, 100, 300, 1000)
#: Table names are `<place>_<thing>`: 40 × 25 = 1,000 distinct names, every word repeated.
PLACES = (
    "alpine", "amber", "arctic", "azure", "bay", "cedar", "cobalt", "coral", "delta", "desert",
    "ember", "falcon", "fjord", "forest", "garnet", "glacier", "granite", "harbor", "hazel",
    "indigo", "island", "jade", "juniper", "lagoon", "maple", "marsh", "meadow", "mesa", "onyx",
    "orchid", "prairie", "quartz", "river", "saffron", "sierra", "summit", "tundra", "valley",
    "willow", "zephyr",
)  # fmt: skip
THINGS = (
    "accounts", "bonuses", "charges", "claims", "credits", "deliveries", "deposits", "donations",
    "fees", "fines", "grants", "invoices", "leases", "loans", "payouts", "pledges", "premiums",
    "rebates", "receipts", "refunds", "rentals", "royalties", "tickets", "transfers", "vouchers",
)  # fmt: skip
#: The table the questions are about: in every generated schema, never the first one.
TARGET = "harbor_refunds"
#: A status value only the target table holds.
TARGET_STATUS = "escalated"
STATUSES = ("open", "closed", "pending", "approved")
#: Tables per foreign-key chain: each table refers to the one before it in its chain, and every
#: fifth one also to a table of the previous chain.
CHAIN = 20


def table_names(count: int) -> list[str]:
    """`count` distinct table names, the target among them, in a fixed order."""
    names = [f"{place}_{thing}" for thing in THINGS for place in PLACES]
    random.Random(7).shuffle(names)
    names.remove(TARGET)
    return names[: count // 2] + [TARGET] + names[count // 2 : count - 1]


def generate(path: Path, count: int) -> Path:
    """Write a SQLite file of `count` small tables at `path` (replaced if it exists)."""
    path.unlink(missing_ok=True)
    rng = random.Random(count)
    names = table_names(count)
    with sqlite3.connect(path) as conn:
        for i, name in enumerate(names):
            refs = []
            if i % CHAIN:
                refs.append(names[i - 1])
            if i >= CHAIN and i % 5 == 0:
                refs.append(names[i - CHAIN + 1])
            keys = "".join(f", {ref}_id INTEGER REFERENCES {ref}(id)" for ref in refs)
            conn.execute(
                f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                f"status TEXT, amount REAL NOT NULL, created_at DATE{keys})"
            )
            statuses = (TARGET_STATUS, *STATUSES[:2]) if name == TARGET else STATUSES
            for row in range(1, 4 + i % 3):
                values = [
                    row,
                    f"{name.split('_')[0].title()} {row}",
                    statuses[row % len(statuses)],
                    round(rng.uniform(10, 900), 2),
                    f"2024-{1 + (i + row) % 12:02d}-{1 + row * 5:02d}",
                ] + [1 + (row % 3) for _ in refs]
                marks = ", ".join("?" * len(values))
                conn.execute(f"INSERT INTO {name} VALUES ({marks})", values)
    conn.close()
    return path


@dataclass(frozen=True)
class Question:
    label: str
    text: str
    #: The SQL whose rows are the right answer.
    expected_sql: str


QUESTIONS = (
    Question("first ask", "how many harbor refunds are there", f"SELECT COUNT(*) FROM {TARGET}"),
    Question(
        "amount (by table)", "total amount of harbor refunds", f"SELECT SUM(amount) FROM {TARGET}"
    ),
    Question(
        "amount per status",
        "total amount of harbor refunds per status",
        f"SELECT status, SUM(amount) FROM {TARGET} GROUP BY status",
    ),
    Question(
        "amount (by value)",
        f"total amount of {TARGET_STATUS}",
        f"SELECT SUM(amount) FROM {TARGET} WHERE status = '{TARGET_STATUS}'",
    ),
)


def _rows(rows: Iterable[Sequence[object]]) -> list[tuple[object, ...]]:
    """Rows as sorted tuples, numbers rounded: the same answer whatever its order."""
    out = [tuple(round(v, 6) if isinstance(v, float) else v for v in row) for row in rows]
    return sorted(out, key=repr)


def right(answer: object, path: Path, question: Question) -> bool:
    """The answer read the target table and its rows are the expected ones."""
    if TARGET not in str(getattr(answer, "sql", "")):
        return False
    with sqlite3.connect(path) as conn:
        expected = conn.execute(question.expected_sql).fetchall()
    conn.close()
    return _rows(getattr(answer, "rows", ())) == _rows(expected)


def measure(ask: Callable[[str, str], object], path: Path) -> list[tuple[float, bool, str]]:
    """Seconds, rightness and a note for each question, asked in order of a fresh database."""
    out = []
    for question in QUESTIONS:
        started = time.perf_counter()
        try:
            answer = ask(question.text, str(path))
        except Exception as exc:  # noqa: BLE001 - a refusal is a figure too
            out.append((time.perf_counter() - started, False, type(exc).__name__))
            continue
        seconds = time.perf_counter() - started
        out.append((seconds, right(answer, path, question), str(getattr(answer, "sql", ""))))
    return out


def llm_linking(path: Path, question: str) -> tuple[float, bool]:
    """Seconds the LLM engine takes to choose the tables for `question` and write its prompt
    (everything before the model is called), on the context the server builds; and whether the
    prompt describes the table the question names."""
    from nlsql_server.engines.llm.prompt import build_messages
    from nlsql_server.engines.offline.schema_index import index_for
    from nlsql_server.services import Services
    from nlsql_server.settings import Settings

    services = Services.from_settings(Settings(samples=False, data_dir=path.parent))
    services.registry.add_sqlite("wide", path)
    db = services.registry.get("wide")
    context = services.contexts.get(db, services.registry.glossary("wide"))
    index_for(context)  # built once per schema, by the first question
    engine = services.nlp.llm
    started = time.perf_counter()
    selection = engine.ranker.select(question, context)
    build_messages(question, context, selection, (), (), engine.options)
    return time.perf_counter() - started, TARGET in selection.tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--dir", type=Path, help="where the files go (default: a temp dir)")
    parser.add_argument("--verbose", action="store_true", help="print each answer's SQL")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="nlsql-wide-"))
    folder.mkdir(parents=True, exist_ok=True)
    # The bundled server reads its settings from the environment when it starts.
    os.environ.setdefault("NLSQL_SAMPLES", "false")
    os.environ.setdefault("NLSQL_DATA_DIR", str(folder))
    from nlsql_jupyter.runtime import Runtime

    runtime = Runtime()
    runtime.ping()  # the server is up before anything is timed

    def ask(question: str, database: str) -> object:
        return runtime.ask(question, database=database, chart="none", timeout=3600)

    header = "".join(f" | {label:>17}" for label in [q.label for q in QUESTIONS] + ["LLM linking"])
    print(f"{'tables':>6}{header}")
    for size in args.sizes:
        path = generate(folder / f"wide_{size}.sqlite", size)
        results = measure(ask, path)
        results.append((*llm_linking(path, QUESTIONS[2].text), ""))
        cells = "".join(
            f" | {seconds:>9.3f} s {'right' if ok else 'WRONG':>5}" for seconds, ok, _ in results
        )
        print(f"{size:>6}{cells}", flush=True)
        if args.verbose:
            for question, (_, _, note) in zip(QUESTIONS, results, strict=False):
                print(f"        {question.label}: {note}")


if __name__ == "__main__":
    main()
