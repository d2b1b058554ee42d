"""What an engine receives and returns. Engines are pure: no I/O beyond what the context holds."""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..databases.base import DatabaseSchema
from ..glossary import Glossary


@dataclass(frozen=True)
class PriorTurn:
    """An earlier question of the same session, so an engine can read a follow-up."""

    question: str
    sql: str
    engine: str
    #: What the engine understood then (the offline engine's plan), if it said.
    understood: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EngineContext:
    """Everything an engine may know about the database a question is asked of."""

    schema: DatabaseSchema
    dialect: str
    glossary: Glossary = field(default_factory=Glossary)
    #: Distinct values of low-cardinality text columns: (table, column) -> values.
    values: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict)
    #: Earliest and latest year found in the date columns, used to recognise years.
    years: tuple[int, int] | None = None
    #: Earlier turns of this session on this database, oldest first.
    history: Sequence[PriorTurn] = ()
    #: The day "this year" and "last month" count from: a setting, else the latest date found
    #: in the data (due dates and other planned dates aside).
    reference_date: date | None = None
    #: Below this confidence the offline engine says what it understood instead of answering.
    min_confidence: float = 0.5


@dataclass(frozen=True)
class Generated:
    """SQL an engine stands behind, in the context's dialect, with a one-line explanation."""

    sql: str
    explanation: str
    engine: str
    confidence: float = 1.0
    understood: dict[str, Any] = field(default_factory=dict)


class Engine(abc.ABC):
    name: str

    @abc.abstractmethod
    def generate(self, question: str, context: EngineContext) -> Generated:
        """SQL for `question`, or raise `CannotAnswer` saying what was understood."""
