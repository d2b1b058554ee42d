"""The offline engine on a schema it was never written for: a fleet of vehicles and their trips.

PascalCase tables, camelCase and snake_case columns, a 0/1 flag, a unit in a column name, no
glossary: everything the engine knows comes from introspection. Each answer is run and compared
with a hand-written gold query.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlglot
from nlsql_server.agents.data import build_context
from nlsql_server.databases.sqlite import SqliteDatabase
from nlsql_server.engines.base import EngineContext
from nlsql_server.engines.offline import OfflineEngine
from nlsql_server.exceptions import CannotAnswer
from nlsql_server.glossary import Glossary
from test_offline_engine import assert_same

ENGINE = OfflineEngine()
FLEET = """
CREATE TABLE Depots (depotId INTEGER PRIMARY KEY, depotName TEXT NOT NULL, region TEXT NOT NULL);
CREATE TABLE Vehicles (vehicleId INTEGER PRIMARY KEY, plateNumber TEXT NOT NULL,
    model TEXT NOT NULL, fuel_type TEXT NOT NULL,
    depotId INTEGER NOT NULL REFERENCES Depots (depotId),
    inService INTEGER NOT NULL, purchasedOn DATE NOT NULL);
CREATE TABLE Drivers (driverId INTEGER PRIMARY KEY, driverName TEXT NOT NULL,
    licenceClass TEXT NOT NULL, hiredOn DATE NOT NULL);
CREATE TABLE Trips (tripId INTEGER PRIMARY KEY,
    vehicleId INTEGER NOT NULL REFERENCES Vehicles (vehicleId),
    driverId INTEGER NOT NULL REFERENCES Drivers (driverId),
    startedAt DATE NOT NULL, distanceKm REAL NOT NULL, fare REAL NOT NULL,
    tripStatus TEXT NOT NULL);
"""
REGIONS = ["North", "South", "Coastal", "Highlands"]
MODELS = ["Transit", "Sprinter", "Ducato", "Master", "Crafter"]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[SqliteDatabase, EngineContext]:
    path: Path = tmp_path_factory.mktemp("fleet") / "fleet.sqlite"
    rng = random.Random(11)

    def day(first: date, days: int) -> str:
        return (first + timedelta(days=rng.randrange(days))).isoformat()

    with sqlite3.connect(path) as conn:
        conn.executescript(FLEET)
        conn.executemany(
            "INSERT INTO Depots VALUES (?, ?, ?)",
            [(i, f"Depot {i}", REGIONS[i % 4]) for i in range(1, 9)],
        )
        conn.executemany(
            "INSERT INTO Vehicles VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, f"PL-{i:04d}", rng.choice(MODELS), rng.choice(["diesel", "electric"]),
              rng.randint(1, 8), int(rng.random() < 0.8), day(date(2019, 1, 1), 1800))
             for i in range(1, 61)],
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO Drivers VALUES (?, ?, ?, ?)",
            [(i, f"Driver {i}", rng.choice(["B", "C", "D"]), day(date(2015, 1, 1), 3000))
             for i in range(1, 41)],
        )  # fmt: skip
        conn.executemany(
            "INSERT INTO Trips VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(i, rng.randint(1, 55), rng.randint(1, 40), day(date(2024, 1, 1), 274),
              round(rng.uniform(2, 300), 1), round(rng.uniform(5, 400), 2),
              rng.choice(["completed"] * 8 + ["cancelled", "disputed"]))
             for i in range(1, 3001)],
        )  # fmt: skip
    conn.close()
    db = SqliteDatabase("fleet", path)
    return db, build_context(db, db.schema(), Glossary())


def test_the_reference_date_is_the_latest_date_in_the_data(fleet):
    db, context = fleet
    assert context.reference_date == date.fromisoformat(
        db.execute("SELECT MAX(startedAt) FROM Trips", 1).rows[0][0]
    )
    assert context.values[("Vehicles", "inService")] == ["0", "1"]


CASES = [
    ("how many trips are there", "SELECT COUNT(*) FROM Trips", True),
    ("total distance by depot",
     "SELECT d.depotName, SUM(t.distanceKm) FROM Trips t JOIN Vehicles v USING (vehicleId) "
     "JOIN Depots d ON d.depotId = v.depotId GROUP BY d.depotId", False),
    ("drivers with more than 80 trips",
     "SELECT d.driverName, COUNT(*) FROM Trips t JOIN Drivers d USING (driverId) "
     "GROUP BY d.driverId HAVING COUNT(*) > 80", False),
    ("how many drivers have at least 80 trips",
     "SELECT COUNT(*) FROM (SELECT 1 FROM Trips GROUP BY driverId HAVING COUNT(*) >= 80)", True),
    ("vehicles that never made a trip",
     "SELECT * FROM Vehicles WHERE vehicleId NOT IN (SELECT vehicleId FROM Trips) "
     "ORDER BY vehicleId", True),
    ("how many vehicles had no trips last month",
     "SELECT COUNT(*) FROM Vehicles WHERE vehicleId NOT IN (SELECT vehicleId FROM Trips "
     "WHERE startedAt >= '2024-08-01' AND startedAt < '2024-09-01')", True),
    ("what share of trips were cancelled",
     "SELECT 100.0 * SUM(tripStatus = 'cancelled') / COUNT(*) FROM Trips", True),
    ("percentage of total fare by region",
     "SELECT d.region, 100.0 * SUM(t.fare) / (SELECT SUM(fare) FROM Trips) FROM Trips t "
     "JOIN Vehicles v USING (vehicleId) JOIN Depots d ON d.depotId = v.depotId "
     "GROUP BY d.region", False),
    ("how many distinct models", "SELECT COUNT(DISTINCT model) FROM Vehicles", True),
    ("number of unique drivers with trips in August 2024",
     "SELECT COUNT(DISTINCT driverId) FROM Trips WHERE startedAt LIKE '2024-08-%'", True),
    ("trips with a fare over 390",
     "SELECT * FROM Trips WHERE fare > 390 ORDER BY tripId", True),
    ("how many trips over 290 km",
     "SELECT COUNT(*) FROM Trips WHERE distanceKm > 290", True),
    ("total fare this quarter",
     "SELECT SUM(fare) FROM Trips WHERE startedAt >= '2024-07-01'", True),
    ("trips per month in the last 3 months",
     "SELECT substr(startedAt, 1, 7) AS m, COUNT(*) FROM Trips WHERE startedAt >= '2024-07-01' "
     "GROUP BY m ORDER BY m", True),
    ("average number of trips per vehicle",
     "SELECT AVG(n) FROM (SELECT COUNT(*) AS n FROM Trips GROUP BY vehicleId)", True),
    ("top 3 depots by total fare",
     "SELECT d.depotName, SUM(t.fare) AS f FROM Trips t JOIN Vehicles v USING (vehicleId) "
     "JOIN Depots d ON d.depotId = v.depotId GROUP BY d.depotId ORDER BY f DESC LIMIT 3", True),
    ("which model has the fewest trips",
     "SELECT v.model, COUNT(*) AS n FROM Trips t JOIN Vehicles v USING (vehicleId) "
     "GROUP BY v.model ORDER BY n ASC LIMIT 1", True),
    ("depots ranked by distance",
     "SELECT d.depotName, SUM(t.distanceKm) AS k FROM Trips t JOIN Vehicles v USING (vehicleId) "
     "JOIN Depots d ON d.depotId = v.depotId GROUP BY d.depotId ORDER BY k DESC", True),
    ("trips for each fuel type",
     "SELECT v.fuel_type, COUNT(*) FROM Trips t JOIN Vehicles v USING (vehicleId) "
     "GROUP BY v.fuel_type", False),
    ("number of trips in the highlnds",
     "SELECT COUNT(*) FROM Trips t JOIN Vehicles v USING (vehicleId) JOIN Depots d "
     "ON d.depotId = v.depotId WHERE d.region = 'Highlands'", True),
    ("how many trips were disputd", "SELECT COUNT(*) FROM Trips WHERE tripStatus = 'disputed'",
     True),
    ("vehicles in service by model",
     "SELECT model, COUNT(*) FROM Vehicles WHERE inService = 1 GROUP BY model", False),
    ("how many vehicles are not in service",
     "SELECT COUNT(*) FROM Vehicles WHERE inService = 0", True),
]  # fmt: skip


@pytest.mark.parametrize(("question", "gold", "ordered"), CASES, ids=[c[0] for c in CASES])
def test_answers_match_gold(fleet, question, gold, ordered):
    db, context = fleet
    generated = ENGINE.generate(question, context)
    rows = db.execute(generated.sql, 100_000).rows
    assert rows, generated.sql
    assert_same(rows, db.execute(gold, 100_000).rows, ordered)
    mysql = ENGINE.generate(question, replace(context, dialect="mysql")).sql
    sqlglot.parse_one(mysql, read="mysql")


def test_a_reference_date_setting_moves_relative_periods(fleet):
    db, context = fleet
    earlier = replace(context, reference_date=date(2024, 3, 15))
    rows = db.execute(ENGINE.generate("total fare this quarter", earlier).sql, 10).rows
    gold = (
        "SELECT SUM(fare) FROM Trips WHERE startedAt >= '2024-01-01' AND startedAt < '2024-04-01'"
    )
    assert_same(rows, db.execute(gold, 10).rows, True)


def test_unmatched_words_lower_confidence_below_the_threshold(fleet):
    _, context = fleet
    sure = ENGINE.generate("total fare by region", context)
    unsure = ENGINE.generate("glittering splendid total fare by region", context)
    assert unsure.confidence < sure.confidence == 1.0
    strict = replace(context, min_confidence=unsure.confidence + 0.01)
    with pytest.raises(CannotAnswer) as caught:
        ENGINE.generate("glittering splendid total fare by region", strict)
    understood = caught.value.data["understood"]
    assert "glittering" in understood["ignored"]
    assert understood["group_by"] and understood["measure"]


@pytest.mark.parametrize(
    "question",
    ["total fare by planet", "drivers with more than", "share of", "trips in Atlantis",
     "average number of trips", "trips by weather", "busiest driver", "average age of drivers",
     "trips on weekends", "which drivers are late on trips", "median fare"],
)  # fmt: skip
def test_what_it_cannot_place_it_declines(fleet, question):
    _, context = fleet
    with pytest.raises(CannotAnswer) as caught:
        ENGINE.generate(question, context)
    assert caught.value.message


def test_dates_that_are_not_iso_do_not_break_the_schema(tmp_path, data_dir):
    """A DATE column holding '04/12/2005' (SQLite keeps whatever it is given) must not crash the
    engine's context; before, reading its year raised ValueError on every question."""
    import asyncio
    import sqlite3

    from nlsql_server import pipeline
    from nlsql_server.services import Services
    from nlsql_server.settings import Settings

    path = tmp_path / "flights.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE flight (flno INTEGER PRIMARY KEY, departure_date DATE)")
        db.executemany(
            "INSERT INTO flight (departure_date) VALUES (?)", [("04/12/2005",), ("04/13/2005",)]
        )
    services = Services.from_settings(Settings(data_dir=data_dir, samples=False))
    services.registry.add_sqlite("flights", path)
    answer = asyncio.run(pipeline.ask(services, "how many flights are there", database="flights"))
    assert answer["rows"] == [[2]]
