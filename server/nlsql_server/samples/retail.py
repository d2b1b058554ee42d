"""The `retail` sample: a fictional retailer's customers, staff, products and orders, 2023–2025.

Deterministic (a fixed seed, no clock, no network) so that every build holds the same rows and
tests, docs and benchmarks can quote numbers from it. Bump `VERSION` whenever the output changes:
`ensure_sample` rebuilds files made by another version.
"""

from __future__ import annotations

import itertools
import random
import sqlite3
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Generic, TypeVar

VERSION = 1
SEED = 20230101
START, END = date(2023, 1, 1), date(2025, 12, 31)
Row = tuple[object, ...]  # one table row, in column order
N_CUSTOMERS, N_ORDERS = 5_000, 60_000

SCHEMA = """
CREATE TABLE regions (
    region_id INTEGER PRIMARY KEY,
    region_name TEXT NOT NULL UNIQUE
);
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    region_id INTEGER NOT NULL,
    segment TEXT NOT NULL,
    signup_date DATE NOT NULL,
    FOREIGN KEY (region_id) REFERENCES regions (region_id)
);
CREATE TABLE categories (
    category_id INTEGER PRIMARY KEY,
    category_name TEXT NOT NULL UNIQUE
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    product_name TEXT NOT NULL UNIQUE,
    category_id INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    unit_cost REAL NOT NULL,
    launched_on DATE NOT NULL,
    discontinued INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (category_id) REFERENCES categories (category_id)
);
CREATE TABLE employees (
    employee_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    title TEXT NOT NULL,
    region_id INTEGER NOT NULL,
    hire_date DATE NOT NULL,
    manager_id INTEGER,
    FOREIGN KEY (region_id) REFERENCES regions (region_id),
    FOREIGN KEY (manager_id) REFERENCES employees (employee_id)
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    employee_id INTEGER,
    order_date DATE NOT NULL,
    status TEXT NOT NULL,
    channel TEXT NOT NULL,
    total_amount REAL NOT NULL,
    FOREIGN KEY (customer_id) REFERENCES customers (customer_id),
    FOREIGN KEY (employee_id) REFERENCES employees (employee_id)
);
CREATE TABLE order_items (
    order_item_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    discount REAL NOT NULL DEFAULT 0,
    FOREIGN KEY (order_id) REFERENCES orders (order_id),
    FOREIGN KEY (product_id) REFERENCES products (product_id)
);
CREATE TABLE payments (
    payment_id INTEGER PRIMARY KEY,
    order_id INTEGER NOT NULL,
    paid_on DATE NOT NULL,
    amount REAL NOT NULL,
    method TEXT NOT NULL,
    FOREIGN KEY (order_id) REFERENCES orders (order_id)
);
"""

INDEXES = """
CREATE INDEX idx_customers_region_id ON customers (region_id);
CREATE INDEX idx_products_category_id ON products (category_id);
CREATE INDEX idx_employees_region_id ON employees (region_id);
CREATE INDEX idx_employees_manager_id ON employees (manager_id);
CREATE INDEX idx_orders_customer_id ON orders (customer_id);
CREATE INDEX idx_orders_employee_id ON orders (employee_id);
CREATE INDEX idx_orders_order_date ON orders (order_date);
CREATE INDEX idx_order_items_order_id ON order_items (order_id);
CREATE INDEX idx_order_items_product_id ON order_items (product_id);
CREATE INDEX idx_payments_order_id ON payments (order_id);
"""

# SQLite rounds half-cents its own way (ROUND(2.675, 2) is 2.68, Python says 2.67): let it
# compute the totals so that the documented invariant holds to the cent under SQLite's ROUND.
SETTLE_TOTALS = """
UPDATE orders SET total_amount = (
    SELECT ROUND(SUM(quantity * unit_price * (1 - discount)), 2)
    FROM order_items WHERE order_items.order_id = orders.order_id
);
UPDATE payments SET amount = (
    SELECT total_amount FROM orders WHERE orders.order_id = payments.order_id
);
"""

T = TypeVar("T")


class Weighted(Generic[T]):
    """A fixed discrete distribution whose cumulative weights are summed once, not per draw."""

    def __init__(self, options: Sequence[T], weights: Iterable[float]) -> None:
        self.options = list(options)
        self.cum = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random) -> T:
        return self.options[bisect_right(self.cum, rng.random() * self.cum[-1])]


REGIONS = ("North America", "Europe", "Asia Pacific", "Latin America")
REGION_SHARE = Weighted(REGIONS, (36, 30, 20, 14))
SEGMENTS = Weighted(("Consumer", "Corporate", "Small Business"), (70, 18, 12))
SIGNUP_YEAR = Weighted((2022, 2023, 2024, 2025), (30, 22, 23, 25))
TITLES = (
    "Sales Representative",
    "Senior Sales Representative",
    "Sales Manager",
    "Regional Director",
)

# country: (region, weight within the region, name cultures, cities largest first)
COUNTRIES: dict[str, tuple[str, int, str, str]] = {
    "United States": (
        "North America",
        80,
        "english english english spanish",
        "New York|Los Angeles|Chicago|Houston|Phoenix|Seattle|Boston|Denver|Atlanta"
        "|Austin|San Francisco|Miami",
    ),
    "Canada": (
        "North America",
        20,
        "english english french",
        "Toronto|Vancouver|Montreal|Calgary|Ottawa|Edmonton",
    ),
    "Germany": ("Europe", 28, "german", "Berlin|Munich|Hamburg|Frankfurt|Cologne|Stuttgart"),
    "France": ("Europe", 22, "french", "Paris|Lyon|Marseille|Toulouse|Bordeaux|Lille|Nantes"),
    "United Kingdom": (
        "Europe",
        26,
        "english",
        "London|Manchester|Birmingham|Leeds|Glasgow|Bristol|Edinburgh",
    ),
    "Spain": ("Europe", 12, "spanish", "Madrid|Barcelona|Valencia|Seville|Bilbao"),
    "Italy": ("Europe", 12, "italian", "Rome|Milan|Naples|Turin|Florence|Bologna"),
    "Japan": ("Asia Pacific", 30, "japanese", "Tokyo|Osaka|Yokohama|Nagoya|Sapporo|Fukuoka"),
    "Australia": ("Asia Pacific", 25, "english", "Sydney|Melbourne|Brisbane|Perth|Adelaide"),
    "India": (
        "Asia Pacific",
        35,
        "indian",
        "Mumbai|Delhi|Bangalore|Hyderabad|Chennai|Pune|Kolkata",
    ),
    "Singapore": ("Asia Pacific", 10, "singaporean", "Singapore"),
    "Mexico": ("Latin America", 35, "spanish", "Mexico City|Guadalajara|Monterrey|Puebla|Tijuana"),
    "Brazil": (
        "Latin America",
        40,
        "portuguese",
        "Sao Paulo|Rio de Janeiro|Brasilia|Belo Horizonte|Curitiba|Porto Alegre",
    ),
    "Argentina": ("Latin America", 15, "spanish", "Buenos Aires|Cordoba|Rosario|Mendoza"),
    "Chile": ("Latin America", 10, "spanish", "Santiago|Valparaiso|Concepcion"),
}
COUNTRY_SHARE = {
    region: Weighted(
        [c for c in COUNTRIES if COUNTRIES[c][0] == region],
        [w for r, w, _, _ in COUNTRIES.values() if r == region],
    )
    for region in REGIONS
}

# culture: (first names, last names)
NAMES: dict[str, tuple[str, str]] = {
    "english": (
        "James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David "
        "Barbara Richard Susan Joseph Jessica Thomas Sarah Daniel Emily Matthew Olivia "
        "Andrew Emma Ryan Sophie Liam Chloe Noah Grace Ethan Hannah",
        "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Moore Martin "
        "Jackson Thompson White Harris Clark Lewis Walker Hall Young King Wright Scott Green "
        "Baker Adams Nelson Campbell Mitchell Roberts Evans Turner Parker Collins Murphy",
    ),
    "german": (
        "Lukas Anna Leon Lena Felix Hannah Jonas Marie Paul Laura Maximilian Julia Tobias "
        "Katharina Stefan Sabine Jan Lea Florian Johanna",
        "Mueller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch "
        "Richter Klein Wolf Neumann Schwarz Zimmermann Braun Krueger Hartmann",
    ),
    "french": (
        "Louis Camille Hugo Chloe Lucas Manon Jules Ines Antoine Lea Nicolas Julie Pierre "
        "Claire Thomas Elise Mathieu Sophie",
        "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
        "Lefebvre Michel Bertrand Roux Vincent Fournier Girard Bonnet",
    ),
    "spanish": (
        "Jose Maria Carlos Lucia Javier Sofia Miguel Carmen Alejandro Paula Diego Elena "
        "Pablo Valentina Juan Isabel Luis Gabriela Mateo Camila",
        "Garcia Rodriguez Martinez Lopez Gonzalez Hernandez Perez Sanchez Ramirez Torres "
        "Flores Rivera Gomez Diaz Morales Ortiz Castro Romero Vargas Fernandez Ruiz Jimenez",
    ),
    "italian": (
        "Giuseppe Giulia Marco Francesca Alessandro Chiara Luca Sara Matteo Martina Andrea "
        "Elena Davide Valentina Lorenzo Alessia",
        "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo "
        "Conti Costa Giordano Mancini Rizzo Lombardi",
    ),
    "portuguese": (
        "Joao Ana Pedro Mariana Gabriel Beatriz Lucas Julia Rafael Larissa Matheus "
        "Fernanda Gustavo Camila Bruno Leticia",
        "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa "
        "Ribeiro Martins Carvalho Almeida Lopes Barbosa Rocha",
    ),
    "japanese": (
        "Haruto Yui Sota Hina Yuto Aoi Ren Sakura Takumi Mei Kenji Yuki Hiroshi Akiko Daiki Naomi",
        "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato "
        "Yoshida Yamada Sasaki Yamaguchi Matsumoto Inoue",
    ),
    "indian": (
        "Aarav Priya Vivek Ananya Rahul Kavya Arjun Sneha Rohan Pooja Aditya Neha Vikram "
        "Divya Karthik Meera Sanjay Lakshmi",
        "Sharma Patel Singh Kumar Gupta Reddy Iyer Nair Mehta Joshi Rao Desai Chopra Verma "
        "Menon Bhat Kapoor Pillai",
    ),
    "singaporean": (
        "Wei Jun Hui Zhi Siti Muhammad Mei Kai Nur Ravi Xin Jia Farah Darren Rachel",
        "Tan Lim Lee Ng Ong Wong Goh Chua Chan Koh Teo Ang Rahman Abdullah Kumar",
    ),
}
MAIL_DOMAINS = ("gmail.com", "gmail.com", "outlook.com", "yahoo.com", "icloud.com")

# category: (products, popularity, {month: seasonal factor}, brands, variants, items "name:low-high")
CATEGORIES: dict[str, tuple[int, float, dict[int, float], str, str, str]] = {
    "Electronics": (
        50,
        1.0,
        {11: 1.7, 12: 1.6},
        "Voltra|Nexon|Auralis|Pixelon|Quantix|Lumora",
        "Pro|Mini|Max|Air|Plus|Lite|X2|S3|Ultra|Go",
        "Wireless Earbuds:40-250|Bluetooth Speaker:30-300|4K Monitor:200-900"
        "|Laptop:600-2200|Tablet:150-1100|Smartwatch:100-600|Mechanical Keyboard:50-200"
        "|Wireless Mouse:15-90|USB-C Hub:20-90|Noise-Cancelling Headphones:120-450"
        "|Webcam:40-200|External SSD:60-300|Smartphone:200-1400|Portable Charger:20-80",
    ),
    "Furniture": (
        30,
        0.45,
        {1: 1.2, 3: 1.2, 4: 1.2, 5: 1.1},
        "Oakline|Nordhem|Casaverde|Urbanest",
        "Oslo|Milan|Aspen|Harbor|Linden|Verona|Sierra|Brooklyn",
        "Office Chair:90-600|Standing Desk:250-900|Bookshelf:60-300|Sofa:400-1500"
        "|Dining Table:250-1200|Coffee Table:80-400|Desk Lamp:20-120"
        "|Filing Cabinet:80-350|Bed Frame:200-900|Armchair:150-700|TV Stand:90-400",
    ),
    "Office Supplies": (
        45,
        1.4,
        {1: 1.2, 8: 1.5, 9: 1.6},
        "Penwise|Stackit|Clarity|Officio",
        "Classic|Premium|Eco|XL|Compact|Pro",
        "Ballpoint Pens 12-Pack:4-15|Sticky Notes:3-10|Printer Paper Ream:5-12"
        "|Stapler:6-25|A5 Notebook:3-15|Highlighters 6-Pack:4-12|Desk Organizer:10-40"
        "|Whiteboard:25-120|Label Maker:25-80|Toner Cartridge:40-150"
        "|Paper Shredder:50-200|Envelopes 100-Pack:6-20|Binder:3-12|Calculator:8-40",
    ),
    "Clothing": (
        50,
        1.2,
        {3: 1.1, 11: 1.4, 12: 1.3},
        "Northpeak|Urbanthread|Solano|Kinfolk",
        "Classic|Slim Fit|Relaxed|Organic|Performance|Heritage|Essential",
        "T-Shirt:10-40|Hoodie:30-90|Jeans:35-120|Rain Jacket:60-200|Sneakers:50-180"
        "|Dress:35-150|Polo Shirt:20-70|Wool Sweater:40-140|Leggings:20-70"
        "|Winter Coat:90-300|Chinos:35-90|Scarf:12-50",
    ),
    "Books": (40, 0.9, {7: 1.2, 12: 1.5}, "", "", ""),
    "Toys": (
        30,
        0.7,
        {11: 1.8, 12: 2.6},
        "Brickly|Funzy|Tinker Town|Wonderplay",
        "Junior|Deluxe|Classic|Explorer|Mega|Mini",
        "Building Blocks Set:15-120|Plush Bear:10-40|Remote Control Car:25-120"
        "|1000-Piece Puzzle:12-30|Board Game:20-60|Doll House:40-150|Science Kit:20-70"
        "|Toy Train Set:30-140|Craft Kit:10-40|Kids Drone:40-120",
    ),
    "Sports": (
        30,
        0.8,
        {1: 1.4, 4: 1.2, 5: 1.3, 6: 1.3, 7: 1.2},
        "Stridex|Peakform|AquaLine|Trailhawk",
        "Pro|Trail|Elite|Sport|Flex|Summit",
        "Yoga Mat:15-70|Running Shoes:60-180|Dumbbell Set:30-250|Tennis Racket:40-220"
        "|Football:15-50|Bicycle Helmet:30-120|Road Bike:450-1800|Camping Tent:80-450"
        "|Fitness Tracker:40-200|Swim Goggles:10-35|30L Backpack:40-150|Jump Rope:8-25",
    ),
    "Grocery": (
        25,
        1.5,
        {12: 1.2},
        "Green Valley|Harvest Lane|Bluecrest|Morning Field",
        "Organic|Classic|Fair Trade|Premium",
        "Coffee Beans 1kg:12-35|Green Tea 100 Bags:5-15|Olive Oil 1L:8-25"
        "|Dark Chocolate Bar:2-6|Almonds 500g:6-15|Pasta 1kg:2-6|Basmati Rice 5kg:10-25"
        "|Honey 500g:6-18|Granola:4-10|Sparkling Water 12-Pack:5-12|Protein Bars Box:15-35"
        "|Maple Syrup:8-20",
    ),
}
BOOK_WORDS = (
    "Silent Hidden Last Golden Broken Distant Quiet Crimson Forgotten Winter Midnight Secret "
    "Endless Northern",
    "Harbor Garden Kingdom River Letter Orchard Lighthouse Map Promise Voyage Archive Mountain "
    "Library City",
    "SQL|Python|Leadership|Negotiation|Gardening|Cooking|Photography|Personal Finance|Marketing"
    "|Statistics|Design|Data Science",
    "Essentials|Handbook|for Beginners|Made Simple|in Practice|Field Guide",
)
BULK_CATEGORIES = {"Office Supplies", "Grocery"}
NEVER_SOLD = 15  # products no order ever contains (5 %)

MONTH_FACTOR = (0.85, 0.8, 0.9, 0.92, 0.95, 0.93, 0.9, 0.97, 1.0, 1.05, 1.4, 1.6)
WEEKDAY_FACTOR = (0.95, 0.95, 0.97, 1.0, 1.1, 1.2, 0.9)
CHANNELS = {  # by segment
    "Consumer": Weighted(("online", "store", "phone"), (65, 25, 10)),
    "Corporate": Weighted(("online", "store", "phone"), (40, 10, 50)),
    "Small Business": Weighted(("online", "store", "phone"), (50, 20, 30)),
}
PAY_METHODS = {  # by channel
    "online": Weighted(("card", "paypal", "bank_transfer"), (65, 30, 5)),
    "store": Weighted(("card", "cash"), (70, 30)),
    "phone": Weighted(("card", "bank_transfer"), (50, 50)),
}
STATUS_BY_AGE = (  # (days before END at most, status weights)
    (3, Weighted(("pending", "shipped", "cancelled"), (70, 25, 5))),
    (10, Weighted(("pending", "shipped", "delivered", "cancelled"), (25, 60, 10, 5))),
    (21, Weighted(("pending", "shipped", "delivered", "cancelled"), (5, 30, 60, 5))),
    (10_000, Weighted(("delivered", "cancelled", "returned"), (90, 4, 6))),
)
ITEMS_PER_ORDER = Weighted(range(1, 9), (24, 23, 19, 13, 10, 6, 4, 1))
BULK_QUANTITY = Weighted((1, 2, 3, 4, 5, 6, 8, 10, 12), (30, 20, 12, 8, 8, 5, 5, 4, 3))
QUANTITY = Weighted((1, 2, 3, 4), (80, 13, 5, 2))
DISCOUNT = Weighted((0.05, 0.1, 0.15, 0.2, 0.25, 0.3), (30, 30, 15, 12, 8, 5))
PRICE_LEVEL = {2023: 0.92, 2024: 0.96, 2025: 1.0}  # list prices are 2025's; earlier years lower


@dataclass(frozen=True)
class Customer:
    id: int
    row: Row
    region_id: int
    segment: str
    signup: date


@dataclass(frozen=True)
class Product:
    id: int
    row: Row
    category: str
    price: float
    launched: date


@dataclass(frozen=True)
class Employee:
    id: int
    row: Row
    region_id: int
    title: str
    hired: date


def generate(path: Path) -> None:
    """Write the whole database to `path` (a new or empty file)."""
    rng = random.Random(SEED)
    customers = _customers(rng)
    products = _products(rng)
    employees = _employees(rng)
    orders, items, payments = _orders(rng, customers, products, employees)
    tables: dict[str, list[Row]] = {
        "regions": list(enumerate(REGIONS, 1)),
        "customers": [c.row for c in customers],
        "categories": list(enumerate(CATEGORIES, 1)),
        "products": [p.row for p in products],
        "employees": [e.row for e in employees],
        "orders": orders,
        "order_items": items,
        "payments": payments,
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
        for statement in (INDEXES + SETTLE_TOTALS).split(";"):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {VERSION}")
        conn.execute("COMMIT")


def _day(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _person(rng: random.Random, country: str) -> tuple[str, str]:
    firsts, lasts = NAMES[rng.choice(COUNTRIES[country][2].split())]
    return rng.choice(firsts.split()), rng.choice(lasts.split())


def _customers(rng: random.Random) -> list[Customer]:
    taken: set[str] = set()
    customers = []
    for customer_id in range(1, N_CUSTOMERS + 1):
        region = REGION_SHARE.pick(rng)
        country = COUNTRY_SHARE[region].pick(rng)
        cities = COUNTRIES[country][3].split("|")
        city = rng.choices(cities, [1 / (i + 1) ** 0.8 for i in range(len(cities))])[0]
        first, last = _person(rng, country)
        local = f"{first}.{last}".lower().replace(" ", "")
        email, n = local, 1
        while email in taken:
            n += 1
            email = f"{local}{n}"
        taken.add(email)
        year = SIGNUP_YEAR.pick(rng)
        signup = _day(rng, date(year, 1, 1), date(year, 12, 31))
        segment = SEGMENTS.pick(rng)
        region_id = REGIONS.index(region) + 1
        row = (
            customer_id,
            first,
            last,
            f"{email}@{rng.choice(MAIL_DOMAINS)}",
            city,
            country,
            region_id,
            segment,
            signup.isoformat(),
        )
        customers.append(Customer(customer_id, row, region_id, segment, signup))
    return customers


def _book_title(rng: random.Random) -> str:
    adjectives, nouns, topics, kinds = BOOK_WORDS
    if rng.random() < 0.5:
        return f"The {rng.choice(adjectives.split())} {rng.choice(nouns.split())}"
    return f"{rng.choice(topics.split('|'))} {rng.choice(kinds.split('|'))}"


def _products(rng: random.Random) -> list[Product]:
    products: list[Product] = []
    taken: set[str] = set()
    for category_id, (category, spec) in enumerate(CATEGORIES.items(), 1):
        count, _, _, brands, variants, items = spec
        for _ in range(count):
            while True:
                if category == "Books":
                    name, low, high = _book_title(rng), 9.0, 45.0
                else:
                    item, prices = rng.choice(items.split("|")).split(":")
                    low, high = (float(p) for p in prices.split("-"))
                    name = (
                        f"{rng.choice(brands.split('|'))} {rng.choice(variants.split('|'))} {item}"
                    )
                if name not in taken:
                    break
            taken.add(name)
            price = round(round(low + (high - low) * rng.random() ** 1.5) - 0.01, 2)  # x.99
            cost = round(price * rng.uniform(0.45, 0.8), 2)
            if rng.random() < 0.75:
                launched = _day(rng, date(2019, 1, 1), date(2022, 12, 31))
            else:
                launched = _day(rng, START, date(2025, 10, 31))
            discontinued = int(rng.random() < 0.06)
            product_id = len(products) + 1
            row = (product_id, name, category_id, price, cost, launched.isoformat(), discontinued)
            products.append(Product(product_id, row, category, price, launched))
    return products


def _employees(rng: random.Random) -> list[Employee]:
    """Directors first, then managers, then reps, so every manager_id points to an earlier row."""
    staff = {  # region: (managers, senior reps, reps)
        "North America": (3, 3, 6),
        "Europe": (2, 3, 5),
        "Asia Pacific": (2, 2, 3),
        "Latin America": (1, 2, 4),
    }
    employees: list[Employee] = []
    directors: dict[str, int] = {}
    managers: dict[str, list[int]] = {region: [] for region in staff}

    def hire(region: str, title: str, first_day: date, last_day: date, boss: int | None) -> int:
        employee_id = len(employees) + 1
        first, last = _person(rng, COUNTRY_SHARE[region].pick(rng))
        hired = _day(rng, first_day, last_day)
        region_id = REGIONS.index(region) + 1
        row = (employee_id, first, last, title, region_id, hired.isoformat(), boss)
        employees.append(Employee(employee_id, row, region_id, title, hired))
        return employee_id

    for region in staff:
        directors[region] = hire(region, TITLES[3], date(2012, 1, 1), date(2017, 12, 31), None)
    for region, (n_managers, _, _) in staff.items():
        for _ in range(n_managers):
            boss = directors[region]
            managers[region].append(
                hire(region, TITLES[2], date(2015, 1, 1), date(2020, 12, 31), boss)
            )
    for region, (_, n_seniors, n_reps) in staff.items():
        for title, count, first_day, last_day in (
            (TITLES[1], n_seniors, date(2015, 1, 1), date(2021, 12, 31)),
            (TITLES[0], n_reps, date(2018, 1, 1), date(2025, 6, 30)),
        ):
            for _ in range(count):
                hire(region, title, first_day, last_day, rng.choice(managers[region]))
    return employees


def _day_weights(days: list[date]) -> list[float]:
    """Orders per day, relatively: growth, seasons, weekends and the Black Friday week."""
    weights = []
    for d in days:
        weight = (1 + 0.2 * (d - START).days / 365) * MONTH_FACTOR[d.month - 1]
        weight *= WEEKDAY_FACTOR[d.weekday()]
        if d.month == 11 and 23 <= d.day <= 30:
            weight *= 1.8
        weights.append(weight)
    return weights


def _status(rng: random.Random, order_date: date) -> str:
    """Recent orders are still pending or on their way; only older ones come back returned."""
    age = (END - order_date).days
    return next(w for limit, w in STATUS_BY_AGE if age <= limit).pick(rng)


def _quantity(rng: random.Random, category: str, segment: str) -> int:
    quantity = (BULK_QUANTITY if category in BULK_CATEGORIES else QUANTITY).pick(rng)
    if segment == "Corporate":
        quantity *= rng.choice((1, 1, 2, 3, 5))
    elif segment == "Small Business":
        quantity *= rng.choice((1, 1, 2))
    return quantity


def _discount(rng: random.Random, order_date: date, segment: str) -> float:
    chance = (
        0.15 + (0.15 if order_date.month in (11, 12) else 0) + (0.1 if segment != "Consumer" else 0)
    )
    if rng.random() >= chance:
        return 0.0
    return DISCOUNT.pick(rng)


def _orders(
    rng: random.Random,
    customers: list[Customer],
    products: list[Product],
    employees: list[Employee],
) -> tuple[list[Row], list[Row], list[Row]]:
    days = [START + timedelta(days=i) for i in range((END - START).days + 1)]
    cum_days = list(itertools.accumulate(_day_weights(days)))

    # Who orders: a heavy-tailed appetite times the share of the period the customer was signed up.
    appetite = {"Consumer": 1.0, "Corporate": 1.6, "Small Business": 1.3}
    weights = []
    for c in customers:
        first = max(0, (c.signup - START).days)
        window = cum_days[-1] - (cum_days[first - 1] if first else 0.0)
        never = rng.random() < 0.07
        weights.append(0.0 if never else rng.lognormvariate(0, 1.1) * appetite[c.segment] * window)
    buyers = rng.choices(customers, weights, k=N_ORDERS)
    placed = []
    for c in buyers:
        first = max(0, (c.signup - START).days)
        low = cum_days[first - 1] if first else 0.0
        index = min(
            max(bisect_right(cum_days, rng.uniform(low, cum_days[-1])), first), len(days) - 1
        )
        placed.append((days[index], c))
    placed.sort(key=lambda p: (p[0], p[1].id))

    # What sells: a heavy-tailed popularity per product, times its category's season.
    popularity = [CATEGORIES[p.category][1] * rng.lognormvariate(0, 1.0) for p in products]
    for index in rng.sample(range(len(products)), NEVER_SOLD):
        popularity[index] = 0.0
    catalogue = {
        month: Weighted(
            products,
            (w * CATEGORIES[p.category][2].get(month, 1.0) for w, p in zip(popularity, products)),
        )
        for month in range(1, 13)
    }
    sellers: dict[int, list[tuple[Employee, int]]] = {}
    for e in employees:
        if e.title != TITLES[3]:
            sellers.setdefault(e.region_id, []).append((e, 1 if e.title == TITLES[2] else 3))

    orders: list[Row] = []
    items: list[Row] = []
    payments: list[Row] = []
    for order_id, (order_date, c) in enumerate(placed, 1):
        channel = CHANNELS[c.segment].pick(rng)
        employee_id = None
        if channel != "online":
            eligible = [(e, w) for e, w in sellers[c.region_id] if e.hired <= order_date]
            employee_id = rng.choices([e.id for e, _ in eligible], [w for _, w in eligible])[0]
        status = _status(rng, order_date)
        n_items = ITEMS_PER_ORDER.pick(rng)
        chosen: set[int] = set()
        for attempt in itertools.count():
            if len(chosen) == n_items or (chosen and attempt >= 4 * n_items):
                break
            p = catalogue[order_date.month].pick(rng)
            if p.launched > order_date or p.id in chosen:
                continue
            chosen.add(p.id)
            price = round(p.price * PRICE_LEVEL[order_date.year], 2)
            items.append(
                (
                    len(items) + 1,
                    order_id,
                    p.id,
                    _quantity(rng, p.category, c.segment),
                    price,
                    _discount(rng, order_date, c.segment),
                )
            )
        # total_amount and payments.amount are settled by SQLite (see SETTLE_TOTALS).
        orders.append((order_id, c.id, employee_id, order_date.isoformat(), status, channel, 0.0))
        if status not in ("pending", "cancelled"):
            method = PAY_METHODS[channel].pick(rng)
            delay = rng.randint(1, 10) if method == "bank_transfer" else rng.choice((0, 0, 0, 1, 2))
            paid_on = min(order_date + timedelta(days=delay), END)
            payments.append((len(payments) + 1, order_id, paid_on.isoformat(), 0.0, method))
    return orders, items, payments
