"""Replayable answers (issue 15, part 1): `%%ask --replay`, `NLSQL_REPLAY=1`, `nl.replay`,
`%%ask --freeze` and `%nlsql sql`, against the real bundled server; the whole notebook is
executed by a real kernel with an LLM engine, then replayed with the LLM endpoint down."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import nbformat
import pandas as pd
from conftest import ServerThread
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output
from llm_server import ScriptedLlm

import nlsql_jupyter
from nlsql_jupyter.answer import Answer
from nlsql_jupyter.replays import Stale

SEED_TOP = "Show me the top 5 customers by total purchase amount"


def run(ip: InteractiveShell, cell: str) -> tuple[Any, CapturedIO]:
    with capture_output() as captured:
        result = ip.run_cell(cell)
    return result, captured


def shown(captured: CapturedIO) -> list[Any]:
    """The outputs as the notebook keeps them (one per display id, in its last state)."""
    final: dict[Any, Any] = {}
    for position, output in enumerate(captured.outputs):
        display_id = (output.transient or {}).get("display_id")
        final[display_id if display_id is not None else position] = output
    return list(final.values())


def text(captured: CapturedIO) -> str:
    plain = "\n".join(o.data.get("text/plain", "") for o in shown(captured))
    return captured.stdout + captured.stderr + plain


def saved_notebook(path: Path, cells: list[tuple[str, CapturedIO]]) -> Path:
    """A notebook file holding `cells` with their outputs, as Jupyter saves it."""
    notebook = nbformat.v4.new_notebook()
    for source, captured in cells:
        outputs = [
            nbformat.v4.new_output("display_data", data=o.data, metadata=o.metadata)
            for o in shown(captured)
            if o.data
        ]
        notebook.cells.append(nbformat.v4.new_code_cell(source, outputs=outputs))
    nbformat.write(notebook, path)
    return path


def test_replay_runs_the_sql_saved_in_the_notebook_not_a_new_one(ip, tmp_path):
    cell = f"%%ask --db retail\n{SEED_TOP}"
    asked, captured = run(ip, cell)
    assert asked.success, asked.error_in_exec
    original: Answer = asked.result
    for output in captured.outputs:  # the saved SQL differs from what the engine writes
        if "nlsql" in (output.metadata or {}):
            output.metadata["nlsql"]["sql"] = original.sql.replace("LIMIT 5", "LIMIT 3")
    notebook = saved_notebook(tmp_path / "analysis.ipynb", [(cell, captured)])
    ip.run_cell(f"%config AskMagics.notebook = {str(notebook)!r}")

    replayed, captured = run(ip, f"%%ask --replay --db retail\n{SEED_TOP}")
    assert replayed.success, replayed.error_in_exec
    answer = replayed.result
    assert isinstance(answer, Answer) and answer.engine == "replay"
    assert answer.sql.endswith("LIMIT 3") and len(answer.df) == 3
    pd.testing.assert_frame_equal(answer.df, original.df.head(3))
    assert text(captured).count("Replayed: the saved SQL (offline engine") == 1
    charts = [o for o in shown(captured) if "application/vnd.vegalite.v5+json" in o.data]
    assert len(charts) == 1, "the saved chart is drawn again"
    saved = charts[0].metadata["nlsql"]
    assert saved["engine"] == "replay" and saved["original_engine"] == "offline"
    assert saved["sql"] == answer.sql and saved["answered_at"] == original.answered_at
    assert saved["schema_fingerprint"] == original.schema["fingerprint"]

    again = saved_notebook(tmp_path / "again.ipynb", [(f"%%ask --db retail\n{SEED_TOP}", captured)])
    ip.run_cell(f"%config AskMagics.notebook = {str(again)!r}")
    twice, _ = run(ip, f"%%ask --db retail --replay\n{SEED_TOP}")
    assert twice.result.sql == answer.sql, "a replay's output replays again"
    pd.testing.assert_frame_equal(twice.result.df, answer.df)


def test_replay_without_a_saved_answer_says_so(ip, tmp_path):
    notebook = saved_notebook(tmp_path / "empty.ipynb", [])
    ip.run_cell(f"%config AskMagics.notebook = {str(notebook)!r}")
    result, captured = run(ip, "%%ask --replay --db retail\nhow many orders were cancelled")
    assert isinstance(result.error_in_exec, UsageError)
    assert "holds no saved answer for this cell" in str(result.error_in_exec)


def test_a_changed_table_is_named_and_its_sql_not_run(ip, tmp_path, data_dir):
    shop = tmp_path / "shop.sqlite"
    shutil.copy(data_dir / "retail.sqlite", shop)
    cell = f"%%ask --db {shop}\n{SEED_TOP}"
    asked, captured = run(ip, cell)
    assert asked.success, asked.error_in_exec
    ip.run_cell(
        f"%config AskMagics.notebook = {str(saved_notebook(tmp_path / 'a.ipynb', [(cell, captured)]))!r}"
    )
    with sqlite3.connect(shop) as conn:
        conn.execute("ALTER TABLE customers RENAME COLUMN last_name TO surname")
        conn.execute("ALTER TABLE orders ADD COLUMN coupon TEXT")

    replayed, captured = run(ip, f"%%ask --replay --db {shop}\n{SEED_TOP}")
    assert replayed.success, replayed.error_in_exec
    stale = replayed.result
    assert isinstance(stale, Stale) and not stale and stale.df.empty
    said = text(captured)
    assert "Not replayed" in said
    assert "customers.last_name is gone" in said and "customers.surname is new" in said
    assert "orders.coupon is new" in said
    assert "rows." not in said, "the stale SQL did not run"
    [output] = [o for o in shown(captured) if "nlsql" in (o.metadata or {})]
    assert output.metadata["nlsql"]["stale"] is True
    assert output.metadata["nlsql"]["sql"] == asked.result.sql, "kept for a later replay"

    fresh = stale.ask_again()
    assert isinstance(fresh, Answer) and fresh.engine == "offline" and fresh.row_count == 5


def test_public_replay_of_an_answer_and_of_its_metadata(ip):
    answer = nlsql_jupyter.ask("share of revenue by region", database="retail")
    again = nlsql_jupyter.replay(answer)
    assert isinstance(again, Answer) and again.engine == "replay"
    pd.testing.assert_frame_equal(again.df, answer.df)
    assert again.chart_info == {k: v for k, v in answer.chart_info.items() if k != "value"}
    from_metadata = nlsql_jupyter.replay({"nlsql": answer.provenance()})
    pd.testing.assert_frame_equal(from_metadata.df, answer.df)


def test_freeze_replaces_the_cell_with_sql_that_gives_the_same_answer(ip):
    ip.run_cell("%config AskMagics.notebook = None")
    ip.rl_next_input = None
    asked, captured = run(ip, f"%%ask --freeze --db retail\n{SEED_TOP}")
    assert asked.success, asked.error_in_exec
    frozen = ip.rl_next_input
    assert frozen.startswith(f"%%nlsql sql --db retail\n-- {SEED_TOP}\n")
    assert asked.result.sql in frozen and "Frozen: this cell is now" in captured.stdout

    ran, captured = run(ip, frozen)
    assert ran.success, ran.error_in_exec
    answer = ran.result
    assert answer.engine == "sql" and answer.question == SEED_TOP
    pd.testing.assert_frame_equal(answer.df, asked.result.df)
    assert [o for o in shown(captured) if "application/vnd.vegalite.v5+json" in o.data]


def test_nlsql_sql_on_one_line_keeps_the_quotes_of_the_sql(ip):
    result, _ = run(
        ip, "%nlsql sql --db retail SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled'"
    )
    assert result.success, result.error_in_exec
    assert result.result.engine == "sql" and result.result.df["n"][0] > 0


# -- a whole notebook: asked by an LLM, replayed with the LLM endpoint down ---------------------

QUESTIONS = {
    "orders per channel": "SELECT channel, COUNT(*) AS orders FROM orders GROUP BY channel",
    "revenue per region": (
        "SELECT r.region_name, ROUND(SUM(o.total_amount), 2) AS revenue FROM orders o "
        "JOIN customers c ON c.customer_id = o.customer_id "
        "JOIN regions r ON r.region_id = c.region_id GROUP BY r.region_name ORDER BY revenue DESC"
    ),
}


def _notebook() -> nbformat.NotebookNode:
    cells = ["%load_ext nlsql_jupyter", "import os\nout = os.environ['REPLAY_TEST_OUT']"]
    for n, question in enumerate(QUESTIONS):
        cells.append(f"%%ask --db retail --engine llm --out a{n}\n{question}")
        cells.append(f"a{n}.df.to_pickle(f'{{out}}/{n}.pkl')\nprint(a{n}.engine)")
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def _execute(notebook: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    from nbclient import NotebookClient

    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return notebook


def test_a_notebook_answered_by_an_llm_replays_identically_with_the_llm_down(tmp_path, monkeypatch):
    llm = ScriptedLlm()
    saved = tmp_path / "analysis.ipynb"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    with ServerThread(llm.app) as endpoint:
        llm.url = f"{endpoint.url}/v1"
        llm.enqueue(*(f"```sql\n{sql}\n```" for sql in QUESTIONS.values()))
        monkeypatch.setenv("NLSQL_LLM_BASE_URL", llm.url)
        monkeypatch.setenv("NLSQL_LLM_MODEL", "scripted")
        monkeypatch.setenv("REPLAY_TEST_OUT", str(first))
        nbformat.write(_execute(_notebook(), tmp_path), saved)
    assert len(llm.requests) == len(QUESTIONS)

    monkeypatch.setenv("NLSQL_REPLAY", "1")
    monkeypatch.setenv("NLSQL_NOTEBOOK", str(saved))
    monkeypatch.setenv("REPLAY_TEST_OUT", str(second))
    replayed = _execute(nbformat.read(saved, as_version=4), tmp_path)

    assert len(llm.requests) == len(QUESTIONS), "the endpoint is down and was not needed"
    printed = [o.get("text", "") for c in replayed.cells for o in c.outputs if o.get("name")]
    assert printed.count("replay\n") == len(QUESTIONS)
    for n in range(len(QUESTIONS)):
        before, after = pd.read_pickle(first / f"{n}.pkl"), pd.read_pickle(second / f"{n}.pkl")
        pd.testing.assert_frame_equal(after, before)
        assert len(after) >= 3


def test_a_kernel_jupyter_started_replays_from_its_notebook_and_freezes(ip, tmp_path):
    from jupyter_client.manager import start_new_kernel

    cell = "%%ask --db retail\nnumber of orders by channel"
    asked, captured = run(ip, cell)
    assert asked.success, asked.error_in_exec
    notebook = saved_notebook(tmp_path / "channels.ipynb", [(cell, captured)])
    outputs: list[str] = []

    def collect(message: dict[str, Any]) -> None:
        content = message["content"]
        outputs.append(content.get("text") or content.get("data", {}).get("text/plain", ""))

    # Jupyter Server tells a kernel its notebook in JPY_SESSION_NAME (ipykernel: `__session__`)
    manager, client = start_new_kernel(
        kernel_name="python3", env=os.environ | {"JPY_SESSION_NAME": str(notebook)}
    )
    try:
        client.execute_interactive("%load_ext nlsql_jupyter", timeout=60)
        reply = client.execute_interactive(
            "%%ask --db retail --replay --freeze\nnumber of orders by channel",
            timeout=120,
            output_hook=collect,
        )
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    assert any(text.startswith("Replayed: the saved SQL (offline engine") for text in outputs)
    [payload] = reply["content"]["payload"]
    assert payload["source"] == "set_next_input" and payload["replace"] is True
    assert payload["text"].startswith("%%nlsql sql --db retail\n-- number of orders by channel\n")
    assert asked.result.sql in payload["text"]


def test_a_from_dataframe_cell_replays_over_the_current_frame(ip, tmp_path):
    ip.user_ns["sales"] = pd.read_csv(Path(__file__).parent.parent / "notebooks" / "sales.csv")
    cell = "%%ask --from sales\nrevenue by region"
    asked, captured = run(ip, cell)
    assert isinstance(asked.result, Answer), asked.error_in_exec
    notebook = saved_notebook(tmp_path / "frames.ipynb", [(cell, captured)])
    ip.run_cell(f"%config AskMagics.notebook = {str(notebook)!r}")
    replayed, _ = run(ip, "%%ask --from sales --replay\nrevenue by region")
    assert replayed.success, replayed.error_in_exec
    assert replayed.result.engine == "replay"
    pd.testing.assert_frame_equal(replayed.result.df, asked.result.df)
