"""The bundled sample databases: deterministic SQLite files built on first use, with glossaries.

Each sample is a generator module (`retail.py`, `finance.py`) exposing `generate(path)` and a
`VERSION` it stamps into `PRAGMA user_version`, plus `<name>_glossary.toml` beside it. Files are
rebuilt when missing or stamped by another version, so a changed generator never serves stale data.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nlsql_server.exceptions import UnknownDatabase
from nlsql_server.samples import finance, retail

__all__ = ["SAMPLE_NAMES", "ensure_sample", "glossary_path", "sample_description"]


class _Generator(Protocol):
    VERSION: int

    def generate(self, path: Path) -> None: ...


@dataclass(frozen=True)
class _Sample:
    description: str
    generator: _Generator


_SAMPLES: dict[str, _Sample] = {
    "retail": _Sample(
        "A fictional retailer, 2023–2025: customers in four regions, products in eight "
        "categories, sales staff, orders with their items, and payments.",
        retail,
    ),
    "finance": _Sample(
        "A fictional company's books, 2023–2025: chart of accounts, departments, vendors, "
        "ledger transactions, quarterly budgets and vendor invoices.",
        finance,
    ),
}
SAMPLE_NAMES: tuple[str, ...] = tuple(_SAMPLES)


def _sample(name: str) -> _Sample:
    if name not in _SAMPLES:
        raise UnknownDatabase(
            f"There is no sample database {name!r}; the samples are {', '.join(SAMPLE_NAMES)}.",
            databases=list(SAMPLE_NAMES),
        )
    return _SAMPLES[name]


def sample_description(name: str) -> str:
    """One or two sentences on what the sample holds, for database listings."""
    return _sample(name).description


def glossary_path(name: str) -> Path:
    """The sample's glossary TOML, shipped beside its generator."""
    _sample(name)
    return Path(__file__).with_name(f"{name}_glossary.toml")


def ensure_sample(name: str, data_dir: Path) -> Path:
    """The path of `<data_dir>/<name>.sqlite`, built first if missing or from another version.

    Safe when several processes start at once: each builds into its own temporary file in the
    same directory and renames it into place atomically, so readers never see a half-built file.
    """
    generator = _sample(name).generator
    path = data_dir / f"{name}.sqlite"
    if _stamped_version(path) == generator.VERSION:
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{name}-", suffix=".sqlite.tmp", dir=data_dir)
    os.close(fd)
    temp = Path(temp_name)
    try:
        generator.generate(temp)
        temp.chmod(0o644)  # mkstemp made it private; the sample is an ordinary data file
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return path


def _stamped_version(path: Path) -> int | None:
    """The `user_version` of an existing database file, or None if absent or unreadable."""
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError:
        return None
