"""The `nlsql` command as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

SEED_TOP = "Show me the top 5 customers by total purchase amount"
SEED_AOV = "What is the average order value per month for 2024?"


def nlsql(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nlsql_server", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_databases_as_json_give_absolute_sqlite_urls(data_dir):
    done = nlsql("databases", "--format", "json")
    assert done.returncode == 0, done.stderr
    databases = {d["name"]: d for d in json.loads(done.stdout)}
    assert set(databases) >= {"retail", "finance"}
    url = databases["retail"]["url"]
    assert url.startswith("sqlite:///") and Path(url.removeprefix("sqlite:///")).is_absolute()
    assert databases["retail"]["dialect"] == "sqlite"


def test_databases_as_table(data_dir):
    done = nlsql("databases")
    assert done.returncode == 0
    assert "retail" in done.stdout and "finance" in done.stdout and "dialect" in done.stdout


def test_ask_json_answers_the_seed_questions(data_dir):
    top = json.loads(nlsql("ask", "--db", "retail", "--format", "json", SEED_TOP).stdout)
    assert top["error"] is None and top["engine"] == "offline"
    assert len(top["rows"]) == 5 and top["sql"].upper().startswith("SELECT")
    aov = json.loads(nlsql("ask", "--db", "retail", "--format", "json", SEED_AOV).stdout)
    assert len(aov["rows"]) == 12


def test_ask_file_answers_in_order_and_the_batch_goes_on(data_dir, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text(f"{SEED_TOP}\nwhat is the meaning of life\n\n{SEED_AOV}\n")
    done = nlsql("ask", "--db", "retail", "--file", str(questions))
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["question"] for a in answers] == [SEED_TOP, "what is the meaning of life", SEED_AOV]
    assert answers[0]["error"] is None and answers[2]["error"] is None
    assert answers[1]["error"] and answers[1]["sql"] is None
    assert done.returncode == 1


def test_ask_reads_questions_from_stdin(data_dir):
    done = nlsql("ask", "--db", "retail", "--file", "-", stdin=f"{SEED_TOP}\n")
    assert done.returncode == 0
    assert len(json.loads(done.stdout.strip())["rows"]) == 5


def test_ask_table_format_shows_sql_and_rows(data_dir):
    done = nlsql("ask", "--db", "retail", SEED_TOP)
    assert done.returncode == 0
    assert "SELECT" in done.stdout and "(5 rows" in done.stdout


def test_any_sqlite_file_works_by_path(tmp_path):
    path = tmp_path / "zoo.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE animals (animal_id INTEGER PRIMARY KEY, species TEXT, weight REAL)"
        )
        conn.executemany(
            "INSERT INTO animals (species, weight) VALUES (?, ?)",
            [("lion", 190.0), ("lion", 170.5), ("zebra", 300.0)],
        )
    done = nlsql("ask", "--db", str(path), "--format", "json", "how many animals are there")
    answer = json.loads(done.stdout)
    assert answer["error"] is None, answer
    assert answer["rows"] == [[3]]


@pytest.mark.parametrize(
    "db, message",
    [
        ("nope", "Unknown database 'nope'"),
        ("/no/such/file.sqlite", "No such SQLite file"),
    ],
)
def test_bad_database_is_a_clear_error(db, message):
    done = nlsql("ask", "--db", db, "how many orders")
    assert done.returncode == 2
    assert message in done.stderr


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("just some text")
    done = nlsql("ask", "--db", str(path), "how many orders")
    assert done.returncode == 2
    assert "Not a SQLite database" in done.stderr
