"""The offline engine, in five steps, one module each:

1. `words`: tokens and lemmas (categories → category, "five" → 5, order_items → order item);
2. `schema_index` + `linking`: every table, column, value and glossary term as phrases, and the
   question read as the longest phrases it contains;
3. `reading` + `shape`: which phrase is the measure, the dimensions, the filters, comparisons,
   absent rows, shares, periods (`periods` reads "last year"); then one meaning each, the
   cheapest to join from the measured table (`choosing`), in a `plan.Plan` whose WHERE side
   `conditions` builds and whose conditions on groups `groups` reads (`measures` knows what
   glossary terms and line tables read); `checks` reads the plan back against the question and
   turns any doubt into a decline, and `clarify` a question with two readings (two dates, a
   word with two glossary meanings) into a question back; `followup` lays a follow-up over the
   previous turn's plan, kept as JSON by `memory`;
4. `joins`: the foreign-key join tree, refusing joins that would count rows twice;
5. `build`: the plan as a sqlglot tree (`sqlnames` quotes identifiers), rendered in the
   database's dialect.
"""

from __future__ import annotations

from .engine import OfflineEngine

__all__ = ["OfflineEngine"]
