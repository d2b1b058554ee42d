"""Clarifying questions that teach the glossary (issue 15, part 3).

A question with two readings — a table with two dates and nothing that picks one, a word with
two glossary meanings — is answered `needs_clarification` with the options; the chosen option
answers it; a remembered choice lands in the database's glossary overlay and the next question
reads it, in both engines. Through a real server (JSON-RPC over HTTP), the `nlsql` CLI as a
subprocess, the MCP ask tool, and a real kernel clicking the widget's buttons.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import ServerThread
from llm_server import ScriptedLlm, services_for
from nlsql_server import pipeline
from nlsql_server.app import create_app
from nlsql_server.settings import Settings

MARCH = "how many parcels in March 2024"
BY_MONTH = "total weight of parcels per month in 2024"


def make_shop(folder: Path) -> Path:
    """A databases file naming one SQLite database, `shop`: parcels with two dates (sent and
    delivered), and a glossary where "big" has two meanings."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "shop.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE parcels (id INTEGER PRIMARY KEY, city TEXT NOT NULL, "
            "weight_kg REAL NOT NULL, sent_on DATE NOT NULL, delivered_on DATE)"
        )
        rows = []
        for i in range(1, 121):
            sent = f"2024-{(i % 12) + 1:02d}-{(i % 27) + 1:02d}"
            month = (i % 12) + 2
            delivered = f"{2024 + month // 13}-{(month - 1) % 12 + 1:02d}-03"
            rows.append(
                (i, ("Berlin", "Linden", "Lindau")[i % 3], (i * 7) % 23 + 0.5, sent, delivered)
            )
        db.executemany("INSERT INTO parcels VALUES (?, ?, ?, ?, ?)", rows)
    (folder / "shop_glossary.toml").write_text(
        'dialect = "sqlite"\n\n'
        '[[term]]\nnames = ["big"]\nkind = "filter"\nfilter = "parcels.weight_kg > 10"\n'
        'tables = ["parcels"]\ndescription = "Heavier than 10 kg"\n\n'
        '[[term]]\nnames = ["big"]\nkind = "filter"\nfilter = "parcels.weight_kg > 20"\n'
        'tables = ["parcels"]\ndescription = "Heavier than 20 kg (the courier\'s surcharge)"\n',
        encoding="utf-8",
    )
    databases = folder / "databases.toml"
    databases.write_text(
        '[databases.shop]\nurl = "sqlite:///shop.sqlite"\nglossary = "shop_glossary.toml"\n',
        encoding="utf-8",
    )
    return databases


def count(folder: Path, sql: str) -> Any:
    with sqlite3.connect(folder / "shop.sqlite") as db:
        return db.execute(sql).fetchone()[0]


@pytest.fixture
def shop(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A real server on the shop, its overlays in the default place: beside the databases file."""
    monkeypatch.delenv("NLSQL_GLOSSARY_DIR", raising=False)
    databases = make_shop(tmp_path / "config")
    settings = Settings(data_dir=data_dir, databases_file=databases, samples=False)
    with ServerThread(create_app(settings)) as running:
        running.folder = tmp_path / "config"  # type: ignore[attr-defined]
        yield running


def call(url: str, method: str, params: dict[str, Any]) -> dict[str, Any]:
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return httpx.post(f"{url}/rpc", json=body, timeout=60).json()


def ask(url: str, question: str, **params: Any) -> dict[str, Any]:
    return call(url, "ask", {"question": question, "database": "shop", **params})


# -- the server ---------------------------------------------------------------------------------


def test_two_dates_and_nothing_to_pick_one_ask_which_and_the_choice_answers(shop):
    asked = ask(shop.url, MARCH)["error"]
    assert asked["data"]["code"] == "needs_clarification"
    assert "sent_on or delivered_on" in asked["message"]
    options = asked["data"]["options"]
    assert [o["label"] for o in options] == ["parcels by sent on", "parcels by delivered on"]
    assert asked["data"]["database"] == "shop"

    answered = ask(shop.url, MARCH, choice=options[1]["choice"])["result"]
    assert "delivered_on" in answered["sql"] and "sent_on" not in answered["sql"]
    delivered = "SELECT COUNT(*) FROM parcels WHERE delivered_on LIKE '2024-03-%'"
    assert answered["rows"] == [[count(shop.folder, delivered)]]
    # a choice is for that question only until it is remembered
    assert ask(shop.url, MARCH)["error"]["data"]["code"] == "needs_clarification"


def test_a_choice_holds_for_the_rest_of_the_conversation(shop):
    sid = call(shop.url, "session.open", {})["result"]["session_id"]
    options = ask(shop.url, MARCH, session_id=sid)["error"]["data"]["options"]
    ask(shop.url, MARCH, session_id=sid, choice=options[1]["choice"])
    following = ask(shop.url, "what about April 2024?", session_id=sid)["result"]
    assert "delivered_on" in following["sql"] and "sent_on" not in following["sql"]
    assert "delivered_on" in ask(shop.url, BY_MONTH, session_id=sid)["result"]["sql"]
    # another conversation was not asked
    other = call(shop.url, "session.open", {})["result"]["session_id"]
    assert (
        ask(shop.url, BY_MONTH, session_id=other)["error"]["data"]["code"] == "needs_clarification"
    )


def test_a_remembered_choice_is_in_the_overlay_and_the_next_question_uses_it(shop):
    options = ask(shop.url, MARCH)["error"]["data"]["options"]
    state = call(
        shop.url, "glossary.add", {"database": "shop", "term": options[0]["choice"]["term"]}
    )
    assert [t["date_column"] for t in state["result"]["overlay"]] == ["parcels.sent_on"]
    overlay = shop.folder / "glossary" / "shop.toml"  # beside the databases file
    assert 'date_column = "parcels.sent_on"' in overlay.read_text(encoding="utf-8")

    following = ask(shop.url, BY_MONTH)["result"]
    assert "sent_on" in following["sql"] and "delivered_on" not in following["sql"]
    assert len(following["rows"]) == 12
    march = ask(shop.url, MARCH)["result"]
    sent = "SELECT COUNT(*) FROM parcels WHERE sent_on LIKE '2024-03-%'"
    assert march["rows"] == [[count(shop.folder, sent)]]

    forgotten = call(shop.url, "glossary.remove", {"database": "shop", "name": "parcels"})
    assert forgotten["result"]["overlay"] == [] and forgotten["result"]["removed"] == 1
    again = call(shop.url, "glossary.remove", {"database": "shop", "name": "parcels"})
    assert again["result"]["removed"] == 0  # sent twice (a reconnect): no error
    assert ask(shop.url, BY_MONTH)["error"]["data"]["code"] == "needs_clarification"


def test_a_word_with_two_glossary_meanings_asks_and_remembering_one_settles_it(shop):
    asked = ask(shop.url, "how many big parcels")["error"]
    assert asked["data"]["code"] == "needs_clarification"
    labels = [o["label"] for o in asked["data"]["options"]]
    assert labels == [
        "“big” as Heavier than 10 kg",
        "“big” as Heavier than 20 kg (the courier's surcharge)",
    ]
    term = asked["data"]["options"][1]["choice"]["term"]
    over_20 = count(shop.folder, "SELECT COUNT(*) FROM parcels WHERE weight_kg > 20")
    assert ask(shop.url, "how many big parcels", choice={"term": term})["result"]["rows"] == [
        [over_20]
    ]
    call(shop.url, "glossary.add", {"database": "shop", "term": term})
    per_city = ask(shop.url, "number of big parcels per city")["result"]
    assert sum(row[1] for row in per_city["rows"]) == over_20
    listed = call(shop.url, "glossary.list", {"database": "shop"})["result"]
    assert [t["names"] for t in listed["overlay"]] == [["big"]]
    assert len(listed["glossary"]) == 2  # the database's own glossary is left as it was


def test_a_typo_close_to_two_values_asks_which_value(shop):
    asked = ask(shop.url, "how many parcels in Lindan")["error"]
    assert asked["data"]["code"] == "needs_clarification"
    assert asked["message"] == "“lindan” is in no table: did you mean “Linden” or “Lindau”?"
    options = asked["data"]["options"]
    assert [o["label"] for o in options] == ["Linden (parcels city)", "Lindau (parcels city)"]
    answered = ask(shop.url, "how many parcels in Lindan", choice=options[1]["choice"])["result"]
    lindau = count(shop.folder, "SELECT COUNT(*) FROM parcels WHERE city = 'Lindau'")
    assert answered["rows"] == [[lindau]]


def test_a_remembered_date_wins_over_the_database_glossarys(tmp_path: Path, data_dir: Path):
    # the finance sample's glossary dates invoices by issued_on (they have three dates)
    settings = Settings(data_dir=data_dir, glossary_dir=tmp_path)
    with ServerThread(create_app(settings)) as running:
        question = {"question": "how many invoices in 2024", "database": "finance"}
        before = call(running.url, "ask", question)["result"]["sql"]
        paid = {"names": ["invoices"], "kind": "date", "date_column": "invoices.paid_on"}
        call(running.url, "glossary.add", {"database": "finance", "term": paid})
        after = call(running.url, "ask", question)["result"]["sql"]
    assert "issued_on" in before and "paid_on" not in before
    assert "paid_on" in after and "issued_on" not in after


def test_a_choice_that_is_no_glossary_term_is_refused(shop):
    refused = ask(shop.url, MARCH, choice={"term": {"names": ["parcels"], "kind": "date"}})
    assert refused["error"]["data"]["code"] == "invalid_params"
    assert "date_column" in refused["error"]["message"]
    bad = call(shop.url, "glossary.add", {"database": "shop", "term": {"names": [1]}})
    assert bad["error"]["data"]["code"] == "invalid_params"
    assert not (shop.folder / "glossary" / "shop.toml").exists()


def test_the_llm_engine_reads_a_remembered_choice(
    tmp_path: Path, data_dir: Path, llm_server: ScriptedLlm
):
    databases = make_shop(tmp_path / "config")
    services = services_for(
        llm_server, data_dir, databases_file=databases, glossary_dir=tmp_path / "overlay"
    )
    services.registry.overlay("shop").add(
        {"names": ["parcels"], "kind": "date", "date_column": "parcels.delivered_on"}, "sqlite"
    )
    llm_server.enqueue("```sql\nSELECT COUNT(*) FROM parcels\n```")
    asyncio.run(pipeline.ask(services, MARCH, database="shop", engine="llm"))
    assert (
        "when a question places parcels in time without saying by which date, use "
        "parcels.delivered_on" in llm_server.prompts[0]
    )


# -- the CLI and MCP ----------------------------------------------------------------------------


def nlsql(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "NLSQL_DATABASES": str(folder / "databases.toml"),
        "NLSQL_GLOSSARY_DIR": str(folder / "overlay"),
    }
    return subprocess.run(
        [sys.executable, "-m", "nlsql_server", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_cli_numbers_the_options_and_choose_remember_answers_and_keeps_it(tmp_path: Path):
    folder = tmp_path / "config"
    make_shop(folder)
    asked = nlsql(folder, "ask", "--db", "shop", MARCH)
    assert asked.returncode == 1
    assert "  1. parcels by sent on\n  2. parcels by delivered on\n" in asked.stdout
    assert "--choose N" in asked.stdout

    chosen = nlsql(folder, "ask", "--db", "shop", MARCH, "--choose", "2", "--remember")
    assert chosen.returncode == 0, chosen.stderr
    assert "-- as: parcels by delivered on" in chosen.stdout
    assert "delivered_on" in chosen.stdout

    following = nlsql(folder, "ask", "--db", "shop", "--format", "json", BY_MONTH)
    assert following.returncode == 0
    assert "delivered_on" in json.loads(following.stdout)["sql"]

    listed = nlsql(folder, "glossary", "list", "--db", "shop")
    assert "overlay   parcels  date" in listed.stdout
    assert "dated by parcels.delivered_on" in listed.stdout
    assert nlsql(folder, "glossary", "remove", "--db", "shop", "parcels").returncode == 0
    nothing = nlsql(folder, "glossary", "remove", "--db", "shop", "parcels")
    assert nothing.returncode == 1 and "nothing is remembered as 'parcels'" in nothing.stderr
    assert nlsql(folder, "ask", "--db", "shop", BY_MONTH).returncode == 1

    added = nlsql(
        folder, "glossary", "add", "--db", "shop", "big", "--filter", "parcels.weight_kg > 20"
    )
    assert added.returncode == 0, added.stderr
    big = nlsql(folder, "ask", "--db", "shop", "--format", "json", "how many big parcels")
    assert "weight_kg > 20" in json.loads(big.stdout)["sql"]
    out_of_range = nlsql(folder, "ask", "--db", "shop", MARCH, "--choose", "3")
    assert out_of_range.returncode == 1 and "options 1 to 2" in out_of_range.stdout


def test_the_mcp_ask_tool_lists_the_options_and_takes_choose(shop):
    def tool(arguments: dict[str, Any]) -> dict[str, Any]:
        result = call(shop.url, "tools.call", {"name": "ask", "arguments": arguments})["result"]
        assert not result.get("isError"), result
        return result["structuredContent"]

    asked = tool({"question": MARCH, "database": "shop"})
    assert asked["needs_clarification"] is True
    assert [(o["number"], o["label"]) for o in asked["options"]] == [
        (1, "parcels by sent on"),
        (2, "parcels by delivered on"),
    ]
    assert "`choose`" in asked["message"]
    answered = tool({"question": MARCH, "database": "shop", "choose": 1})
    assert answered["chosen"] == "parcels by sent on" and "sent_on" in answered["sql"]


# -- a real kernel ------------------------------------------------------------------------------

KERNEL_CELLS = [
    "%nlsql use shop",
    f"%%ask\n{MARCH}",
    "c = _\nprint(bool(c), [b.description for b in c.buttons])",
    "c.buttons[1].click()\n"
    "print(bool(c), 'delivered_on' in c.sql, int(c.df.iloc[0, 0]))\n"
    "print('delivered_on' in c.output.outputs[0]['data']['text/plain'])",
    "c.remember_button.click()\nprint(c.remember_button.disabled, 'Remembered' in c.status.value)",
    f"%%ask\n{BY_MONTH}",
    "print('delivered_on' in _.sql, len(_.df))",
    "%nlsql glossary",
    "import pandas as pd\n"
    "parcels = pd.DataFrame({'city': ['Berlin', 'Rome'],\n"
    "    'sent_on': pd.to_datetime(['2024-03-01', '2024-02-27']),\n"
    "    'delivered_on': pd.to_datetime(['2024-03-04', '2024-03-02'])})",
    "%%ask --from parcels\nhow many parcels in March 2024",
    "f = _\nf.buttons[0].click()\nprint(int(f.df.iloc[0, 0]), f.remember_button.layout.display)",
    "%config AskMagics.strict = True",
    "%%ask\nhow many big parcels",
]


def test_a_kernel_shows_buttons_answers_on_click_and_remembers(tmp_path: Path, data_dir: Path):
    import nbformat
    from nbclient import NotebookClient

    databases = make_shop(tmp_path / "config")
    overlay = tmp_path / "overlay"
    settings = Settings(data_dir=data_dir, databases_file=databases, glossary_dir=overlay)
    with ServerThread(create_app(settings)) as running:
        cells = [f"%load_ext nlsql_jupyter\n%nlsql connect {running.url}", *KERNEL_CELLS]
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
        notebook.cells[-1].metadata["tags"] = ["raises-exception"]
        NotebookClient(notebook, timeout=300, kernel_name="python3").execute()
    printed = [
        "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").strip()
        for cell in notebook.cells
    ]
    asked = notebook.cells[2].outputs
    assert not [o for o in asked if o.output_type == "error"]  # "Run All" goes on
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in asked)
    assert printed[3] == "False ['parcels by sent on', 'parcels by delivered on']"
    delivered = count(
        tmp_path / "config", "SELECT COUNT(*) FROM parcels WHERE delivered_on LIKE '2024-03-%'"
    )
    assert printed[4] == f"True True {delivered}\nTrue"
    assert printed[5] == "True True"
    assert 'date_column = "parcels.delivered_on"' in (overlay / "shop.toml").read_text()
    assert printed[7] == "True 11"  # parcels were delivered in 11 months of 2024 (sent in 12)
    assert "dated by parcels.delivered_on" in json.dumps(notebook.cells[8].outputs)
    # the notebook's own DataFrames: the chosen reading runs here again; nothing to remember
    assert printed[11] == "1 none"
    error = [o for o in notebook.cells[-1].outputs if o.output_type == "error"]
    assert error and error[0]["ename"] == "NeedsClarification"
    assert "1. “big” as Heavier than 10 kg" in "\n".join(error[0]["traceback"])
