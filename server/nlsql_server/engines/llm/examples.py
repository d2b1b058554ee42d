"""Verified examples: question → SQL pairs that show a model the patterns of a schema.

They come from `examples.toml` beside this module. An example is offered only for a schema that
has every table and column it uses, rendered in the database's dialect.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import sqlglot
from sqlglot import exp

from ...databases.base import DatabaseSchema

__all__ = ["Example", "fitting_examples", "load_examples"]

_FILE = Path(__file__).with_name("examples.toml")


@dataclass(frozen=True)
class Example:
    question: str
    sql: str
    #: The dialect `sql` is written in.
    dialect: str

    def tree(self) -> exp.Expr:
        return sqlglot.parse_one(self.sql, read=self.dialect)

    def fits(self, schema: DatabaseSchema) -> bool:
        """Whether every table and column the SQL names exists in `schema`."""
        tree = self.tree()
        tables = [schema.table(t.name) for t in tree.find_all(exp.Table)]
        if any(t is None for t in tables):
            return False
        columns = {c.name.lower() for t in tables if t is not None for c in t.columns}
        aliases = {a.alias.lower() for a in tree.find_all(exp.Alias)}
        return all(
            c.name.lower() in columns or c.name.lower() in aliases
            for c in tree.find_all(exp.Column)
        )

    def sql_in(self, dialect: str) -> str:
        """The SQL in `dialect`, on one line (fewer prompt tokens than pretty-printed)."""
        return self.tree().sql(dialect=dialect)


@cache
def load_examples(path: Path = _FILE) -> tuple[Example, ...]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    dialect = raw.get("dialect", "sqlite")
    return tuple(Example(e["question"], e["sql"].strip(), dialect) for e in raw.get("example", []))


def fitting_examples(
    schema: DatabaseSchema, examples: tuple[Example, ...], limit: int = 4
) -> list[Example]:
    """The first examples that fit `schema`: the same for every question on a database, so
    the prompt's prefix stays the same (a local server evaluates it once)."""
    return [e for e in examples if e.fits(schema)][:limit]
