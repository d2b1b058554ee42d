"""Follow-ups: "now only for Europe", "same but per quarter", "and the bottom 5?".

A follow-up names only what changes. It is read like any question, then laid over the previous
turn's plan: a value replaces the filter on the same column (or adds one), a period replaces the
period, a grain replaces the time dimension, other dimensions replace the grouping, a rank word
sets the order and the number of rows. The joins are then worked out again from the plan's root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal, cast

from ...exceptions import CannotAnswer
from ..base import PriorTurn
from .memory import load
from .plan import Dimension, Filter, Plan
from .reading import Reading
from .schema_index import SchemaIndex
from .shape import Shaper
from .words import Token

#: Words that open a follow-up ("now only for Europe", "same but per quarter").
CUES = frozenset({"now", "same", "and", "but", "only", "just", "instead", "also", "then",
                  "again", "ok", "okay", "rather"})  # fmt: skip
#: Pairs that open one: "what about 2023?", "how about Europe?".
PAIRS = frozenset({("what", "about"), ("how", "about")})
_PERIODS = ("years", "span")
_DEFAULT_LIMIT = 10


def previous_plan(history: Sequence[PriorTurn], index: SchemaIndex) -> Plan | None:
    """The plan of the latest turn the offline engine answered, if it still fits the schema."""
    for turn in reversed(history):
        if turn.understood and "plan" in turn.understood:
            return load(turn.understood["plan"], index.context.glossary, set(index.tables))
        if turn.sql:
            return None  # the latest answer came from elsewhere: nothing to refine
    return None


def opens_follow_up(tokens: list[Token]) -> bool:
    """ "now ...", "same but ...", "and ...", "what about ...": the question refines the last."""
    if not tokens:
        return False
    return tokens[0].lemma in CUES or tuple(t.lemma for t in tokens[:2]) in PAIRS


#: Cue words that may also close a follow-up ("for 2024 instead").
TRAILING = frozenset({"instead", "too", "also", "again", "then", "please"})


def without_cues(tokens: list[Token]) -> list[Token]:
    """The follow-up's own words: the cue words around them carry no meaning of their own."""
    while tokens and tokens[-1].lemma in TRAILING:
        tokens = tokens[:-1]
    start = 0
    while start < len(tokens):
        pair = tuple(t.lemma for t in tokens[start : start + 2])
        if pair in PAIRS:
            start += 2
        elif tokens[start].lemma in CUES:
            start += 1
        else:
            break
    return tokens[start:]


def refine(plan: Plan, reading: Reading, index: SchemaIndex) -> Plan:
    """`plan` changed by what the follow-up `reading` says."""
    if reading.problems:
        raise CannotAnswer(
            "I did not understand " + "; ".join(reading.problems) + ".", understood={}
        )
    if reading.measures or reading.distinct is not None or reading.share:
        raise CannotAnswer(
            "A follow-up can change filters, periods, grouping and ranking; ask for a new "
            "measure as a question of its own.",
            understood={},
        )
    shaper = Shaper(reading, index)
    shaper.mentioned |= set(plan.joins.tables)
    new_filters = shaper.filters(plan.root, plan.measure)
    filters = _merge_filters(plan.filters, new_filters)
    dims = _merge_dims(plan, [shaper.dimension(plan.root, plan.measure, m) for m in reading.dims])
    order, limit = plan.order, plan.limit
    if reading.order:
        if not dims:
            raise CannotAnswer("There is nothing to rank in the previous answer.", understood={})
        order = cast(Literal["asc", "desc"], reading.order)
        limit = None if reading.unlimited else reading.limit or plan.limit or _DEFAULT_LIMIT
    changed = new_filters or reading.dims or reading.order
    if not changed:
        raise CannotAnswer("I could not tell what to change in the previous answer.", understood={})
    tree = shaper.joins(plan.root, plan.measure, list(dims), list(filters + plan.conditions))
    if tree.fans_out and plan.measure is not None and plan.measure.aggregate in ("sum", "avg"):
        raise CannotAnswer(
            f"Joining {', '.join(tree.tables[1:])} to {plan.root} would count rows twice.",
            understood={},
        )
    doubts = shaper.doubts
    confidence = round(max(0.0, min(plan.confidence, 1.0 - 0.1 * doubts)), 2)
    return replace(
        plan, joins=tree, dims=tuple(dims), filters=filters, order=order, limit=limit,
        distinct=tree.fans_out, confidence=confidence, ignored=tuple(reading.ignored),
    )  # fmt: skip


def _merge_filters(old: tuple[Filter, ...], new: list[Filter]) -> tuple[Filter, ...]:
    kept = list(old)
    for f in new:
        if f.kind in _PERIODS:
            kept = [k for k in kept if k.kind not in _PERIODS]
        elif f.kind in ("value", "compare"):
            kept = [
                k
                for k in kept
                if not (k.kind == f.kind and (k.table, k.column) == (f.table, f.column))
            ]
        kept.append(f)
    return tuple(kept)


def _merge_dims(plan: Plan, new: list[Dimension]) -> list[Dimension]:
    dims = list(plan.dims)
    times = [d for d in new if d.kind == "time"]
    others = [d for d in new if d.kind != "time"]
    if times:
        dims = [d for d in dims if d.kind != "time"] + times
    if others:
        dims = others + [d for d in dims if d.kind == "time"]
    return dims
