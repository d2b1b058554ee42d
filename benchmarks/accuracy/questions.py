"""The question set: TOML files of `[[question]]` tables, one file per database.

Each question has `id`, `question`, `gold_sql` (SQLite), `shape` (what kind of question it is),
`split` (`dev` while tuning, `test` held out) and optionally `ordered = true` when the answer's
row order matters, and `database` (defaulting to the file's top-level `database`). Adding a
question is adding one table to a file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

QUESTIONS_DIR = Path(__file__).with_name("questions")


@dataclass(frozen=True)
class Question:
    id: str
    database: str
    question: str
    gold_sql: str
    shape: str
    split: str = "dev"
    ordered: bool = False


def load(directory: Path = QUESTIONS_DIR) -> list[Question]:
    """Every question of every file in `directory`, in file then position order."""
    found: list[Question] = []
    for path in sorted(directory.glob("*.toml")):
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        for entry in raw.get("question", []):
            found.append(Question(**({"database": raw.get("database", "")} | entry)))
    ids = [q.id for q in found]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate question ids: {', '.join(duplicates)}")
    return found
