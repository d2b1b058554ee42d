"""The offline engine: deterministic, schema-aware question → SQL, with no model and no network."""

from __future__ import annotations

import threading

from ...exceptions import CannotAnswer
from ..base import Engine, EngineContext, Generated
from .build import build, render
from .choosing import understood
from .followup import opens_follow_up, previous_plan, refine, without_cues
from .linking import link
from .memory import dump
from .plan import Plan
from .reading import read
from .schema_index import SchemaIndex
from .shape import Shaper
from .words import Token, tokenize

#: Contexts whose index is kept; the server reuses one context per database.
_KEPT_INDEXES = 16


class OfflineEngine(Engine):
    """Words → links to the schema → roles → plan → sqlglot tree → SQL in the context's dialect.

    The same question on the same context always gives the same SQL. A question it cannot map
    with confidence raises `CannotAnswer` with what it did recognise.
    """

    name = "offline"

    def __init__(self) -> None:
        self._indexes: dict[int, tuple[EngineContext, SchemaIndex]] = {}
        self._lock = threading.Lock()

    def generate(self, question: str, context: EngineContext) -> Generated:
        tokens = tokenize(question)
        if not tokens:
            raise CannotAnswer("The question has no words in it.", understood={})
        index = self._index(context)
        previous = previous_plan(context.history, index)
        if previous is not None and opens_follow_up(tokens):
            plan = refine(previous, read(link(without_cues(tokens), index), index), index)
        else:
            try:
                plan = self._plan(tokens, index)
            except CannotAnswer as own:
                if previous is None:
                    raise
                # a question that fails on its own may refine the previous one ("bottom 5?")
                try:
                    plan = refine(previous, read(link(without_cues(tokens), index), index), index)
                except CannotAnswer:
                    raise own from None
        if plan.confidence < context.min_confidence:
            ignored = ", ".join(f"“{word}”" for word in plan.ignored) or "some words"
            raise CannotAnswer(
                f"I am not sure enough to answer (confidence {plan.confidence:.2f}): I could "
                f"not place {ignored}. I understood: {plan.explanation()}",
                understood=plan.understood(),
            )
        sql = render(build(plan, index), context.dialect)
        return Generated(
            sql=sql,
            explanation=plan.explanation(),
            engine=self.name,
            confidence=plan.confidence,
            understood=plan.understood() | {"plan": dump(plan)},
        )

    @staticmethod
    def _plan(tokens: list[Token], index: SchemaIndex) -> Plan:
        reading = read(link(tokens, index), index)
        if reading.problems:
            raise CannotAnswer(
                "I did not understand " + "; ".join(reading.problems) + ".",
                understood=understood(reading),
            )
        return Shaper(reading, index).plan()

    def _index(self, context: EngineContext) -> SchemaIndex:
        """The schema index of `context`, built once per context object."""
        with self._lock:
            kept = self._indexes.get(id(context))
            if kept is not None and kept[0] is context:
                return kept[1]
        index = SchemaIndex(context)
        with self._lock:
            if len(self._indexes) >= _KEPT_INDEXES:
                self._indexes.pop(next(iter(self._indexes)))
            self._indexes[id(context)] = (context, index)
        return index
