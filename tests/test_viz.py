"""The viz agent's chart rules, on result shapes the retail sample really produces.

Every spec is also drawn: vl-convert renders it to SVG under Vega-Lite 5 and 6 (the marks must
be there), and Altair validates it, the way the kernel binds the rows to the named source.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import altair as alt
import pytest
import vl_convert
from nlsql_server import pipeline, protocol, rpc
from nlsql_server.agents import viz
from nlsql_server.services import Services
from nlsql_server.settings import Settings

TOP_CUSTOMERS = "Show me the top 5 customers by total purchase amount"
AOV_PER_MONTH = "What is the average order value per month for 2024?"
NEVER_ORDERED = "customers who never ordered"
CANCELLED = "how many orders were cancelled"
VL_VERSIONS = ("5.20", "6.4")


@pytest.fixture(scope="module")
def services(data_dir: Path) -> Iterator[Services]:
    built = Services.from_settings(Settings(data_dir=data_dir))
    yield built
    built.close()


def ask(services: Services, question: str, **kwargs: Any) -> dict[str, Any]:
    return asyncio.run(pipeline.ask(services, question, database="retail", **kwargs))


def choose(columns: list[str], rows: list[list[Any]], **kwargs: Any) -> dict[str, Any] | None:
    return viz.choose_chart(columns, viz.column_kinds(columns, rows), rows, **kwargs)


def records(columns: list[str], rows: list[list[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row)) for row in rows]


def inline(chart: dict[str, Any], columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    """The spec with the rows in it instead of the named source."""
    return copy.deepcopy(chart["spec"]) | {"data": {"values": records(columns, rows)}}


def drawn(chart: dict[str, Any], columns: list[str], rows: list[list[Any]], mark: str) -> list[str]:
    """The `mark` elements in the SVG of the spec with the rows inlined, the same in v5 and v6.

    Altair must accept the spec too, with the rows bound to its named source as the kernel does.
    """
    assert chart["spec"]["data"] == {"name": "result"} and "$schema" not in chart["spec"]
    spec = inline(chart, columns, rows)
    pattern = re.compile(rf'<path [^>]*aria-roledescription="{mark}(?: mark)?"[^>]*>')
    found = [
        pattern.findall(vl_convert.vegalite_to_svg(spec, vl_version=version))
        for version in VL_VERSIONS
    ]
    assert [len(f) for f in found] == [len(found[0])] * len(found), "v5 and v6 draw differently"
    bound = copy.deepcopy(chart["spec"]) | {"datasets": {"result": records(columns, rows)}}
    alt.Chart.from_dict(bound)  # validates against Altair's schema, raising when it does not
    return found[0]


def label(element: str) -> str:
    found = re.search(r'aria-label="([^"]*)"', element)
    return found.group(1) if found else ""


def enc(chart: dict[str, Any], channel: str) -> dict[str, Any]:
    return chart["spec"]["encoding"][channel]


def tooltip(chart: dict[str, Any], field: str) -> dict[str, Any]:
    entries: list[dict[str, Any]] = chart["spec"]["encoding"]["tooltip"]
    [entry] = [t for t in entries if t["field"] == field]
    return entry


# -- time + measure: a line ---------------------------------------------------------------


def test_months_are_a_line_on_a_temporal_month_axis(services):
    answer = ask(services, AOV_PER_MONTH)
    chart = answer["chart"]
    assert chart["kind"] == "line" and chart["x"] == "month"
    x = enc(chart, "x")
    assert x["type"] == "temporal" and "month" in x["timeUnit"]
    assert x["axis"]["format"] == "%b %Y" and tooltip(chart, "month")["format"] == "%b %Y"
    assert len(drawn(chart, answer["columns"], answer["rows"], "line")) == 1


def test_months_stay_in_their_month_west_of_greenwich():
    columns, rows = ["month", "revenue"], [["2024-01", 10.0], ["2024-02", 12.0]]
    chart = choose(columns, rows)
    assert chart is not None
    script = (
        "import json, sys, vl_convert\n"
        "print(vl_convert.vegalite_to_svg(json.load(sys.stdin), vl_version=sys.argv[1]))"
    )
    for version in VL_VERSIONS:
        svg = subprocess.run(
            [sys.executable, "-c", script, version],
            input=json.dumps(inline(chart, columns, rows)),
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"TZ": "America/Los_Angeles"},
        ).stdout
        assert "Month: Jan 2024; Revenue: $10" in svg and "Dec 2023" not in svg, version


def test_quarter_labels_stay_ordinal(services):
    answer = ask(services, "revenue per quarter")
    chart = answer["chart"]
    assert chart["kind"] == "line" and enc(chart, "x")["type"] == "ordinal"
    drawn(chart, answer["columns"], answer["rows"], "line")


def test_days_are_temporal_and_drawn_in_time_order_whatever_the_row_order():
    rows = [[f"2024-03-{d:02d}", 100.0 + d] for d in (9, 3, 1, 7, 5)]
    chart = choose(["day", "order_count"], rows)
    assert chart is not None and chart["kind"] == "line"
    assert (
        enc(chart, "x")["type"] == "temporal" and enc(chart, "x")["axis"]["format"] == "%b %d, %Y"
    )
    [line] = drawn(chart, ["day", "order_count"], rows, "line")
    path = re.search(r' d="M([^"]+)"', line)
    assert path is not None
    xs = [float(p.split(",")[0]) for p in re.split(r"[ML]", path.group(1)) if p]
    assert len(xs) == 5 and xs == sorted(xs)


# -- category + measure: a bar ------------------------------------------------------------


def test_top_customers_are_bars_sorted_by_value_with_money_formats(services):
    answer = ask(services, TOP_CUSTOMERS)
    chart = answer["chart"]
    assert chart["kind"] == "bar" and chart["title"] == TOP_CUSTOMERS
    assert chart["spec"]["title"] == TOP_CUSTOMERS
    category, value = enc(chart, "y"), enc(chart, "x")  # long names: horizontal bars
    assert category["field"] == "customer"
    assert category["sort"] == {
        "field": "total_purchase_amount",
        "op": "sum",
        "order": "descending",
    }
    assert value["title"] == "Total purchase amount" and value["axis"]["format"] == "$~s"
    assert tooltip(chart, "total_purchase_amount")["format"] == "$,.2f"
    assert "note" not in chart
    assert len(drawn(chart, answer["columns"], answer["rows"], "bar")) == 5


def test_many_categories_keep_the_top_30_bars_and_say_so(services):
    answer = ask(services, "revenue by product")
    assert answer["row_count"] > 30
    chart = answer["chart"]
    assert chart is not None and chart["kind"] == "bar"
    assert chart["note"].startswith(f"Showing the top 30 of {answer['row_count']} ")
    assert enc(chart, "y")["field"] == "product"  # many bars: horizontal
    bars = drawn(chart, answer["columns"], answer["rows"], "bar")
    top = sorted(answer["rows"], key=lambda row: row[1], reverse=True)[:30]
    named = {p for b in bars for p in label(b).split("; ") if p.startswith("Product: ")}
    assert named == {f"Product: {r[0]}" for r in top}
    assert len(bars) == 30


def test_short_labels_stand_up_and_few_long_ones_lie_down():
    statuses = [["delivered", 52373], ["returned", 3269], ["cancelled", 2431]]
    chart = choose(["status", "order_count"], statuses)
    assert chart is not None and enc(chart, "x")["field"] == "status"
    assert enc(chart, "y")["axis"]["format"] == ",d"
    names = [["Nordhem Milan Sofa", 3.0], ["Voltra Go Laptop", 2.0]]
    chart = choose(["product", "units"], names)
    assert chart is not None and enc(chart, "y")["field"] == "product"


def test_two_categories_colour_the_bars_and_cut_by_category_total():
    rows = [[f"product {p:02d}", region, float(p * 10 + r)] for p in range(40)
            for r, region in enumerate(["Europe", "Asia"])]  # fmt: skip
    chart = choose(["product", "region", "revenue"], rows)
    assert chart is not None and chart["kind"] == "bar" and chart["color"] == "region"
    assert chart["note"].startswith("Showing the top 30 of 40 ")
    bars = drawn(chart, ["product", "region", "revenue"], rows, "bar")
    assert len(bars) == 60 and not any("product 09" in label(b) for b in bars)


# -- a share of a whole: an arc -----------------------------------------------------------


def test_share_of_a_few_parts_is_an_arc(services):
    answer = ask(services, "share of revenue by region")
    chart = answer["chart"]
    assert chart["kind"] == "arc" and enc(chart, "color")["field"] == "region"
    assert tooltip(chart, "revenue")["format"] == ".1f"  # they add up to 100: percentages
    assert len(drawn(chart, answer["columns"], answer["rows"], "arc")) == 4


def test_a_percentage_measure_in_0_to_1_formats_as_percent():
    rows = [["Consumer", 0.5], ["Corporate", 0.3], ["Home Office", 0.2]]
    chart = choose(["segment", "pct_of_orders"], rows, title="orders by segment")
    assert chart is not None and chart["kind"] == "arc"
    assert tooltip(chart, "pct_of_orders")["format"] == ".1%"


@pytest.mark.parametrize(
    "rows",
    [
        [[f"region {i}", 1.0] for i in range(7)],  # too many parts
        [["Europe", 5.0], ["Asia", -2.0]],  # a negative part
    ],
)
def test_shares_that_a_pie_cannot_show_are_bars(rows):
    chart = choose(["region", "revenue"], rows, title="revenue breakdown by region")
    assert chart is not None and chart["kind"] == "bar"


# -- two measures: a scatter --------------------------------------------------------------


def test_two_measures_are_a_scatter():
    rows = [[i * 1.5, 100 + i * 3.0] for i in range(20)]
    chart = choose(["unit_price", "units_sold"], rows)
    assert chart is not None and chart["kind"] == "point"
    assert enc(chart, "x")["axis"]["format"] == "$~s"
    assert len(drawn(chart, ["unit_price", "units_sold"], rows, "point")) == 20


# -- one value: a big number, no chart ----------------------------------------------------


def test_one_count_is_a_big_number(services):
    answer = ask(services, CANCELLED)
    assert answer["chart"] == {
        "kind": "value",
        "x": None,
        "y": "order_count",
        "color": None,
        "title": CANCELLED,
        "spec": None,
        "format": ",d",
        "value": answer["rows"][0][0],
    }


def test_one_row_is_a_big_number_of_its_measure(services):
    chart = ask(services, "total revenue")["chart"]
    assert chart["kind"] == "value" and chart["format"] == "$,.2f"
    chart = choose(["region", "revenue"], [["North America", 1234.5]])
    assert chart is not None and chart["kind"] == "value"
    assert (chart["x"], chart["y"], chart["value"]) == ("region", "revenue", 1234.5)


# -- tables: no measure, listings, too many rows ------------------------------------------


def test_customers_who_never_ordered_is_a_table(services):
    answer = ask(services, NEVER_ORDERED)
    assert answer["row_count"] > 100 and answer["chart"] is None


def test_a_listing_of_entities_is_a_table():
    rows = [
        [i, f"Name{i % 50}", 1 + i % 4, f"202{i % 5}-0{1 + i % 9}-1{i % 10}"] for i in range(811)
    ]
    assert choose(["customer_id", "first_name", "region_id", "signup_date"], rows) is None
    products = [[i, f"Product {i}", i % 8, 10.0 + i, 6.0 + i] for i in range(40)]
    assert (
        choose(["product_id", "product_name", "category_id", "unit_price", "unit_cost"], products)
        is None
    )


@pytest.mark.parametrize("name", ["id", "order_id", "CustomerID", "region_key", "invoice_no"])
def test_keys_are_never_measures(name):
    rows = [[f"2024-0{m}", m * 7] for m in range(1, 10)]
    assert choose(["month", name], rows) is None
    assert choose(["segment", name], [["a", 1], ["b", 2]]) is None


def test_a_key_can_still_label_bars():
    chart = choose(["customer_id", "order_count"], [[7, 12], [3, 9], [11, 4]])
    assert chart is not None and chart["kind"] == "bar" and chart["x"] == "customer_id"
    assert enc(chart, "x")["type"] == "nominal"


@pytest.mark.parametrize(
    ("columns", "rows"),
    [
        (["first_name", "city"], [["Ann", "Oslo"], ["Bo", "Rome"]]),
        (["day", "revenue"], [[f"2024-01-{1 + i % 28:02d}", float(i)] for i in range(6000)]),
        (["segment", "revenue"], []),
    ],
)
def test_no_measure_too_many_rows_or_none_is_a_table(columns, rows):
    assert choose(columns, rows) is None


# -- titles, tooltips, formats ------------------------------------------------------------

SHAPES: dict[str, tuple[list[str], list[list[Any]], str]] = {
    "line": (
        ["month", "revenue"],
        [["2024-01", 10.0], ["2024-02", 12.0], ["2024-03", 9.0]],
        "line",
    ),
    "bar": (["status", "order_count"], [["delivered", 9], ["returned", 3]], "bar"),
    "arc": (["region", "share_of_orders"], [["Europe", 0.6], ["Asia", 0.4]], "arc"),
    "point": (["discount", "units_sold"], [[0.1, 3.0], [0.2, 5.0], [0.0, 2.0]], "point"),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_chart_has_a_title_readable_axes_and_tooltips(shape):
    columns, rows, mark = SHAPES[shape]
    chart = choose(columns, rows, title="My question?")
    assert chart is not None and chart["kind"] == shape
    spec = chart["spec"]
    assert spec["title"] == "My question?" and isinstance(spec["width"], int)
    assert isinstance(spec["height"], int)
    titles = {t["field"]: t["title"] for t in spec["encoding"]["tooltip"]}
    assert set(titles) == set(columns)
    assert all(title[0].isupper() and "_" not in title for title in titles.values())
    assert drawn(chart, columns, rows, mark)


def test_glossary_money_measures_get_money_formats(services):
    chart = ask(services, AOV_PER_MONTH)["chart"]
    assert tooltip(chart, "average_order_value")["format"] == "$,.2f"
    rows = [["a", 1.0], ["b", 2.0]]
    plain = choose(["segment", "aov"], rows)
    money = choose(["segment", "aov"], rows, money_columns={"aov"})
    assert plain is not None and tooltip(plain, "aov")["format"] == ",.2f"
    assert money is not None and tooltip(money, "aov")["format"] == "$,.2f"


def test_days_to_pay_are_not_money(services):
    money = viz.money_columns(services.registry.glossary("finance"))
    assert {"revenue", "budget", "expenses"} <= money and "days_to_pay" not in money


# -- the override -------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bar", "line", "area", "point", "arc"])
def test_a_forced_kind_draws_that_mark(kind):
    columns, rows = ["status", "order_count"], [["delivered", 9], ["returned", 3], ["lost", 1]]
    chart = choose(columns, rows, kind=kind)
    assert chart is not None and chart["kind"] == kind
    assert chart["spec"]["mark"]["type"] == kind
    assert drawn(chart, columns, rows, kind)


def test_a_forced_kind_that_cannot_be_drawn_is_no_chart():
    assert choose(["status", "order_count"], [["a", 1], ["b", 2]], kind="none") is None
    assert choose(["first_name", "city"], [["Ann", "Oslo"], ["Bo", "Rome"]], kind="bar") is None
    assert choose(["region", "revenue"], [["Europe", 5.0], ["Asia", -2.0]], kind="arc") is None


def test_the_ask_method_takes_a_chart_param(services):
    async def nowhere(message: dict[str, Any]) -> None:
        return None

    def call(params: dict[str, Any]) -> dict[str, Any]:
        message = {"jsonrpc": "2.0", "id": 1, "method": protocol.ASK, "params": params}
        response = asyncio.run(rpc.dispatch(services, message, nowhere))
        assert response is not None
        return response

    answer = call({"question": TOP_CUSTOMERS, "database": "retail", "chart": "line"})["result"]
    assert answer["chart"]["kind"] == "line"
    answer = call({"question": TOP_CUSTOMERS, "database": "retail", "chart": "none"})["result"]
    assert answer["chart"] is None and answer["row_count"] == 5
    error = call({"question": TOP_CUSTOMERS, "database": "retail", "chart": "pie"})["error"]
    assert error["code"] == protocol.INVALID_PARAMS and error["data"]["code"] == "invalid_params"
    assert "bar" in error["message"] and "'pie'" in error["message"]


# -- cost ---------------------------------------------------------------------------------


def test_the_decision_stays_cheap_on_a_full_result():
    rows = [
        [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}", f"product {i % 300}", float(i)]
        for i in range(5000)
    ]
    columns = ["day", "product", "revenue"]
    kinds = viz.column_kinds(columns, rows)
    started = time.perf_counter()
    for _ in range(10):
        viz.choose_chart(columns, kinds, rows, title="revenue by day and product")
    assert (time.perf_counter() - started) / 10 < 0.05
