"""The notebooks, executed by a real kernel: the quickstart the way `make demo` runs it (once,
by `scripts/demo.py`, whose saved notebook the checks read), the tour by `executed_tour`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo(data_dir: Path) -> tuple[str, nbformat.NotebookNode]:
    """`make demo`'s command run once: what it printed, and the executed quickstart it saved."""
    saved = REPO / ".tmp" / "quickstart.executed.ipynb"
    saved.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "notebooks/quickstart.ipynb"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, nbformat.read(saved, as_version=4)


def test_quickstart_runs_and_answers(demo):
    _, notebook = demo
    nbformat.validate(notebook)
    outputs = {cell.source: cell.outputs for cell in notebook.cells if cell.cell_type == "code"}
    assert not [o for outs in outputs.values() for o in outs if o.output_type == "error"]
    top = "\n".join(
        o.get("data", {}).get("text/plain", "")
        for o in outputs["%%ask\nShow me the top 5 customers by total purchase amount"]
    )
    assert "SELECT" in top and "total_purchase_amount" in top
    described = outputs["aov.df.describe()"][0]["data"]["text/plain"]
    assert "count" in described and "12" in described


def test_demo_prints_both_seed_answers(demo):
    printed, _ = demo
    assert "Show me the top 5 customers by total purchase amount" in printed
    assert "2024-12" in printed


def _outputs(notebook, source_start: str) -> list:
    [cell] = [
        c for c in notebook.cells if c.cell_type == "code" and c.source.startswith(source_start)
    ]
    return cell.outputs


def _chart_marks(outputs) -> list[str]:
    marks = []
    for output in outputs:
        spec = output.get("data", {}).get("application/vnd.vegalite.v5+json")
        if spec is not None:
            mark = spec["mark"]
            marks.append(mark["type"] if isinstance(mark, dict) else mark)
            assert "<svg" in output["data"]["image/svg+xml"]
            assert output["metadata"]["nlsql"]["schema_fingerprint"].startswith("sha256:")
    return marks


def test_tour_shows_each_kind_of_answer(executed_tour):
    _, notebook = executed_tour
    assert _chart_marks(_outputs(notebook, "%%ask --db retail\nShow me the top 5")) == ["bar"]
    assert _chart_marks(_outputs(notebook, "%%ask --out aov")) == ["line"]
    assert _chart_marks(_outputs(notebook, "%%ask\nwhat about 2023?")) == ["line"]
    assert _chart_marks(_outputs(notebook, "%%ask\nshare of revenue")) == ["arc"]
    assert _chart_marks(_outputs(notebook, "%%ask --chart point")) == ["point"]

    value = _outputs(notebook, "%%ask\nhow many orders were cancelled")
    assert not _chart_marks(value)
    assert any("font-size:32px" in o.get("data", {}).get("text/html", "") for o in value)

    listing = _outputs(notebook, "%%ask\ncustomers who never ordered")
    assert not _chart_marks(listing)
    assert any('class="dataframe"' in o.get("data", {}).get("text/html", "") for o in listing)

    assert _chart_marks(_outputs(notebook, "%%ask --from sales\nrevenue by region")) == ["bar"]
    assert _chart_marks(_outputs(notebook, "%%ask --from sales\nunits sold per month")) == ["line"]

    underscore = _outputs(notebook, "print(_.sql)")
    assert underscore[0]["text"].startswith("SELECT")

    declined = _outputs(notebook, "%%ask --db retail\nwhat is the median")
    assert any(o.get("data", {}).get("text/plain", "").startswith("Not answered") for o in declined)
    [error] = [o for o in _outputs(notebook, "%%ask --db nope") if o.output_type == "error"]
    assert error["ename"] == "UnknownDatabase"


def test_tour_replays_and_freezes(executed_tour):
    _, notebook = executed_tour
    asked = _outputs(notebook, "%%ask --db retail --out channels")
    replayed = _outputs(notebook, "again = nl.replay(channels)")
    assert replayed[0]["text"] == "replay True\n"
    assert any(o.get("data", {}).get("text/plain", "").startswith("Replayed:") for o in replayed)
    assert _chart_marks(replayed) == _chart_marks(asked) == ["bar"]
    frozen = "".join(o.get("text", "") for o in _outputs(notebook, "%%ask --db retail --freeze"))
    assert "Frozen: this cell is now\n%%nlsql sql --db retail\n-- number of orders" in frozen
    assert _chart_marks(_outputs(notebook, "%%nlsql sql --db retail")) == ["bar"]


def test_tour_saves_the_picker_with_its_state(executed_tour):
    _, notebook = executed_tour
    [view] = [
        o["data"]["application/vnd.jupyter.widget-view+json"]
        for o in _outputs(notebook, "%nlsql picker")
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert view["model_id"] in state
    dropdowns = [m["state"] for m in state.values() if m["model_name"] == "DropdownModel"]
    assert any(any("retail" in label for label in d["_options_labels"]) for d in dropdowns)


def test_tour_asks_which_meaning_remembers_it_and_the_next_question_uses_it(executed_tour):
    _, notebook = executed_tour
    asked = _outputs(notebook, "%%ask\nhow many parcels in March 2024")
    assert not [o for o in asked if o.output_type == "error"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in asked)
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    labels = {
        m["state"].get("description") for m in state.values() if m["model_name"] == "ButtonModel"
    }
    assert {"parcels by sent on", "parcels by delivered on", "Remember this"} <= labels
    answered = [
        output["data"]["text/plain"]
        for m in state.values()
        if m["model_name"] == "OutputModel"
        for output in m["state"].get("outputs", [])
    ]
    assert any("sent_on" in text and "delivered_on" not in text for text in answered)
    [listing] = [c.outputs for c in notebook.cells if c.source == "%nlsql glossary"]
    assert "dated by parcels.sent_on" in str(listing)
    following = _outputs(notebook, "%%ask\ntotal weight of parcels per month")
    assert _chart_marks(following) == ["line"]
    assert "parcels.sent_on" in str(following)
    assert "Forgot 'parcels'" in str(_outputs(notebook, "%nlsql glossary --forget"))


def test_tour_shows_an_expensive_query_waiting_for_run_anyway(executed_tour):
    _, notebook = executed_tour
    waiting = _outputs(notebook, "%%ask --db {clinic}")
    said = [o.get("data", {}).get("text/plain", "") for o in waiting]
    assert any(
        text.startswith("Not run yet: this query would read about 16,004,000 rows (cartesian")
        and "for each of 4,000 rows so far, read all 4,000 rows of visits" in text
        for text in said
    ), said
    [view] = [
        o["data"]["application/vnd.jupyter.widget-view+json"]
        for o in waiting
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert view["model_id"] in state
    buttons = [m["state"] for m in state.values() if m["model_name"] == "ButtonModel"]
    assert any(b["description"] == "Ran" and b["disabled"] for b in buttons)
    answers = [
        output
        for m in state.values()
        if m["model_name"] == "OutputModel"
        for output in m["state"].get("outputs", [])
    ]
    assert any("NOT EXISTS" in o["data"]["text/plain"] for o in answers)  # saved with the widget
    [head] = [o for o in _outputs(notebook, "never.button.click()") if "data" in o]
    assert "patient 3500" in head["data"]["text/plain"]  # the first patient with no visit
