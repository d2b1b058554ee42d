"""Relative periods: "last year", "this quarter", "last 3 months", "past 90 days", "year to date".

They are read against a reference date (the context's, by default the latest date in the data),
as calendar periods: "last year" is the whole previous calendar year, "this quarter" the quarter
holding the reference date, "last 3 months" the three calendar months ending with the reference
date's month, "last 90 days" the 90 days ending on the reference date.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from dateutil.relativedelta import relativedelta

from .words import Token

if TYPE_CHECKING:
    from .linking import Mention

_THIS = ("this", "current")
_LAST = ("last", "previous", "past", "prior")
_GRAINS = ("year", "quarter", "month", "week", "day")
_TO_DATE = {("ytd",): "year", ("year", "to", "date"): "year", ("qtd",): "quarter",
            ("mtd",): "month", ("quarter", "to", "date"): "quarter",
            ("month", "to", "date"): "month"}  # fmt: skip


def relative_at(tokens: list[Token], start: int) -> Mention | None:
    """A relative period starting at `start`, as a RELATIVE mention, or None."""
    from .linking import Mention, Role

    words = [t.lemma for t in tokens[start : start + 3]]
    for phrase, grain in _TO_DATE.items():
        if tuple(words[: len(phrase)]) == phrase:
            end = start + len(phrase)
            return Mention(
                Role.RELATIVE, start, end, _text(tokens, start, end), value=f"this:0:{grain}"
            )
    if not words or words[0] not in _THIS + _LAST:
        return None
    if len(words) > 1 and words[1] in _GRAINS:
        kind = "this" if words[0] in _THIS else "last"
        return Mention(Role.RELATIVE, start, start + 2, _text(tokens, start, start + 2),
                       value=f"{kind}:1:{words[1]}")  # fmt: skip
    if len(words) > 2 and words[0] in _LAST and words[2] in _GRAINS:
        count = tokens[start + 1].number
        if count:
            text = _text(tokens, start, start + 3)
            return Mention(Role.RELATIVE, start, start + 3, text, value=f"trail:{count}:{words[2]}")
    return None


def _text(tokens: list[Token], start: int, end: int) -> str:
    return " ".join(t.text for t in tokens[start:end])


def _period_start(day: date, grain: str) -> date:
    if grain == "year":
        return day.replace(month=1, day=1)
    if grain == "quarter":
        return day.replace(month=3 * ((day.month - 1) // 3) + 1, day=1)
    if grain == "month":
        return day.replace(day=1)
    if grain == "week":
        return day - timedelta(days=day.weekday())
    return day


def _step(grain: str, count: int) -> relativedelta:
    if grain == "quarter":
        return relativedelta(months=3 * count)
    if grain == "week":
        return relativedelta(weeks=count)
    return relativedelta(**{f"{grain}s": count})


def span(value: str, reference: date) -> tuple[date, date]:
    """The first day and the day after the last of a RELATIVE mention's period."""
    kind, number, grain = value.split(":")
    count = int(number)
    current = _period_start(reference, grain)
    if kind == "this":
        return current, current + _step(grain, 1)
    if kind == "last":
        return current - _step(grain, 1), current
    if grain == "day":
        return reference - timedelta(days=count - 1), reference + timedelta(days=1)
    return current - _step(grain, count - 1), current + _step(grain, 1)
