"""Step 4: the plan as a sqlglot tree, rendered by the caller in the database's dialect.

Columns are qualified with their table's name (tables are not aliased, so glossary expressions
such as `orders.total_amount` fit as they are). Periods are written for SQLite (`STRFTIME`),
which sqlglot transpiles to MySQL's `DATE_FORMAT`; the quarter, which has no shared spelling,
has one template per dialect.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.generator import Generator

from ...exceptions import CannotAnswer
from .plan import Dimension, Filter, Measure, Plan
from .schema_index import SchemaIndex
from .sqlnames import column, identifier

_FORMATS = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d"}
_QUARTER = {
    "mysql": "CONCAT(YEAR(__date), '-Q', QUARTER(__date))",
    "postgres": "TO_CHAR(CAST(__date AS DATE), 'YYYY\"-Q\"Q')",
    # '%m' is text, but SQLite's arithmetic reads it as an integer: (11 + 2) / 3 = 4.
    "sqlite": "STRFTIME('%Y', __date) || '-Q' || ((STRFTIME('%m', __date) + 2) / 3)",
    "duckdb": "CAST(YEAR(CAST(__date AS DATE)) AS TEXT) || '-Q' || "
    "CAST(QUARTER(CAST(__date AS DATE)) AS TEXT)",
}


def render(tree: exp.Expr, dialect: str) -> str:
    """Pretty SQL in `dialect`, with short parenthesised expressions kept on one line."""
    target = Dialect.get_or_raise(dialect)
    return _inline_parens(target.generator_class)(pretty=True, dialect=target).generate(tree)


@functools.cache
def _inline_parens(base: type[Generator]) -> type[Generator]:
    class InlineParens(base):  # type: ignore[valid-type, misc]
        def paren_sql(self, expression: exp.Paren) -> str:
            inner = self.sql(expression, "this")
            if "\n" in inner:
                return str(super().paren_sql(expression))
            return f"({inner})"

    return InlineParens


def build(plan: Plan, index: SchemaIndex) -> exp.Select:
    """The SELECT statement that answers `plan`."""
    select = exp.Select()
    if plan.measure is None:
        select = _listing(select, plan, index)
    else:
        select = _aggregate(select, plan, index)
    select = select.from_(exp.Table(this=identifier(plan.root)), copy=False)
    for edge in plan.joins.edges:
        on = exp.EQ(
            this=column(edge.table, edge.column), expression=column(edge.other, edge.other_column)
        )
        select = select.join(exp.Table(this=identifier(edge.other)), on=on, copy=False)
    conditions = [_condition(f, index) for f in plan.filters]
    if plan.measure is not None and plan.measure.term is not None and plan.measure.term.filter:
        conditions.insert(0, _glossary(plan.measure.term.filter, index))
    if conditions:
        flat = [
            part for c in conditions for part in (c.flatten() if isinstance(c, exp.And) else [c])
        ]
        select = select.where(exp.and_(*flat, copy=False), copy=False)
    if plan.having is not None and plan.measure is not None:
        op, number = plan.having
        test = _COMPARE[op](this=_measure(plan, index), expression=_number(number))
        select = select.having(test, copy=False)
    if plan.limit is not None:
        select = select.limit(plan.limit, copy=False)
    if plan.outer is not None:
        return _outer(select, plan)
    return select


_COMPARE: dict[str, type[exp.Binary]] = {
    ">": exp.GT, ">=": exp.GTE, "<": exp.LT, "<=": exp.LTE, "=": exp.EQ,
}  # fmt: skip


def _number(number: float) -> exp.Expr:
    return exp.Literal.number(int(number) if number == int(number) else number)


def _outer(inner: exp.Select, plan: Plan) -> exp.Select:
    """One row over the groups: how many there are, or the average of their measures."""
    assert plan.measure is not None and plan.outer is not None
    measure = exp.Column(this=identifier(_measure_name(plan)), table=identifier("per_group"))
    if plan.outer == "count":
        value: exp.Expr = exp.Count(this=exp.Star())
        name = f"{plan.dims[0].name}_count" if plan.dims else "count"
    else:
        functions = {"avg": exp.Avg, "max": exp.Max, "min": exp.Min, "sum": exp.Sum}
        value = functions[plan.outer](this=measure)
        name = f"{plan.outer}_{_measure_name(plan)}"
    return exp.select(exp.alias_(value, identifier(name), copy=False)).from_(
        inner.subquery(alias="per_group", copy=False), copy=False
    )


def _measure_name(plan: Plan) -> str:
    assert plan.measure is not None
    names = [d.name for d in plan.dims]
    return plan.measure.name if plan.measure.name not in names else f"{plan.measure.name}_value"


def _listing(select: exp.Select, plan: Plan, index: SchemaIndex) -> exp.Select:
    table = index.tables[plan.root].table
    select = select.select(*(column(plan.root, c.name) for c in table.columns), copy=False)
    own = {c.name.lower() for c in table.columns}
    for shown in plan.shown:
        facts = index.tables[shown]
        for name in facts.label or tuple(facts.table.primary_key):
            value: exp.Expr = column(shown, name)
            if name.lower() in own:  # two `name` columns: say whose this one is
                value = exp.alias_(value, identifier(f"{facts.singular}_{name}"), copy=False)
            select = select.select(value, copy=False)
    if plan.distinct:
        select = select.distinct(copy=False)
    keys = table.primary_key or [table.columns[0].name]
    by = [exp.Ordered(this=column(plan.root, k), nulls_first=True) for k in keys]
    if plan.sort is not None:
        desc = plan.order == "desc"
        by.insert(0, exp.Ordered(this=column(*plan.sort), desc=desc, nulls_first=not desc))
    return select.order_by(*by, copy=False)


def _aggregate(select: exp.Select, plan: Plan, index: SchemaIndex) -> exp.Select:
    assert plan.measure is not None
    names = [d.name for d in plan.dims]
    measure_name = _measure_name(plan)
    for dim in plan.dims:
        value, keys = _dimension(dim, index)
        select = select.select(exp.alias_(value, identifier(dim.name), copy=False), copy=False)
        select = select.group_by(*keys, copy=False)
    value = _share(plan, index) if plan.share else _measure(plan, index)
    select = select.select(exp.alias_(value, identifier(measure_name), copy=False), copy=False)
    taken = {*names, measure_name}
    for extra in plan.also:
        name = extra.name if extra.name not in taken else f"{extra.name}_{len(taken)}"
        taken.add(name)
        value = _measure(plan, index, extra)
        select = select.select(exp.alias_(value, identifier(name), copy=False), copy=False)
    if plan.outer is not None:
        return select
    by_measure = exp.Column(this=identifier(measure_name))
    # NULLs sort first ascending in both dialects; saying so keeps sqlglot from adding NULLS LAST.
    by_dims = [exp.Ordered(this=exp.Column(this=identifier(n)), nulls_first=True) for n in names]
    if plan.order is not None:
        desc = plan.order == "desc"
        first = exp.Ordered(this=by_measure, desc=desc, nulls_first=not desc)
        return select.order_by(first, *by_dims, copy=False)
    if any(d.kind == "time" for d in plan.dims):
        return select.order_by(*by_dims, copy=False)
    if plan.dims:
        return select.order_by(exp.Ordered(this=by_measure, desc=True), *by_dims, copy=False)
    return select


def _share(plan: Plan, index: SchemaIndex) -> exp.Expr:
    """100 × the part meeting the conditions ÷ the whole; or each group's part of all groups."""
    whole = _measure(plan, index)
    hundred = exp.Literal.number("100.0")
    if not plan.conditions:
        total = exp.Window(this=exp.Sum(this=whole.copy()))
        return exp.Div(this=exp.Mul(this=hundred, expression=whole), expression=total)
    parts = [_condition(f, index) for f in plan.conditions]
    condition = parts[0] if len(parts) == 1 else exp.and_(*parts, copy=False)
    measure = plan.measure
    assert measure is not None
    if measure.aggregate == "count_distinct":
        assert measure.column is not None
        case = exp.Case(ifs=[exp.If(this=condition, true=column(measure.table, measure.column))])
        part: exp.Expr = exp.Count(this=exp.Distinct(expressions=[case]))
    else:
        inner = whole.this if measure.aggregate != "count" else exp.Literal.number(1)
        case = exp.Case(ifs=[exp.If(this=condition, true=inner.copy())])
        part = exp.Sum(this=case.else_(exp.Literal.number(0), copy=False))
    divisor = exp.Nullif(this=whole, expression=exp.Literal.number(0))
    return exp.Div(this=exp.Mul(this=hundred, expression=part), expression=divisor)


def _measure(plan: Plan, index: SchemaIndex, measure: Measure | None = None) -> exp.Expr:
    """The aggregate of `measure`, by default the plan's own."""
    measure = measure or plan.measure
    assert measure is not None
    if measure.aggregate == "count_distinct":
        assert measure.column is not None
        return exp.Count(this=exp.Distinct(expressions=[column(measure.table, measure.column)]))
    if measure.aggregate == "count":
        if not plan.distinct:
            return exp.Count(this=exp.Star())
        keys = index.tables[plan.root].table.primary_key
        if len(keys) != 1:
            raise CannotAnswer(f"{plan.root} has no single primary key to count distinct rows by.")
        return exp.Count(this=exp.Distinct(expressions=[column(plan.root, keys[0])]))
    if measure.value is not None:
        value = measure.value.copy()
    elif measure.term is not None and measure.term.value:
        value = _glossary(measure.term.value, index)
    else:
        assert measure.column is not None
        value = column(measure.table, measure.column)
    functions = {"sum": exp.Sum, "avg": exp.Avg, "min": exp.Min, "max": exp.Max}
    return functions[measure.aggregate](this=value)


def _dimension(dim: Dimension, index: SchemaIndex) -> tuple[exp.Expr, list[exp.Expr]]:
    """What a dimension shows, and what the query groups by for it."""
    if dim.kind == "time":
        assert dim.column is not None and dim.grain is not None
        value = _period(column(dim.table, dim.column), dim.grain, index)
        return value, [value.copy()]
    if dim.kind == "column":
        assert dim.column is not None
        return column(dim.table, dim.column), [column(dim.table, dim.column)]
    facts = index.tables[dim.table]
    keys: list[exp.Expr] = [column(dim.table, k) for k in facts.table.primary_key]
    labels: list[exp.Expr] = [column(dim.table, c) for c in facts.label]
    if not labels and not keys:
        raise CannotAnswer(f"{dim.table} has neither a name column nor a primary key to group by.")
    if len(labels) == 2:
        shown: exp.Expr = exp.DPipe(
            this=exp.DPipe(this=labels[0].copy(), expression=exp.Literal.string(" ")),
            expression=labels[1].copy(),
        )
    else:
        shown = (labels or keys)[0].copy()
    return shown, keys + labels


def _period(date: exp.Column, grain: str, index: SchemaIndex) -> exp.Expr:
    facts = index.tables[date.table]
    if date.name == facts.year_column and date.name != facts.date_column:
        if grain == "year":
            return date
        if grain == "quarter" and facts.quarter_column:
            year_q = exp.DPipe(this=date, expression=exp.Literal.string("-Q"))
            return exp.DPipe(this=year_q, expression=column(date.table, facts.quarter_column))
        raise CannotAnswer(f"{date.table} records only a year ({date.name}), not a {grain}.")
    if grain == "quarter":
        template = _QUARTER.get(index.context.dialect, _QUARTER["sqlite"])
        read = index.context.dialect if index.context.dialect in _QUARTER else "sqlite"
    else:
        template, read = f"STRFTIME('{_FORMATS[grain]}', __date)", "sqlite"
    return _template(template, read).transform(
        lambda node: date.copy() if isinstance(node, exp.Column) else node
    )


@functools.cache
def _template(sql: str, read: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read=read)


def _condition(f: Filter, index: SchemaIndex) -> exp.Expr:
    if f.kind == "term":
        assert f.term is not None and f.term.filter
        condition = _glossary(f.term.filter, index)
        return exp.Not(this=exp.Paren(this=condition)) if f.negated else condition
    if f.kind == "related":
        exists = exp.Exists(this=_related(f, index))
        return exp.Not(this=exists) if f.negated else exists
    target = column(f.table, f.column)
    if f.kind == "span":
        assert f.span is not None
        return exp.and_(
            exp.GTE(this=target.copy(), expression=exp.Literal.string(f.span[0])),
            exp.LT(this=target.copy(), expression=exp.Literal.string(f.span[1])),
        )
    if f.kind == "compare":
        return _COMPARE[f.op](this=target, expression=_number(f.number))
    if f.kind == "empty":
        return exp.Is(this=target, expression=exp.Null())
    if f.kind == "years" and f.months is not None:
        return _months(target, f.years[0], f.months)
    if f.kind == "years":
        return _years(target, f.years, index)
    values = [exp.Literal.string(v) for v in f.values]
    if len(values) == 1:
        test: exp.Expr = exp.EQ(this=target, expression=values[0])
        return exp.NEQ(this=target, expression=values[0]) if f.negated else test
    inside = exp.In(this=target, expressions=values)
    return exp.Not(this=inside) if f.negated else inside


def _related(f: Filter, index: SchemaIndex) -> exp.Select:
    """The rows of `f.other` that refer to the outer row (for NOT EXISTS)."""
    link = exp.EQ(this=column(f.other, f.other_column), expression=column(f.table, f.column))
    conditions = [link, *(_condition(inner, index) for inner in f.inner)]
    related = exp.select(exp.Literal.number(1)).from_(exp.Table(this=identifier(f.other)))
    for edge in f.path:
        on = exp.EQ(
            this=column(edge.table, edge.column), expression=column(edge.other, edge.other_column)
        )
        related = related.join(exp.Table(this=identifier(edge.other)), on=on, copy=False)
    return related.where(exp.and_(*conditions, copy=False), copy=False)


def _years(
    target: exp.Column, years: tuple[int | None, int | None], index: SchemaIndex
) -> exp.Expr:
    """A range on the date (index-friendly, the same in every dialect), or on a year column."""
    first, last = years
    is_year = target.name == index.tables[target.table].year_column
    if is_year and first == last and first is not None:
        return exp.EQ(this=target, expression=exp.Literal.number(first))
    parts: list[exp.Expr] = []
    if first is not None:
        low = exp.Literal.number(first) if is_year else exp.Literal.string(f"{first}-01-01")
        parts.append(exp.GTE(this=target.copy(), expression=low))
    if last is not None:
        if is_year:
            parts.append(exp.LTE(this=target.copy(), expression=exp.Literal.number(last)))
        else:
            high = exp.Literal.string(f"{last + 1}-01-01")
            parts.append(exp.LT(this=target.copy(), expression=high))
    return exp.and_(*parts)


def _months(target: exp.Column, year: int | None, months: tuple[int, int]) -> exp.Expr:
    """A range of months of one year on a date column."""
    assert year is not None, "shape asks for exactly one year with a month"
    first, last = months
    end = f"{year + 1}-01-01" if last == 12 else f"{year}-{last + 1:02d}-01"
    return exp.and_(
        exp.GTE(this=target.copy(), expression=exp.Literal.string(f"{year}-{first:02d}-01")),
        exp.LT(this=target.copy(), expression=exp.Literal.string(end)),
    )


def _glossary(text: str, index: SchemaIndex) -> exp.Expr:
    """A glossary expression, read in the glossary's own dialect."""
    return index.expression(text)
