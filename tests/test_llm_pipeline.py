"""The LLM pipeline's checks and prompt parts (issue 10, part 3), against the scripted server.

No statement is sent to the database twice; a column its table lacks is caught before anything
runs, with where the column really is; the prompt carries foreign keys, sample values of the
linked columns, and only the dialect rules the tables need. The name check never refuses SQL the
database would accept (CTEs, subqueries, aliases, SQLite's double-quoted strings).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import sqlglot
from llm_server import ScriptedLlm, services_for
from nlsql_server import pipeline
from nlsql_server.databases.base import Column, DatabaseSchema, ForeignKey, Table
from nlsql_server.engines.base import EngineContext
from nlsql_server.engines.llm.names import unknown_name
from nlsql_server.engines.llm.options import Pipeline
from nlsql_server.engines.llm.prompt import build_messages
from nlsql_server.engines.llm.relevance import SchemaRanker, Selection
from nlsql_server.exceptions import CannotAnswer, QueryFailed
from nlsql_server.services import Services

GOOD_SQL = "SELECT channel, COUNT(*) AS orders FROM orders GROUP BY channel"


def ask(services: Services, question: str) -> dict[str, Any]:
    return asyncio.run(pipeline.ask(services, question, database="retail", engine="llm"))


def fenced(sql: str) -> str:
    return f"```sql\n{sql}\n```"


# -- no statement is tried twice ---------------------------------------------------------------

FAILING = "SELECT YEAR(order_date) AS year, COUNT(*) AS orders FROM orders GROUP BY 1"


def test_a_repeated_statement_is_not_run_again_but_asked_anew(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir, llm_temperature=0.0)
    llm_server.enqueue(fenced(FAILING), fenced(FAILING.lower()), fenced(GOOD_SQL))
    answer = ask(services, "orders per channel")

    assert answer["row_count"] == 3
    assert len(answer["attempts"]) == 1  # the repeat never reached the database
    assert len(llm_server.requests) == 3
    again = llm_server.requests[2]
    assert "already tried" in again["messages"][-1]["content"]
    assert again["temperature"] > llm_server.requests[1]["temperature"] == 0.0


def test_a_model_that_keeps_repeating_itself_gives_up_without_running_it(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir, llm_temperature=0.0)
    llm_server.enqueue(*[fenced(FAILING)] * 3)
    with pytest.raises(CannotAnswer, match="already tried"):
        ask(services, "orders per channel")
    assert len(llm_server.requests) == 3


def test_retries_of_different_statements_stop_after_two(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir, llm_temperature=0.0)
    tries = [FAILING.replace("YEAR", name) for name in ("YEAR", "MONTH", "DAY")]
    llm_server.enqueue(*map(fenced, tries))
    with pytest.raises(QueryFailed, match="no such function") as caught:
        ask(services, "orders per year")
    assert len(llm_server.requests) == 3
    assert len({a["sql"] for a in caught.value.data["attempts"]}) == 3


# -- names are checked against the schema before running ---------------------------------------


def test_a_column_unknown_to_its_table_is_caught_before_running(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir, llm_temperature=0.0)
    wrong = "SELECT o.region_name, COUNT(*) AS orders FROM orders o GROUP BY o.region_name"
    llm_server.enqueue(fenced(wrong), fenced(GOOD_SQL))
    answer = ask(services, "orders per channel")

    assert answer["row_count"] == 3
    error = answer["attempts"][0]["error"]
    assert "orders has no column region_name" in error
    assert "regions.region_name" in error  # where it really is
    assert "no such column" not in error  # the database was never asked
    assert error in llm_server.requests[1]["messages"][-1]["content"]


SCHEMA = DatabaseSchema(
    tables=(
        Table("Artist", (Column("ArtistId", "INTEGER", primary_key=True), Column("Name", "TEXT"))),
        Table(
            "Album",
            (Column("AlbumId", "INTEGER"), Column("Title", "TEXT"), Column("ArtistId", "INTEGER")),
            (ForeignKey("ArtistId", "Artist", "ArtistId"),),
        ),
        Table("Movie", (Column("title", "TEXT"), Column("year", "INT"))),
    )
)


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("SELECT al.Name FROM Album al", "Album has no column Name. It is a column of Artist"),
        ("SELECT Name FROM Album", "join Album.ArtistId = Artist.ArtistId"),
        ("SELECT Nme FROM Album JOIN Artist USING (ArtistId)", "Did you mean Artist.Name?"),
        ("SELECT * FROM Albums", "There is no table Albums"),
    ],
)
def test_unknown_names_are_reported_with_where_they_are(sql: str, words: str) -> None:
    problem = unknown_name(sqlglot.parse_one(sql, read="sqlite"), SCHEMA)
    assert problem is not None and words in problem


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ar.Name FROM Album al JOIN Artist ar ON ar.ArtistId = al.ArtistId",
        "SELECT Title FROM Album JOIN Artist USING (ArtistId) WHERE Name = 'x'",
        "SELECT x.Title FROM (SELECT Title FROM Album) AS x",
        "WITH t AS (SELECT ArtistId, COUNT(*) AS n FROM Album GROUP BY ArtistId) "
        "SELECT Name, n FROM t JOIN Artist USING (ArtistId)",
        "SELECT Title FROM Album a WHERE EXISTS "
        "(SELECT 1 FROM Artist r WHERE r.ArtistId = a.ArtistId AND r.Name = 'x')",
        "SELECT Title, COUNT(*) AS n FROM Album GROUP BY Title HAVING n > 1 ORDER BY n",
        'SELECT title FROM Movie WHERE title = "Avatar"',
        "select TITLE from movie where YEAR < 1980",
    ],
)
def test_sql_the_database_accepts_is_never_refused(sql: str) -> None:
    assert unknown_name(sqlglot.parse_one(sql, read="sqlite"), SCHEMA) is None


# -- what a question costs --------------------------------------------------------------------


def test_the_tokens_each_call_sent_are_added_up(llm_server: ScriptedLlm, data_dir: Path) -> None:
    services = services_for(llm_server, data_dir, llm_temperature=0.0)
    llm_server.enqueue(fenced(FAILING), fenced(GOOD_SQL))
    ask(services, "orders per channel")
    sent = [sum(len(m["content"].split()) for m in r["messages"]) for r in llm_server.requests]
    usage = services.nlp.llm.usage
    assert usage.calls == 2 and usage.prompt_tokens == sum(sent) > 0


# -- what the prompt carries -------------------------------------------------------------------


def test_the_prompt_carries_foreign_keys_and_values_of_the_linked_columns(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    services = services_for(llm_server, data_dir, llm_temperature=0.0)
    llm_server.enqueue(fenced(GOOD_SQL))
    ask(services, "orders per channel")
    system = llm_server.requests[0]["messages"][0]["content"]
    assert "customer_id INTEGER REFERENCES customers(customer_id)" in system
    assert "channel TEXT" in system and "'online'" in system.lower()


def system_prompt(schema: DatabaseSchema, options: Pipeline | None = None) -> str:
    context = EngineContext(schema=schema, dialect="sqlite")
    selection = Selection(tables=tuple(schema.table_names))
    return build_messages("q", context, selection, options=options)[0]["content"]


def test_rules_fit_the_schema_at_hand() -> None:
    movies = DatabaseSchema(tables=(SCHEMA.tables[2],))
    dated = DatabaseSchema(tables=(Table("Rating", (Column("ratingDate", "date"),)),))

    assert "strftime" not in system_prompt(movies)  # no date columns, no date functions
    assert "The year is a number in Movie.year" in system_prompt(movies)
    assert "strftime('%Y', col)" in system_prompt(dated)
    assert "strftime" in system_prompt(movies, Pipeline(fitted_rules=False))
    assert "refine the previous one" not in system_prompt(movies)  # no earlier turns


def test_each_prompt_part_can_be_switched_off_for_ablation() -> None:
    assert "REFERENCES Artist(ArtistId)" in system_prompt(SCHEMA)
    assert "REFERENCES" not in system_prompt(SCHEMA, Pipeline(foreign_keys=False))


def test_a_schema_that_fits_is_shown_whole_even_when_the_question_names_no_table() -> None:
    tables = tuple(
        Table(f"t{i}", (Column(f"c{i}_id", "INTEGER", primary_key=True), Column("v", "TEXT")))
        for i in range(11)
    )
    context = EngineContext(schema=DatabaseSchema(tables=tables), dialect="sqlite")
    question = "how much did we sell in 2012?"
    assert SchemaRanker(max_tables=8, max_columns=120).select(question, context).tables == tuple(
        t.name for t in tables
    )
    assert SchemaRanker(max_tables=8).select(question, context).tables == ()
