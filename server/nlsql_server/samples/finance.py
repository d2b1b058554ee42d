"""The `finance` sample: a fictional company's ledger, vendors, budgets and invoices, 2023–2025.

Deterministic (a fixed seed, no clock, no network) so that every build holds the same rows.
Bump `VERSION` whenever the output changes: `ensure_sample` rebuilds files made by another one.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
from collections import defaultdict
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path
from typing import NamedTuple

VERSION = 1
SEED = 20230102
START, END = date(2023, 1, 1), date(2025, 12, 31)
Row = tuple[object, ...]  # one table row, in column order
YEARS = (2023, 2024, 2025)
N_INVOICES = 8_000

SCHEMA = """
CREATE TABLE departments (
    department_id INTEGER PRIMARY KEY,
    department_name TEXT NOT NULL UNIQUE
);
CREATE TABLE accounts (
    account_id INTEGER PRIMARY KEY,
    account_code TEXT NOT NULL UNIQUE,
    account_name TEXT NOT NULL,
    account_type TEXT NOT NULL,
    department_id INTEGER,
    FOREIGN KEY (department_id) REFERENCES departments (department_id)
);
CREATE TABLE vendors (
    vendor_id INTEGER PRIMARY KEY,
    vendor_name TEXT NOT NULL UNIQUE,
    country TEXT NOT NULL
);
CREATE TABLE transactions (
    transaction_id INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL,
    vendor_id INTEGER,
    posted_on DATE NOT NULL,
    amount REAL NOT NULL,
    description TEXT NOT NULL,
    FOREIGN KEY (account_id) REFERENCES accounts (account_id),
    FOREIGN KEY (vendor_id) REFERENCES vendors (vendor_id)
);
CREATE TABLE budgets (
    budget_id INTEGER PRIMARY KEY,
    department_id INTEGER NOT NULL,
    fiscal_year INTEGER NOT NULL,
    fiscal_quarter INTEGER NOT NULL,
    amount REAL NOT NULL,
    UNIQUE (department_id, fiscal_year, fiscal_quarter),
    FOREIGN KEY (department_id) REFERENCES departments (department_id)
);
CREATE TABLE invoices (
    invoice_id INTEGER PRIMARY KEY,
    vendor_id INTEGER NOT NULL,
    issued_on DATE NOT NULL,
    due_on DATE NOT NULL,
    paid_on DATE,
    amount REAL NOT NULL,
    status TEXT NOT NULL,
    FOREIGN KEY (vendor_id) REFERENCES vendors (vendor_id)
);
CREATE INDEX idx_accounts_department_id ON accounts (department_id);
CREATE INDEX idx_transactions_account_id ON transactions (account_id);
CREATE INDEX idx_transactions_vendor_id ON transactions (vendor_id);
CREATE INDEX idx_transactions_posted_on ON transactions (posted_on);
CREATE INDEX idx_budgets_department_id ON budgets (department_id);
CREATE INDEX idx_invoices_vendor_id ON invoices (vendor_id);
"""

DEPARTMENTS = ("Sales", "Marketing", "Engineering", "Operations", "Finance", "Human Resources")

# code, name, type, department, counterparty, schedule, median amount, spread (lognormal sigma).
# counterparty: a vendor kind (vendor_id set), "client" (a customer named in the description) or
# None. schedule: postings a year on random business days, or a fixed calendar.
ACCOUNTS: tuple[tuple[str, str, str, str | None, str | None, int | str, float, float], ...] = (
    ("1000", "Cash - Operating", "asset", None, None, 24, 150_000, 0.5),
    ("1010", "Cash - Payroll", "asset", None, None, "monthly", 400_000, 0.1),
    ("1100", "Accounts Receivable", "asset", None, "client", 1500, 8_000, 0.9),
    ("1200", "Inventory", "asset", None, "suppliers", 600, 12_000, 0.8),
    ("1300", "Prepaid Expenses", "asset", None, "insurance", 12, 20_000, 0.4),
    ("1400", "Office Equipment", "asset", None, "hardware", 24, 3_000, 0.7),
    ("1450", "Computer Equipment", "asset", None, "hardware", 80, 2_500, 0.6),
    ("1500", "Vehicles", "asset", None, None, 2, 40_000, 0.3),
    ("1700", "Accumulated Depreciation", "asset", None, None, "monthly", 35_000, 0.05),
    ("1800", "Security Deposits", "asset", None, "realty", 1, 25_000, 0.3),
    ("2000", "Accounts Payable", "liability", None, None, 400, 9_000, 0.9),
    ("2100", "Accrued Liabilities", "liability", None, None, "monthly", 60_000, 0.3),
    ("2200", "Payroll Liabilities", "liability", None, None, "payroll", 120_000, 0.1),
    ("2300", "Sales Tax Payable", "liability", None, None, "monthly", 90_000, 0.3),
    ("2400", "Deferred Revenue", "liability", None, "client", 150, 20_000, 0.7),
    ("2500", "Credit Card Payable", "liability", None, "bank", "monthly", 40_000, 0.4),
    ("2600", "Short-term Loan", "liability", None, "bank", "quarterly", 250_000, 0.1),
    ("2700", "Long-term Debt", "liability", None, "bank", "monthly", 85_000, 0.0),
    ("3000", "Common Stock", "equity", None, None, 0, 0, 0),
    ("3100", "Additional Paid-in Capital", "equity", None, None, 0, 0, 0),
    ("3200", "Retained Earnings", "equity", None, None, "yearly", 1_500_000, 0.3),
    ("3300", "Dividends Paid", "equity", None, None, "quarterly", 200_000, 0.1),
    ("4000", "Product Sales", "revenue", "Sales", "client", 3200, 4_500, 1.0),
    ("4100", "Subscription Revenue", "revenue", "Sales", "client", 2100, 2_200, 0.6),
    ("4200", "Service Revenue", "revenue", "Sales", "client", 1200, 6_000, 0.8),
    ("4300", "Consulting Revenue", "revenue", "Sales", "client", 300, 15_000, 0.7),
    ("4400", "Maintenance Contracts", "revenue", "Sales", "client", 400, 5_000, 0.5),
    ("4500", "Training Revenue", "revenue", "Sales", "client", 200, 3_000, 0.5),
    ("4600", "Licensing Revenue", "revenue", "Sales", "client", 60, 40_000, 0.8),
    ("4900", "Interest Income", "revenue", "Finance", None, "monthly", 6_000, 0.3),
    ("5100", "Sales Salaries", "expense", "Sales", None, "payroll", 180_000, 0.05),
    ("5110", "Sales Commissions", "expense", "Sales", None, 600, 2_500, 0.7),
    ("5120", "Sales Travel", "expense", "Sales", "travel", 900, 1_200, 0.8),
    ("5130", "Customer Entertainment", "expense", "Sales", "events", 300, 800, 0.7),
    ("5140", "CRM Software", "expense", "Sales", "software", "monthly", 12_000, 0.1),
    ("5200", "Marketing Salaries", "expense", "Marketing", None, "payroll", 90_000, 0.05),
    ("5210", "Advertising", "expense", "Marketing", "agency", 500, 2_500, 1.0),
    ("5220", "Trade Shows", "expense", "Marketing", "events", 24, 35_000, 0.6),
    ("5230", "Marketing Agencies", "expense", "Marketing", "agency", 60, 25_000, 0.5),
    ("5240", "Content Production", "expense", "Marketing", "agency", 150, 4_000, 0.7),
    ("5300", "Engineering Salaries", "expense", "Engineering", None, "payroll", 420_000, 0.05),
    ("5310", "Cloud Hosting", "expense", "Engineering", "cloud", "monthly", 45_000, 0.15),
    ("5320", "Software Licenses", "expense", "Engineering", "software", 300, 2_500, 0.9),
    ("5330", "Contractors", "expense", "Engineering", "staffing", 240, 9_000, 0.6),
    ("5340", "Hardware", "expense", "Engineering", "hardware", 200, 1_800, 0.7),
    ("5400", "Rent", "expense", "Operations", "realty", "monthly", 85_000, 0.0),
    ("5410", "Utilities", "expense", "Operations", "utility", 36, 4_000, 0.4),
    ("5420", "Shipping & Freight", "expense", "Operations", "logistics", 2000, 900, 0.9),
    ("5430", "Facilities Maintenance", "expense", "Operations", "facilities", 150, 2_500, 0.7),
    ("5440", "Office Supplies", "expense", "Operations", "office", 700, 250, 0.8),
    ("5500", "Finance Salaries", "expense", "Finance", None, "payroll", 70_000, 0.05),
    ("5510", "Audit & Accounting Fees", "expense", "Finance", "audit", 12, 25_000, 0.5),
    ("5520", "Bank Fees", "expense", "Finance", "bank", 250, 150, 0.8),
    ("5530", "Insurance", "expense", "Finance", "insurance", "monthly", 18_000, 0.05),
    ("5540", "Legal Fees", "expense", "Finance", "legal", 60, 12_000, 0.8),
    ("5600", "HR Salaries", "expense", "Human Resources", None, "payroll", 50_000, 0.05),
    ("5610", "Recruiting", "expense", "Human Resources", "staffing", 120, 7_000, 0.7),
    (
        "5620",
        "Employee Benefits",
        "expense",
        "Human Resources",
        "benefits",
        "monthly",
        110_000,
        0.1,
    ),
    ("5630", "Training & Development", "expense", "Human Resources", "training", 150, 2_000, 0.7),
    ("5640", "Payroll Taxes", "expense", "Human Resources", None, "monthly", 95_000, 0.1),
)

# kind: (vendors, name words, invoices relative to other kinds (0: never invoices), median invoice)
VENDOR_KINDS: dict[str, tuple[int, str, float, float]] = {
    "software": (14, "Software|Systems|Labs", 1.0, 3_000),
    "cloud": (5, "Cloud|Hosting", 1.5, 40_000),
    "travel": (10, "Travel|Airways|Hotels", 0, 0),  # paid by corporate card
    "events": (8, "Events|Catering|Expo", 0.8, 6_000),
    "agency": (12, "Media|Creative|Digital", 1.2, 12_000),
    "staffing": (12, "Staffing|Talent|Consulting", 2.0, 9_000),
    "hardware": (8, "Computers|Electronics|Devices", 1.0, 4_000),
    "realty": (4, "Properties|Realty", 1.2, 60_000),
    "utility": (5, "Energy|Power|Telecom", 1.2, 3_500),
    "logistics": (12, "Logistics|Freight|Express", 2.5, 1_500),
    "facilities": (8, "Facility Services|Cleaning|Maintenance", 1.0, 2_000),
    "office": (8, "Office Supply|Paper|Stationery", 1.0, 450),
    "legal": (6, "Legal|Law Partners", 0.6, 9_000),
    "audit": (4, "Accounting|Audit Partners", 0.5, 18_000),
    "bank": (4, "Bank|Financial", 0, 0),  # fees are debited, never invoiced
    "insurance": (4, "Insurance|Assurance", 0.6, 15_000),
    "training": (8, "Academy|Learning|Training", 0.8, 2_500),
    "benefits": (4, "Health|Benefits", 1.0, 30_000),
    "suppliers": (14, "Manufacturing|Industries|Trading|Supply", 2.5, 11_000),
}

# country: (weight, legal forms, local name stems; others use the shared stems)
VENDOR_COUNTRIES: dict[str, tuple[int, str, str]] = {
    "United States": (45, "Inc|LLC|Corp", ""),
    "Germany": (15, "GmbH|AG", "Rhein Hansa Bayern Elbe Schwarzwald Nordwerk"),
    "India": (14, "Pvt Ltd|Ltd", "Shakti Kaveri Indus Sahyadri Vayu Surya"),
    "Brazil": (10, "Ltda|S.A.", "Paulista Carioca Cerrado Amazonia Guanabara Ipanema"),
    "United Kingdom": (8, "Ltd|PLC", ""),
    "Canada": (4, "Inc|Ltd", ""),
    "Netherlands": (2, "B.V.", ""),
    "France": (2, "SAS|SA", ""),
}
STEMS = (
    "Apex Bluewater Cedar Summit Northstar Ironwood Brightline Crescent Evergreen Falcon Granite "
    "Harbor Keystone Lighthouse Meridian Nova Orion Pinnacle Quantum Redwood Silverline Sterling "
    "Titan Vertex Westbrook Zenith Atlas Beacon Cobalt Delta Everest Frontier Horizon Juniper "
    "Kestrel Lumen Maple Nexus Oakridge Pacific Polaris Riverside Sapphire Trident Vantage Willow"
)
CLIENT_WORDS = "Group|Holdings|Partners|Retail|Health|Foods|Motors|Logistics|Labs|Hospitality"

GROWTH = {2023: 0.88, 2024: 1.0, 2025: 1.12}  # business volume by year
REVENUE_MONTH = (0.8, 0.85, 1.0, 0.95, 0.95, 1.0, 0.9, 0.9, 1.05, 1.1, 1.2, 1.4)
TERMS = ((15, 30, 45, 60), (15, 50, 20, 15))  # payment terms in days, and how common


class Posting(NamedTuple):
    day: date
    account_id: int
    vendor_id: int | None
    amount: float
    description: str


def generate(path: Path) -> None:
    """Write the whole database to `path` (a new or empty file)."""
    rng = random.Random(SEED)
    vendors = _vendors(rng)
    postings = _postings(rng, vendors)
    tables: dict[str, list[Row]] = {
        "departments": list(enumerate(DEPARTMENTS, 1)),
        "accounts": [
            (i, code, name, kind, DEPARTMENTS.index(dept) + 1 if dept else None)
            for i, (code, name, kind, dept, *_) in enumerate(ACCOUNTS, 1)
        ],
        "vendors": [(i, name, country) for i, (name, country, _) in enumerate(vendors, 1)],
        "transactions": [
            (i, p.account_id, p.vendor_id, p.day.isoformat(), p.amount, p.description)
            for i, p in enumerate(postings, 1)
        ],
        "budgets": _budgets(rng, postings),
        "invoices": _invoices(rng, vendors),
    }
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        # The file is private until `ensure_sample` renames it: no journal needed.
        conn.executescript(
            "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
            " PRAGMA foreign_keys = ON;" + SCHEMA
        )
        conn.execute("BEGIN")
        for table, rows in tables.items():
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows)
        conn.execute(f"PRAGMA user_version = {VERSION}")
        conn.execute("COMMIT")


def _vendors(rng: random.Random) -> list[tuple[str, str, str]]:
    """(name, country, kind) of every vendor, kinds in the order of VENDOR_KINDS."""
    countries = list(VENDOR_COUNTRIES)
    weights = [spec[0] for spec in VENDOR_COUNTRIES.values()]
    vendors: list[tuple[str, str, str]] = []
    taken: set[str] = set()
    for kind, (count, words, _, _) in VENDOR_KINDS.items():
        for _ in range(count):
            while True:
                country = rng.choices(countries, weights)[0]
                _, forms, local = VENDOR_COUNTRIES[country]
                stems = local if local and rng.random() < 0.6 else STEMS
                name = (
                    f"{rng.choice(stems.split())}"
                    f" {rng.choice(words.split('|'))} {rng.choice(forms.split('|'))}"
                )
                if name not in taken:
                    break
            taken.add(name)
            vendors.append((name, country, kind))
    return vendors


def _month_ends(year: int) -> list[date]:
    return [date(year + m // 12, m % 12 + 1, 1) - timedelta(days=1) for m in range(1, 13)]


def _schedule(rng: random.Random, schedule: int | str, year: int, seasonal: bool) -> list[date]:
    """The posting dates of one account in one year."""
    if schedule == "monthly":
        return _month_ends(year)
    if schedule == "payroll":
        return sorted([date(year, m, 15) for m in range(1, 13)] + _month_ends(year))
    if schedule == "quarterly":
        return _month_ends(year)[2::3]
    if schedule == "yearly":
        return [date(year, 12, 31)]
    assert isinstance(schedule, int)
    days = [date(year, 1, 1) + timedelta(days=i) for i in range(365 + (year % 4 == 0))]
    weights = [
        (0.05 if d.weekday() >= 5 else 1.0) * (REVENUE_MONTH[d.month - 1] if seasonal else 1.0)
        for d in days
    ]
    return rng.choices(days, weights, k=round(schedule * GROWTH[year]))


def _postings(rng: random.Random, vendors: list[tuple[str, str, str]]) -> list[Posting]:
    """Every transaction, in date order."""
    # A few big vendors take most of each kind's business, a few big clients most of the sales.
    by_kind: dict[str, list[int]] = defaultdict(list)
    for number, (_, _, kind) in enumerate(vendors, 1):
        by_kind[kind].append(number)
    vendor_cum = {
        kind: list(itertools.accumulate(rng.paretovariate(1.2) for _ in pool))
        for kind, pool in by_kind.items()
    }
    clients = [
        f"{rng.choice(STEMS.split())} {rng.choice(CLIENT_WORDS.split('|'))}" for _ in range(400)
    ]
    client_cum = list(itertools.accumulate(rng.paretovariate(1.1) for _ in clients))

    postings: list[Posting] = []
    for account_id, (_, name, kind, _, party, schedule, median, sigma) in enumerate(ACCOUNTS, 1):
        for year in YEARS:
            for day in _schedule(rng, schedule, year, seasonal=kind == "revenue"):
                amount = max(1.0, round(median * GROWTH[year] * rng.lognormvariate(0, sigma), 2))
                vendor_id: int | None = None
                detail = f"{day:%Y-%m}" if isinstance(schedule, str) else ""
                if party == "client":
                    detail = rng.choices(clients, cum_weights=client_cum)[0]
                elif party:
                    vendor_id = rng.choices(by_kind[party], cum_weights=vendor_cum[party])[0]
                    detail = " - ".join(filter(None, (vendors[vendor_id - 1][0], detail)))
                description = f"{name} - {detail}" if detail else name
                postings.append(Posting(day, account_id, vendor_id, amount, description))
    postings.sort(key=lambda p: p.day)
    return postings


def _budgets(rng: random.Random, postings: list[Posting]) -> list[Row]:
    """Quarterly budgets planned near what each department then spent, some teams overshooting."""
    department_of = {i: spec[3] for i, spec in enumerate(ACCOUNTS, 1) if spec[2] == "expense"}
    spent: dict[tuple[str | None, int, int], float] = defaultdict(float)
    for p in postings:
        if p.account_id in department_of:
            spent[department_of[p.account_id], p.day.year, (p.day.month + 2) // 3] += p.amount
    bias = {"Marketing": 0.93, "Engineering": 1.04, "Human Resources": 1.02}
    rows: list[Row] = []
    for department_id, department in enumerate(DEPARTMENTS, 1):
        for year, quarter in itertools.product(YEARS, (1, 2, 3, 4)):
            planned = (
                spent[department, year, quarter]
                * bias.get(department, 1.0)
                * rng.uniform(0.94, 1.06)
            )
            rows.append((len(rows) + 1, department_id, year, quarter, round(planned, -3)))
    return rows


def _invoices(rng: random.Random, vendors: list[tuple[str, str, str]]) -> list[Row]:
    """Vendor bills: most paid around their terms, a few late, void or still due at year end."""
    weights = [VENDOR_KINDS[kind][2] * rng.paretovariate(1.5) for _, _, kind in vendors]
    terms = [rng.choices(*TERMS)[0] for _ in vendors]
    lateness = [rng.gauss(-2, 7) for _ in vendors]  # some vendors are always paid late
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    day_weights = [(0.05 if d.weekday() >= 5 else 1.0) * GROWTH[d.year] for d in days]
    issued = rng.choices(days, day_weights, k=N_INVOICES)
    billed = rng.choices(range(len(vendors)), weights, k=N_INVOICES)
    bills: list[Row] = []
    for issued_on, v in sorted(zip(issued, billed)):
        median = VENDOR_KINDS[vendors[v][2]][3]
        amount = round(median * GROWTH[issued_on.year] * rng.lognormvariate(0, 0.6), 2)
        due_on = issued_on + timedelta(days=terms[v])
        delay = terms[v] + lateness[v] + rng.gauss(0, 6)
        if rng.random() < 0.04:  # disputed: settled months later, if ever
            delay += rng.uniform(30, 400)
        paid_on = issued_on + timedelta(days=max(1, round(delay)))
        if rng.random() < 0.02:
            status = "void"
        elif paid_on <= END:
            status = "paid"
        else:  # not paid by the end of the data: due later, or already late
            status = "open" if due_on >= END else "overdue"
        bills.append(
            (
                len(bills) + 1,
                v + 1,
                issued_on.isoformat(),
                due_on.isoformat(),
                paid_on.isoformat() if status == "paid" else None,
                amount,
                status,
            )
        )
    return bills
