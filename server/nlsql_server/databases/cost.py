"""What a statement would cost, read from the database's own plan before it runs.

Each backend turns its plan (SQLite `EXPLAIN QUERY PLAN`, MySQL `EXPLAIN`, PostgreSQL and
DuckDB `EXPLAIN (FORMAT JSON)`) into one `Estimate`: how many rows the database expects to read,
what kind of access that is, and the plan in words a person reads. The data agent
(`agents/data.py`) compares it with the server's budget (`NLSQL_COST_BUDGET_ROWS`) and runs
nothing above it unless the client confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AccessKind(StrEnum):
    """How a statement reaches its rows, from cheapest to dearest."""

    #: No table is read (`SELECT 1`).
    CONSTANT = "constant"
    #: Every table is reached through an index or key.
    INDEX_LOOKUP = "index lookup"
    #: At least one table is read whole, once.
    FULL_SCAN = "full scan"
    #: A table is read whole once per row of another: rows multiply.
    CARTESIAN_JOIN = "cartesian join"


@dataclass
class PlanWords:
    """Collects an estimate while a backend walks its plan: the steps in words and the kind."""

    steps: list[str] = field(default_factory=list)
    kind: AccessKind = AccessKind.CONSTANT

    def saw(self, kind: AccessKind, step: str) -> None:
        self.steps.append(step)
        if _ORDER.index(kind) > _ORDER.index(self.kind):
            self.kind = kind

    def estimate(self, rows: float, cost: float | None = None) -> Estimate:
        return Estimate(self.kind, int(min(rows, 2**62)), tuple(self.steps), cost)


_ORDER = list(AccessKind)


@dataclass(frozen=True)
class Estimate:
    """The database's guess of a statement's work, before it runs."""

    kind: AccessKind
    #: Rows the database expects to read (over every loop of every join).
    rows: int
    #: The plan, one step per line, in words.
    steps: tuple[str, ...]
    #: The planner's own cost figure, where it has one (PostgreSQL, MySQL).
    cost: float | None = None

    @property
    def words(self) -> str:
        """The plan as one paragraph."""
        return "; ".join(self.steps) + "." if self.steps else "No table is read."

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "rows": self.rows,
            "plan": list(self.steps),
            "words": self.words,
            "cost": self.cost,
        }


def count(rows: float) -> str:
    """A row count as a person reads it: `1,000,000` (estimates are whole rows)."""
    return f"{int(rows):,}"


def scan_step(table: str, rows: float, loops: float) -> tuple[AccessKind, str]:
    """The words and kind of reading `table` (`rows` rows) whole, `loops` times."""
    if loops > 1 and rows > 1:
        return (
            AccessKind.CARTESIAN_JOIN,
            f"for each of {count(loops)} rows so far, read all {count(rows)} rows of {table}",
        )
    return AccessKind.FULL_SCAN, f"read all {count(rows)} rows of {table}"


def lookup_step(table: str, how: str, rows: float, loops: float) -> tuple[AccessKind, str]:
    """The words of reaching about `rows` rows of `table` through `how` (an index), `loops` times."""
    each = f"about {count(rows)} row{'s' * (rows != 1)}"
    if loops > 1:
        return (
            AccessKind.INDEX_LOOKUP,
            f"for each of {count(loops)} rows so far, look up {each} of {table} by {how}",
        )
    return AccessKind.INDEX_LOOKUP, f"look up {each} of {table} by {how}"
