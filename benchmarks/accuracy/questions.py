"""The question set: TOML files of `[[question]]` tables.

Each question has `id`, `question`, `gold_sql` (SQLite), `shape` (what kind of question it is),
`split` (`dev` while tuning, `test` held out, `fresh` scored once before any tuning) and
optionally `ordered = true` when the answer's row order matters, and `expect = "decline"` when
the database does not hold the answer (no `gold_sql` then: declining is the right answer).
`database`, `split` and `path` may be set once at the top of a file for all its questions.

`path` names a SQLite file outside the generated samples, relative to the repository's root;
`{database}` in it stands for the question's database, so one line serves a file of questions
over several Spider-train databases:
`path = "../shared/spider-train/database/{database}/{database}.sqlite"`. Questions whose file is
absent are left out of `load()` with a message on stderr, so a checkout without it still runs.
Adding a question is adding one table to a file.
"""

from __future__ import annotations

import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

QUESTIONS_DIR = Path(__file__).with_name("questions")
#: `path` fields are relative to the repository's root (this file is benchmarks/accuracy/...).
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Keys a file may set once for every question it holds.
FILE_DEFAULTS = ("database", "split", "path")
EXPECTS = ("answer", "decline")


@dataclass(frozen=True)
class Question:
    id: str
    database: str
    question: str
    shape: str
    gold_sql: str = ""
    split: str = "dev"
    ordered: bool = False
    #: `answer` (the gold result is right) or `decline` (the database cannot answer it).
    expect: str = "answer"
    #: The SQLite file behind `database` when it is not a generated sample ("" for those).
    path: str = ""
    #: The file the question comes from, without `.toml` (set by `load`, not in the file).
    set_name: str = ""

    @property
    def declines(self) -> bool:
        """Is declining the right answer?"""
        return self.expect == "decline"

    def file(self) -> Path | None:
        """The SQLite file named by `path`, resolved against the repository; None for samples."""
        if not self.path:
            return None
        return (REPO_ROOT / self.path.format(database=self.database)).resolve()


def _check(q: Question, source: Path) -> None:
    if q.expect not in EXPECTS:
        raise ValueError(f"{source.name}: {q.id}: expect must be one of {EXPECTS}")
    if not q.declines and not q.gold_sql.strip():
        raise ValueError(f"{source.name}: {q.id}: gold_sql is required unless expect = 'decline'")


def load(directory: Path = QUESTIONS_DIR, *, quiet: bool = False) -> list[Question]:
    """Every question of every file in `directory`, in file then position order.

    Questions over a `path` that does not exist are skipped, with one line per file on stderr
    unless `quiet`.
    """
    found: list[Question] = []
    ids: list[str] = []
    for source in sorted(directory.glob("*.toml")):
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
        defaults = {key: raw[key] for key in FILE_DEFAULTS if key in raw}
        missing: set[Path] = set()
        for entry in raw.get("question", []):
            q = Question(**({"database": ""} | defaults | entry | {"set_name": source.stem}))
            _check(q, source)
            ids.append(q.id)
            file = q.file()
            if file is not None and not file.exists():
                missing.add(file)
                continue
            found.append(q)
        if missing and not quiet:
            print(
                f"skipping questions of {source.name} over {len(missing)} absent database"
                f" file(s), e.g. {sorted(missing)[0]}",
                file=sys.stderr,
            )
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate question ids: {', '.join(duplicates)}")
    return found
