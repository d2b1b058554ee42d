"""The `clinic` database: a schema no engine was written for, generated deterministically.

Its names share nothing with the samples (camelCase columns, different nouns), so an engine that
answers here works from introspection alone. Dates run 2023-01-01 to 2025-06-30, so relative
periods ("last year", "this quarter") land elsewhere than on the samples.
"""

from __future__ import annotations

import random
import sqlite3
from contextlib import closing
from datetime import date, timedelta
from pathlib import Path

VERSION = 1
SEED = 5150
START, END = date(2023, 1, 1), date(2025, 6, 30)

SCHEMA = """
CREATE TABLE clinics (
    clinicId INTEGER PRIMARY KEY,
    clinicName TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL
);
CREATE TABLE doctors (
    doctorId INTEGER PRIMARY KEY,
    fullName TEXT NOT NULL,
    specialty TEXT NOT NULL,
    clinicId INTEGER NOT NULL REFERENCES clinics (clinicId),
    hiredOn DATE NOT NULL
);
CREATE TABLE patients (
    patientId INTEGER PRIMARY KEY,
    firstName TEXT NOT NULL,
    lastName TEXT NOT NULL,
    birthDate DATE NOT NULL,
    insurancePlan TEXT NOT NULL,
    registeredOn DATE NOT NULL
);
CREATE TABLE appointments (
    appointmentId INTEGER PRIMARY KEY,
    patientId INTEGER NOT NULL REFERENCES patients (patientId),
    doctorId INTEGER NOT NULL REFERENCES doctors (doctorId),
    scheduledFor DATE NOT NULL,
    visitType TEXT NOT NULL,
    status TEXT NOT NULL,
    fee REAL NOT NULL
);
CREATE TABLE prescriptions (
    prescriptionId INTEGER PRIMARY KEY,
    appointmentId INTEGER NOT NULL REFERENCES appointments (appointmentId),
    drugName TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    unitCost REAL NOT NULL
);
"""

CLINICS = [("Riverside Health", "Riverton"), ("Lakeside Care", "Lakeside"),
           ("Hillcrest Medical", "Hillcrest"), ("Maple Family Practice", "Maplewood"),
           ("Brookfield Clinic", "Brookfield")]  # fmt: skip
SPECIALTIES = ["Cardiology", "Dermatology", "Pediatrics", "Orthopedics", "General Practice",
               "Neurology"]  # fmt: skip
PLANS = ["Basic", "Plus", "Premium"]
VISIT_TYPES = ["checkup", "follow-up", "emergency", "consultation"]
STATUSES = ["completed"] * 7 + ["cancelled", "no-show"]
DRUGS = {"Amoxicillin": 4.5, "Ibuprofen": 0.8, "Lisinopril": 2.1, "Metformin": 1.6,
         "Atorvastatin": 3.2, "Omeprazole": 2.7, "Cetirizine": 0.9, "Sertraline": 3.8}  # fmt: skip
FIRST = ["Ada", "Ben", "Cleo", "Dev", "Ena", "Finn", "Gia", "Hal", "Iris", "Jon", "Kai", "Lena",
         "Milo", "Nia", "Otto", "Pia", "Quin", "Rosa", "Sami", "Tess"]  # fmt: skip
LAST = ["Abbott", "Baker", "Cruz", "Dunn", "Ellis", "Frost", "Gray", "Holt", "Ives", "Jensen",
        "Kerr", "Lowe", "Marsh", "Nash", "Orr", "Pike", "Quade", "Reyes", "Stone", "Tate"]  # fmt: skip


def _day(rng: random.Random, first: date = START, last: date = END) -> str:
    return (first + timedelta(days=rng.randrange((last - first).days + 1))).isoformat()


def generate(path: Path) -> None:
    """Write the clinic database to `path` (replacing it): same rows on every run."""
    rng = random.Random(SEED)
    path.unlink(missing_ok=True)
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(SCHEMA)
        conn.executemany(
            "INSERT INTO clinics VALUES (?, ?, ?)",
            [(i, name, city) for i, (name, city) in enumerate(CLINICS, start=1)],
        )
        doctors = [
            (i, f"Dr. {rng.choice(FIRST)} {rng.choice(LAST)}", SPECIALTIES[i % len(SPECIALTIES)],
             rng.randint(1, len(CLINICS)), _day(rng, date(2010, 1, 1), date(2024, 12, 31)))
            for i in range(1, 31)
        ]  # fmt: skip
        conn.executemany("INSERT INTO doctors VALUES (?, ?, ?, ?, ?)", doctors)
        patients = [
            (i, rng.choice(FIRST), rng.choice(LAST), _day(rng, date(1940, 1, 1), date(2020, 12, 31)),
             rng.choice(PLANS), _day(rng))
            for i in range(1, 1501)
        ]  # fmt: skip
        conn.executemany("INSERT INTO patients VALUES (?, ?, ?, ?, ?, ?)", patients)
        # Doctors 29 and 30 never see anyone; about one patient in ten never comes.
        active = [p[0] for p in patients if rng.random() < 0.9]
        appointments: list[tuple[object, ...]] = []
        for i in range(1, 12001):
            kind = rng.choice(VISIT_TYPES)
            fee = {"checkup": 80, "follow-up": 60, "emergency": 250, "consultation": 120}[kind]
            appointments.append(
                (i, rng.choice(active), rng.randint(1, 28), _day(rng), kind, rng.choice(STATUSES),
                 round(fee * rng.uniform(0.8, 1.3), 2))
            )  # fmt: skip
        conn.executemany("INSERT INTO appointments VALUES (?, ?, ?, ?, ?, ?, ?)", appointments)
        prescriptions: list[tuple[object, ...]] = []
        for appointment in appointments:
            if appointment[5] != "completed":
                continue
            for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                drug = rng.choice(list(DRUGS))
                prescriptions.append(
                    (len(prescriptions) + 1, appointment[0], drug, rng.choice([10, 14, 20, 28, 30]),
                     round(DRUGS[drug] * rng.uniform(0.9, 1.1), 2))
                )  # fmt: skip
        conn.executemany("INSERT INTO prescriptions VALUES (?, ?, ?, ?, ?)", prescriptions)
        conn.execute(f"PRAGMA user_version = {VERSION}")


def ensure(data_dir: Path) -> Path:
    """`<data_dir>/clinic.sqlite`, generated first when missing or from another version."""
    path = data_dir / "clinic.sqlite"
    if path.is_file():
        with closing(sqlite3.connect(path)) as conn:
            if conn.execute("PRAGMA user_version").fetchone()[0] == VERSION:
                return path
    data_dir.mkdir(parents=True, exist_ok=True)
    generate(path)
    return path
