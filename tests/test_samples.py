"""The sample databases: the spec's tables, vocabularies and invariants, determinism, the glossaries
running on the data, and `ensure_sample`'s versioned, race-safe build."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from nlsql_server.exceptions import UnknownDatabase
from nlsql_server.glossary import Glossary, Term
from nlsql_server.samples import (
    SAMPLE_NAMES,
    ensure_sample,
    finance,
    glossary_path,
    retail,
    sample_description,
)
from sqlglot import exp

GENERATORS = {"retail": retail, "finance": finance}
END = "2025-12-31"


def _open(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[sqlite3.Connection]:
    path = tmp_path_factory.mktemp(name) / f"{name}.sqlite"
    GENERATORS[name].generate(path)
    with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
        yield conn


@pytest.fixture(scope="module")
def retail_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    yield from _open(tmp_path_factory, "retail")


@pytest.fixture(scope="module")
def finance_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sqlite3.Connection]:
    yield from _open(tmp_path_factory, "finance")


@pytest.fixture(params=SAMPLE_NAMES)
def sample(request: pytest.FixtureRequest) -> tuple[str, sqlite3.Connection]:
    return request.param, request.getfixturevalue(f"{request.param}_db")


def one(conn: sqlite3.Connection, sql: str) -> Any:
    return conn.execute(sql).fetchone()[0]


def column(conn: sqlite3.Connection, sql: str) -> set[object]:
    return {row[0] for row in conn.execute(sql)}


def tables(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")
    ]


def foreign_keys(conn: sqlite3.Connection, table: str) -> set[tuple[str, str, str]]:
    """(column, referenced table, referenced column) of each declared foreign key."""
    return {(r[3], r[2], r[4]) for r in conn.execute(f"PRAGMA foreign_key_list({table})")}


def unique_keys(conn: sqlite3.Connection, table: str) -> set[tuple[str, ...]]:
    """The column lists of the table's unique indexes (UNIQUE constraints included)."""
    return {
        tuple(c[2] for c in conn.execute(f"PRAGMA index_info({ix[1]})"))
        for ix in conn.execute(f"PRAGMA index_list({table})")
        if ix[2]
    }


def content_hash(conn: sqlite3.Connection) -> str:
    """Schema plus every row in primary-key order: equal hashes mean equal databases."""
    digest = hashlib.sha256()
    for (sql,) in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"):
        digest.update(sql.encode())
    for table in tables(conn):
        pk = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[5]]
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY {', '.join(pk)}"):
            digest.update(repr(row).encode())
    return digest.hexdigest()


# --- both samples -------------------------------------------------------------------------------


def test_registry() -> None:
    assert SAMPLE_NAMES == ("retail", "finance")
    for name in SAMPLE_NAMES:
        assert sample_description(name)
        assert glossary_path(name).is_file()
        assert glossary_path(name).parent == Path(retail.__file__).parent


def test_unknown_sample_lists_the_samples(tmp_path: Path) -> None:
    for call in (
        lambda: ensure_sample("nope", tmp_path),
        lambda: glossary_path("nope"),
        lambda: sample_description("nope"),
    ):
        with pytest.raises(UnknownDatabase) as caught:
            call()
        assert caught.value.data["databases"] == ["retail", "finance"]
        assert "retail" in caught.value.message
    assert not list(tmp_path.iterdir())


def test_keys_are_declared_and_hold(sample: tuple[str, sqlite3.Connection]) -> None:
    _, conn = sample
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    for table in tables(conn):
        singular = "category" if table == "categories" else table.removesuffix("s")
        assert [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[5]] == [
            f"{singular}_id"
        ]
        indexed = {
            conn.execute(f"PRAGMA index_info({ix[1]})").fetchone()[2]
            for ix in conn.execute(f"PRAGMA index_list({table})")
        }
        for fk in conn.execute(f"PRAGMA foreign_key_list({table})"):
            assert fk[3] in indexed, f"{table}.{fk[3]} has no index"


def test_values_are_typed_money_has_cents_dates_are_iso(
    sample: tuple[str, sqlite3.Connection],
) -> None:
    _, conn = sample
    for table in tables(conn):
        for _, name, declared, *_ in conn.execute(f"PRAGMA table_info({table})"):
            assert declared in ("INTEGER", "TEXT", "REAL", "DATE"), (table, name, declared)
            if declared == "DATE":
                bad = f"SELECT COUNT(*) FROM {table} WHERE {name} IS NOT date({name})"
                assert one(conn, bad) == 0, f"{table}.{name} holds a non-ISO date"
            if declared == "REAL":
                bad = f"SELECT COUNT(*) FROM {table} WHERE ABS({name} * 100 - ROUND({name} * 100)) > 1e-6"
                assert one(conn, bad) == 0, f"{table}.{name} has more than 2 decimals"
            expected = {"INTEGER": "integer", "TEXT": "text", "REAL": "real", "DATE": "text"}[
                declared
            ]
            types = column(conn, f"SELECT DISTINCT typeof({name}) FROM {table}") - {"null"}
            assert types == {expected}, (table, name, types)


def test_generation_is_deterministic(
    sample: tuple[str, sqlite3.Connection], tmp_path: Path
) -> None:
    name, conn = sample
    again = tmp_path / "again.sqlite"
    GENERATORS[name].generate(again)
    with closing(sqlite3.connect(again)) as other:
        assert content_hash(other) == content_hash(conn)
        assert one(other, "PRAGMA user_version") == GENERATORS[name].VERSION


# --- the glossaries run on the data -------------------------------------------------------------


def _joined(conn: sqlite3.Connection, names: tuple[str, ...]) -> str:
    """`a JOIN b ON …` over the term's tables, following the declared foreign keys."""
    sql, done = names[0], [names[0]]
    for table in names[1:]:
        on = next(
            f"{a}.{fk[3]} = {b}.{fk[4]}"
            for other in done
            for a, b in ((table, other), (other, table))
            for fk in conn.execute(f"PRAGMA foreign_key_list({a})")
            if fk[2] == b
        )
        sql, done = f"{sql} JOIN {table} ON {on}", [*done, table]
    return sql


def _query(conn: sqlite3.Connection, term: Term) -> str:
    """A MySQL query using the term, grouped by the year of its date column when it has one.

    DATE_FORMAT, not YEAR(): sqlglot 30 leaves YEAR/MONTH/EXTRACT untranslated for SQLite.
    """
    where = f" WHERE {term.filter}" if term.filter else ""
    value = f"{term.aggregate}({term.value})" if term.kind == "measure" else "COUNT(*)"
    if term.date_column:
        year = f"DATE_FORMAT({term.date_column}, '%Y')"
        return (
            f"SELECT {year} AS y, {value} FROM {_joined(conn, term.tables)}"
            f"{where} GROUP BY y ORDER BY y"
        )
    return f"SELECT 0 AS y, {value} FROM {_joined(conn, term.tables)}{where}"


def test_glossary_terms_run_on_the_sample(sample: tuple[str, sqlite3.Connection]) -> None:
    name, conn = sample
    glossary = Glossary.load(glossary_path(name))
    assert glossary.dialect == "mysql" and glossary.terms
    for term in glossary.terms:
        for expression in filter(None, (term.value, term.filter, term.date_column)):
            parsed = sqlglot.parse_one(expression, read="mysql")
            for col in parsed.find_all(exp.Column):
                assert col.table in term.tables, f"{term.names[0]}: {col.sql()} not in tables"
                assert conn.execute(f"SELECT {col.name} FROM {col.table} LIMIT 0").description
        sql = sqlglot.transpile(_query(conn, term), read="mysql", write="sqlite")[0]
        rows = conn.execute(sql).fetchall()
        assert rows and all(value is not None and value > 0 for _, value in rows), (term.names, sql)
        if term.date_column:
            assert {int(y) for y, _ in rows} <= {2022, 2023, 2024, 2025}


def _measure(conn: sqlite3.Connection, name: str, term_name: str) -> float:
    term = next(t for t in Glossary.load(glossary_path(name)).terms if term_name in t.names)
    return conn.execute(
        sqlglot.transpile(
            f"SELECT {term.aggregate}({term.value}) FROM {_joined(conn, term.tables)}"
            + (f" WHERE {term.filter}" if term.filter else ""),
            read="mysql",
            write="sqlite",
        )[0]
    ).fetchone()[0]


def test_glossary_values_are_plausible(
    retail_db: sqlite3.Connection, finance_db: sqlite3.Connection
) -> None:
    assert 0 < _measure(retail_db, "retail", "revenue") < _measure(retail_db, "retail", "spend")
    assert (
        0 < _measure(retail_db, "retail", "gross profit") < _measure(retail_db, "retail", "revenue")
    )
    assert 30 < _measure(retail_db, "retail", "aov") < 5_000
    assert _measure(retail_db, "retail", "new customers") == 5_000
    assert 10 < _measure(finance_db, "finance", "days to pay") < 90
    assert (
        0 < _measure(finance_db, "finance", "expenses") < _measure(finance_db, "finance", "revenue")
    )


# --- retail -------------------------------------------------------------------------------------

RETAIL_COUNTRIES = {
    "North America": {"United States", "Canada"},
    "Europe": {"Germany", "France", "United Kingdom", "Spain", "Italy"},
    "Asia Pacific": {"Japan", "Australia", "India", "Singapore"},
    "Latin America": {"Mexico", "Brazil", "Argentina", "Chile"},
}
RETAIL_FKS = {
    "customers": {("region_id", "regions", "region_id")},
    "products": {("category_id", "categories", "category_id")},
    "employees": {
        ("region_id", "regions", "region_id"),
        ("manager_id", "employees", "employee_id"),
    },
    "orders": {
        ("customer_id", "customers", "customer_id"),
        ("employee_id", "employees", "employee_id"),
    },
    "order_items": {("order_id", "orders", "order_id"), ("product_id", "products", "product_id")},
    "payments": {("order_id", "orders", "order_id")},
}


def test_retail_tables_and_row_counts(retail_db: sqlite3.Connection) -> None:
    counts = {t: one(retail_db, f"SELECT COUNT(*) FROM {t}") for t in tables(retail_db)}
    assert counts.keys() == {
        "regions",
        "customers",
        "categories",
        "products",
        "employees",
        "orders",
        "order_items",
        "payments",
    }
    assert (counts["regions"], counts["customers"], counts["categories"]) == (4, 5_000, 8)
    assert (counts["products"], counts["employees"]) == (300, 40)
    assert 55_000 <= counts["orders"] <= 65_000
    assert 160_000 <= counts["order_items"] <= 200_000


def test_retail_declared_foreign_keys_and_unique_columns(retail_db: sqlite3.Connection) -> None:
    for table in tables(retail_db):
        assert foreign_keys(retail_db, table) == RETAIL_FKS.get(table, set()), table
    assert ("email",) in unique_keys(retail_db, "customers")
    assert ("product_name",) in unique_keys(retail_db, "products")
    date_columns = {r[1] for r in retail_db.execute("PRAGMA table_info(orders)") if r[2] == "DATE"}
    assert date_columns == {"order_date"}


def test_retail_vocabularies(retail_db: sqlite3.Connection) -> None:
    q = lambda sql: column(retail_db, sql)  # noqa: E731
    assert q("SELECT region_name FROM regions") == set(RETAIL_COUNTRIES)
    assert q("SELECT category_name FROM categories") == {
        "Electronics",
        "Furniture",
        "Office Supplies",
        "Clothing",
        "Books",
        "Toys",
        "Sports",
        "Grocery",
    }
    assert q("SELECT segment FROM customers") == {"Consumer", "Corporate", "Small Business"}
    assert q("SELECT title FROM employees") == {
        "Sales Representative",
        "Senior Sales Representative",
        "Sales Manager",
        "Regional Director",
    }
    assert q("SELECT status FROM orders") == {
        "pending",
        "shipped",
        "delivered",
        "cancelled",
        "returned",
    }
    assert q("SELECT channel FROM orders") == {"online", "store", "phone"}
    assert q("SELECT method FROM payments") == {"card", "paypal", "bank_transfer", "cash"}
    assert q("SELECT discontinued FROM products") == {0, 1}
    pairs = retail_db.execute(
        "SELECT DISTINCT region_name, country FROM customers JOIN regions USING (region_id)"
    ).fetchall()
    assert {(r, c) for r, countries in RETAIL_COUNTRIES.items() for c in countries} == set(pairs)


def test_retail_order_total_is_the_sum_of_its_items(retail_db: sqlite3.Connection) -> None:
    mismatches = one(
        retail_db,
        """
        SELECT COUNT(*) FROM orders o JOIN (
            SELECT order_id, ROUND(SUM(quantity * unit_price * (1 - discount)), 2) AS total
            FROM order_items GROUP BY order_id
        ) i USING (order_id)
        WHERE ABS(o.total_amount - i.total) > 0.005""",
    )
    assert mismatches == 0
    assert (
        one(
            retail_db,
            "SELECT COUNT(*) FROM orders WHERE order_id NOT IN (SELECT order_id FROM order_items)",
        )
        == 0
    )


def test_retail_items(retail_db: sqlite3.Connection) -> None:
    assert one(retail_db, "SELECT MIN(quantity) FROM order_items") == 1
    assert one(retail_db, "SELECT MIN(discount) = 0 AND MAX(discount) <= 0.3 FROM order_items") == 1
    assert one(retail_db, "SELECT AVG(discount = 0) FROM order_items") > 0.6
    assert (
        one(
            retail_db,
            "SELECT COUNT(*) FROM order_items i JOIN orders o USING (order_id) "
            "JOIN products p USING (product_id) WHERE o.order_date < p.launched_on",
        )
        == 0
    )
    assert (
        one(
            retail_db,
            "SELECT COUNT(*) FROM products WHERE unit_cost >= unit_price OR unit_cost <= 0",
        )
        == 0
    )
    assert (
        one(
            retail_db,
            "SELECT COUNT(*) FROM (SELECT order_id, product_id FROM order_items "
            "GROUP BY 1, 2 HAVING COUNT(*) > 1)",
        )
        == 0
    )


def test_retail_some_customers_never_order_and_some_products_never_sell(
    retail_db: sqlite3.Connection,
) -> None:
    idle = one(
        retail_db,
        "SELECT COUNT(*) FROM customers WHERE customer_id NOT IN (SELECT customer_id FROM orders)",
    )
    unsold = one(
        retail_db,
        "SELECT COUNT(*) FROM products WHERE product_id NOT IN "
        "(SELECT product_id FROM order_items)",
    )
    assert idle >= 0.05 * 5_000
    assert unsold >= 0.03 * 300


def test_retail_spend_is_skewed(retail_db: sqlite3.Connection) -> None:
    spend = [
        r[0]
        for r in retail_db.execute(
            "SELECT SUM(total_amount) FROM orders GROUP BY customer_id ORDER BY 1 DESC"
        )
    ]
    assert sum(spend[: len(spend) // 10]) > 0.3 * sum(spend)


def test_retail_one_payment_per_settled_order(retail_db: sqlite3.Connection) -> None:
    wrong = one(
        retail_db,
        """
        SELECT COUNT(*) FROM orders o
        WHERE (SELECT COUNT(*) FROM payments p WHERE p.order_id = o.order_id)
              != CASE WHEN o.status IN ('pending', 'cancelled') THEN 0 ELSE 1 END""",
    )
    assert wrong == 0
    assert (
        one(
            retail_db,
            "SELECT COUNT(*) FROM payments p JOIN orders o USING (order_id) "
            "WHERE p.amount != o.total_amount OR p.paid_on < o.order_date "
            f"OR p.paid_on > '{END}'",
        )
        == 0
    )
    assert (
        one(
            retail_db,
            "SELECT COUNT(*) FROM payments p JOIN orders o USING (order_id) "
            "WHERE p.method = 'cash' AND o.channel != 'store'",
        )
        == 0
    )


def test_retail_dates(retail_db: sqlite3.Connection) -> None:
    assert retail_db.execute("SELECT MIN(order_date), MAX(order_date) FROM orders").fetchone() == (
        "2023-01-01",
        END,
    )
    low, high = retail_db.execute(
        "SELECT MIN(signup_date), MAX(signup_date) FROM customers"
    ).fetchone()
    assert "2022-01-01" <= low < "2022-02-01" and "2025-12-01" <= high <= END
    assert (
        one(
            retail_db,
            "SELECT COUNT(*) FROM orders o JOIN customers c USING (customer_id) "
            "WHERE o.order_date < c.signup_date",
        )
        == 0
    )
    assert (
        one(retail_db, "SELECT MIN(order_date) FROM orders WHERE status = 'pending'")
        >= "2025-10-01"
    )
    by_month = dict(
        retail_db.execute(
            "SELECT substr(order_date, 6, 2), COUNT(*) FROM orders GROUP BY 1"
        ).fetchall()
    )
    assert by_month["12"] > 1.3 * by_month["02"]  # the holiday season sells


def test_retail_staff(retail_db: sqlite3.Connection) -> None:
    rows = retail_db.execute("""
        SELECT e.title, e.region_id, m.title, m.region_id
        FROM employees e LEFT JOIN employees m ON m.employee_id = e.manager_id""").fetchall()
    reports_to = {
        "Regional Director": None,
        "Sales Manager": "Regional Director",
        "Senior Sales Representative": "Sales Manager",
        "Sales Representative": "Sales Manager",
    }
    for title, region, boss_title, boss_region in rows:
        assert boss_title == reports_to[title]
        assert boss_region in (None, region)
    assert one(retail_db, "SELECT COUNT(*) FROM employees WHERE title = 'Regional Director'") == 4
    assert (
        one(
            retail_db,
            "SELECT COUNT(DISTINCT region_id) FROM employees WHERE title = 'Regional Director'",
        )
        == 4
    )


def test_retail_orders_are_taken_by_staff_of_the_customers_region(
    retail_db: sqlite3.Connection,
) -> None:
    assert (
        one(
            retail_db,
            "SELECT COUNT(*) FROM orders WHERE (channel = 'online') != (employee_id IS NULL)",
        )
        == 0
    )
    assert (
        one(
            retail_db,
            "SELECT COUNT(*) FROM orders o JOIN customers c USING (customer_id) "
            "JOIN employees e USING (employee_id) "
            "WHERE e.region_id != c.region_id OR e.hire_date > o.order_date",
        )
        == 0
    )


# --- finance ------------------------------------------------------------------------------------


def test_finance_tables_and_row_counts(finance_db: sqlite3.Connection) -> None:
    counts = {t: one(finance_db, f"SELECT COUNT(*) FROM {t}") for t in tables(finance_db)}
    assert counts.keys() == {
        "departments",
        "accounts",
        "vendors",
        "transactions",
        "budgets",
        "invoices",
    }
    assert (counts["departments"], counts["accounts"], counts["vendors"]) == (6, 60, 150)
    assert 45_000 <= counts["transactions"] <= 55_000
    assert 7_500 <= counts["invoices"] <= 8_500
    assert counts["budgets"] == 6 * 3 * 4


def test_finance_declared_foreign_keys_and_unique_columns(finance_db: sqlite3.Connection) -> None:
    expected = {
        "accounts": {("department_id", "departments", "department_id")},
        "transactions": {
            ("account_id", "accounts", "account_id"),
            ("vendor_id", "vendors", "vendor_id"),
        },
        "budgets": {("department_id", "departments", "department_id")},
        "invoices": {("vendor_id", "vendors", "vendor_id")},
    }
    for table in tables(finance_db):
        assert foreign_keys(finance_db, table) == expected.get(table, set()), table
    assert ("account_code",) in unique_keys(finance_db, "accounts")
    assert ("vendor_name",) in unique_keys(finance_db, "vendors")
    assert ("department_id", "fiscal_year", "fiscal_quarter") in unique_keys(finance_db, "budgets")


def test_finance_vocabularies(finance_db: sqlite3.Connection) -> None:
    q = lambda sql: column(finance_db, sql)  # noqa: E731
    assert q("SELECT department_name FROM departments") == {
        "Sales",
        "Marketing",
        "Engineering",
        "Operations",
        "Finance",
        "Human Resources",
    }
    assert q("SELECT account_type FROM accounts") == {
        "asset",
        "liability",
        "equity",
        "revenue",
        "expense",
    }
    assert q("SELECT status FROM invoices") == {"open", "paid", "overdue", "void"}
    assert q("SELECT country FROM vendors") >= {"United States", "Germany", "India", "Brazil"}
    assert None in q("SELECT department_id FROM accounts")


def test_finance_transactions(finance_db: sqlite3.Connection) -> None:
    assert finance_db.execute(
        "SELECT MIN(posted_on) >= '2023-01-01', MAX(posted_on) <= ?, "
        "MIN(amount) > 0 FROM transactions",
        (END,),
    ).fetchone() == (1, 1, 1)
    by_type = dict(
        finance_db.execute(
            "SELECT a.account_type, AVG(t.vendor_id IS NOT NULL) FROM transactions t "
            "JOIN accounts a USING (account_id) GROUP BY 1"
        ).fetchall()
    )
    assert by_type["revenue"] == 0
    assert by_type["expense"] > 0.6


def test_finance_budget_per_department_per_quarter(finance_db: sqlite3.Connection) -> None:
    rows = finance_db.execute(
        "SELECT department_id, fiscal_year, fiscal_quarter FROM budgets"
    ).fetchall()
    assert sorted(rows) == [
        (d, y, q) for d in range(1, 7) for y in (2023, 2024, 2025) for q in range(1, 5)
    ]
    assert one(finance_db, "SELECT MIN(amount) FROM budgets") > 0


def test_finance_invoices(finance_db: sqlite3.Connection) -> None:
    def count(where: str) -> int:
        return one(finance_db, f"SELECT COUNT(*) FROM invoices WHERE {where}")

    assert count("(status = 'paid') != (paid_on IS NOT NULL)") == 0
    assert count(f"status = 'overdue' AND due_on >= '{END}'") == 0
    assert count("status = 'open' AND due_on < '2025-12-01'") == 0
    assert count(f"paid_on < issued_on OR paid_on > '{END}' OR due_on < issued_on") == 0
    assert count(f"issued_on < '2023-01-01' OR issued_on > '{END}' OR amount <= 0") == 0
    assert count("status = 'overdue'") > 0 and count("status = 'open'") > 0
    never_billed = one(
        finance_db,
        "SELECT COUNT(*) FROM vendors WHERE vendor_id NOT IN (SELECT vendor_id FROM invoices)",
    )
    assert never_billed >= 3


# --- ensure_sample ------------------------------------------------------------------------------


def test_ensure_sample_builds_once_then_reuses(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    path = ensure_sample("finance", data_dir)
    assert path == data_dir / "finance.sqlite"
    assert path.stat().st_mode & 0o777 == 0o644
    stamp = path.stat()
    assert ensure_sample("finance", data_dir) == path
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)
    assert [p.name for p in data_dir.iterdir()] == ["finance.sqlite"]


@pytest.mark.parametrize("damage", ["other version", "not a database"])
def test_ensure_sample_rebuilds_a_stale_or_broken_file(tmp_path: Path, damage: str) -> None:
    path = ensure_sample("finance", tmp_path)
    if damage == "other version":
        with closing(sqlite3.connect(path)) as conn:
            conn.execute(f"PRAGMA user_version = {finance.VERSION + 100}")
    else:
        path.write_bytes(b"this is not SQLite" * 100)
    assert ensure_sample("finance", tmp_path) == path
    with closing(sqlite3.connect(path)) as conn:
        assert one(conn, "PRAGMA user_version") == finance.VERSION
        assert one(conn, "SELECT COUNT(*) FROM vendors") == 150


def test_ensure_sample_rebuilds_when_the_generator_version_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = ensure_sample("finance", tmp_path)
    monkeypatch.setattr(finance, "VERSION", finance.VERSION + 1)
    inode = path.stat().st_ino
    assert ensure_sample("finance", tmp_path) == path
    assert path.stat().st_ino != inode
    with closing(sqlite3.connect(path)) as conn:
        assert one(conn, "PRAGMA user_version") == finance.VERSION


def test_ensure_sample_is_safe_when_raced(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        paths = list(pool.map(lambda _: ensure_sample("finance", tmp_path), range(2)))
    assert paths == [tmp_path / "finance.sqlite"] * 2
    assert [p.name for p in tmp_path.iterdir()] == ["finance.sqlite"]
    with closing(sqlite3.connect(paths[0])) as conn:
        assert one(conn, "PRAGMA integrity_check") == "ok"
