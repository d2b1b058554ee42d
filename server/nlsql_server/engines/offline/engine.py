"""The offline engine: deterministic, schema-aware question → SQL, with no model and no network."""

from __future__ import annotations

from dataclasses import replace

from ...exceptions import CannotAnswer
from ..base import Engine, EngineContext, Generated
from .build import build, render
from .checks import check, lead_in
from .choosing import understood
from .clarify import close_values, two_terms
from .followup import opens_follow_up, previous_plan, refine, without_cues
from .linking import link
from .memory import dump
from .plan import Plan
from .reading import read
from .schema_index import SchemaIndex, index_for
from .shape import Shaper
from .words import Token, tokenize


class OfflineEngine(Engine):
    """Words → links to the schema → roles → plan → sqlglot tree → SQL in the context's dialect.

    The same question on the same context always gives the same SQL. A question it cannot map
    with confidence, or whose plan fails a check against its words (`checks`), raises
    `CannotAnswer` with what it did recognise.
    """

    name = "offline"

    def generate(self, question: str, context: EngineContext) -> Generated:
        tokens = tokenize(question)
        if not tokens:
            raise CannotAnswer("The question has no words in it.", understood={})
        index = index_for(context)
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
        two_terms(reading.mentions, understood(reading))
        if reading.problems:
            close_values(reading.mentions, index, understood(reading))
            raise CannotAnswer(
                "I did not understand " + "; ".join(reading.problems) + ".",
                understood=understood(reading),
            )
        plan = Shaper(reading, index).plan()
        check(plan, reading, index)
        return replace(plan, unplaced=tuple(lead_in(reading)))
