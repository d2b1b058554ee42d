"""A plan as JSON and back: what a session remembers of a turn, so a follow-up can refine it.

Sessions may live in Redis, so the plan is stored as plain JSON: glossary terms by their first
name, expressions as SQL text. Rebuilding checks every table against the schema and gives None
when the plan no longer fits (the schema or the glossary changed since).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlglot
from sqlglot import exp

from ...glossary import Glossary, Term
from .joins import Edge, JoinTree
from .plan import Dimension, Filter, Measure, Plan

#: Bumped when the stored form changes; other versions are not rebuilt.
VERSION = 3


def dump(plan: Plan) -> dict[str, Any]:
    """The plan as JSON-ready data."""
    return {"version": VERSION, **_plain(plan)}


def _plain(value: Any) -> Any:
    if isinstance(value, Term):
        return value.names[0]
    if isinstance(value, exp.Expr):
        return value.sql()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def load(data: Any, glossary: Glossary, tables: set[str]) -> Plan | None:
    """The plan stored by `dump`, or None when it is missing or no longer fits the database."""
    if not isinstance(data, dict) or data.get("version") != VERSION:
        return None
    try:
        plan = _plan(data, glossary)
    except (KeyError, TypeError, ValueError, sqlglot.ParseError):
        return None
    used = set(plan.joins.tables) | {d.table for d in plan.dims} | {f.table for f in plan.filters}
    return plan if used <= tables else None


def _term(name: str | None, glossary: Glossary) -> Term | None:
    if name is None:
        return None
    found = next((t for t in glossary.terms if t.names[0] == name), None)
    if found is None:
        raise ValueError(f"the glossary no longer has {name!r}")
    return found


def _filter(raw: dict[str, Any], glossary: Glossary) -> Filter:
    return Filter(
        **raw
        | {
            "values": tuple(raw["values"]),
            "years": tuple(raw["years"]),
            "months": tuple(raw["months"]) if raw["months"] else None,
            "span": tuple(raw["span"]) if raw["span"] else None,
            "term": _term(raw["term"], glossary),
            "inner": tuple(_filter(f, glossary) for f in raw["inner"]),
            "path": tuple(Edge(**e) for e in raw["path"]),
        }
    )


def _measure(raw: dict[str, Any], glossary: Glossary) -> Measure:
    value = raw["value"]
    return Measure(
        **raw
        | {
            "term": _term(raw["term"], glossary),
            "value": sqlglot.parse_one(value) if value else None,
        }
    )


def _plan(data: dict[str, Any], glossary: Glossary) -> Plan:
    raw_measure = data["measure"]
    measure = None if raw_measure is None else _measure(raw_measure, glossary)
    joins = JoinTree(data["joins"]["root"], tuple(Edge(**e) for e in data["joins"]["edges"]))
    return Plan(
        root=data["root"],
        joins=joins,
        measure=measure,
        dims=tuple(Dimension(**d) for d in data["dims"]),
        filters=tuple(_filter(f, glossary) for f in data["filters"]),
        order=data["order"],
        limit=data["limit"],
        distinct=data["distinct"],
        confidence=data["confidence"],
        ignored=tuple(data["ignored"]),
        having=tuple(data["having"]) if data["having"] else None,
        outer=data["outer"],
        share=data["share"],
        conditions=tuple(_filter(f, glossary) for f in data["conditions"]),
        sort=tuple(data["sort"]) if data["sort"] else None,
        shown=tuple(data["shown"]),
        also=tuple(_measure(m, glossary) for m in data["also"]),
    )
