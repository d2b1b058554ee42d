"""`%%ask` and `%nlsql` in a real IPython shell, against the real bundled (embedded) server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

import nlsql_jupyter
from nlsql_jupyter.exceptions import (
    EmptyQuestion,
    NlsqlError,
    ServerUnavailable,
    UnknownDatabase,
)
from nlsql_jupyter.magics import AskMagics
from nlsql_jupyter.runtime import get_runtime

SEED_TOP = "Show me the top 5 customers by total purchase amount"


@pytest.fixture(scope="module")
def ip(data_dir) -> Iterator[InteractiveShell]:
    """A shell with the extension loaded, talking to the bundled server (no URL configured)."""
    shell = InteractiveShell.instance()
    get_runtime().connect(None)
    result = shell.run_cell("%load_ext nlsql_jupyter")
    assert result.success, result.error_in_exec
    yield shell
    shell.run_cell("%unload_ext nlsql_jupyter")


@pytest.fixture(autouse=True)
def _default_server(ip: InteractiveShell) -> Iterator[None]:
    yield
    get_runtime().connect(None)  # a test that connected elsewhere must not leak


def run(ip: InteractiveShell, cell: str) -> tuple[Any, CapturedIO]:
    with capture_output() as captured:
        result = ip.run_cell(cell)
    return result, captured


def bundles(captured: CapturedIO) -> list[dict[str, Any]]:
    return [output.data for output in captured.outputs]


def frames_shown(captured: CapturedIO) -> list[str]:
    """text/plain of the DataFrames displayed (pandas' html repr marks them `dataframe`)."""
    return [
        b["text/plain"] for b in bundles(captured) if 'class="dataframe"' in b.get("text/html", "")
    ]


def charts_shown(captured: CapturedIO) -> list[str]:
    return [b["text/html"] for b in bundles(captured) if "vegaEmbed" in b.get("text/html", "")]


def assert_short_error(result: Any, captured: CapturedIO, cls: type[NlsqlError]) -> str:
    """The cell failed with `cls`, shown as a short message: no traceback."""
    assert isinstance(result.error_in_exec, cls)
    text = captured.stdout + captured.stderr
    assert f"{cls.__name__}: " in text
    assert "Traceback" not in text and "File " not in text
    return text


def test_databases_lists_the_samples(ip):
    result, captured = run(ip, "%nlsql databases")
    assert result.success, result.error_in_exec
    [table] = frames_shown(captured)
    assert "retail" in table and "finance" in table
    assert "sqlite" in table


def test_ask_stores_the_dataframe_and_shows_sql_and_chart(ip):
    ip.user_ns.pop("_ask", None)
    result, captured = run(ip, f"%%ask\n{SEED_TOP}")
    assert result.success, result.error_in_exec
    assert result.result is None  # nothing echoed: the DataFrame is shown once
    frame = ip.user_ns["_ask"]
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) == 5

    shown = bundles(captured)
    sql = [b for b in shown if "<span" in b.get("text/html", "") and "SELECT" in b["text/plain"]]
    assert sql, "the SQL is shown, highlighted"
    assert len(frames_shown(captured)) == 1
    assert any(b["text/plain"] == "5 rows." for b in shown)
    [chart] = charts_shown(captured)
    assert str(frame.iloc[0, 0]) in chart  # the rows are bound into the spec

    progress = [o for o in captured.outputs if (o.transient or {}).get("display_id")]
    assert progress[-1].data["text/plain"].startswith("✓ answered")
    for stage in ("linking", "generating", "validating", "executing", "charting"):
        assert stage in progress[-1].data["text/plain"]


def test_out_names_the_variable(ip):
    ip.user_ns.pop("df", None)
    result, _ = run(ip, f"%%ask --out df\n{SEED_TOP}")
    assert result.success, result.error_in_exec
    assert len(ip.user_ns["df"]) == 5


def test_db_picks_the_database_for_one_question(ip):
    result, _ = run(ip, "%%ask --db finance --out vendors\nhow many vendors are there")
    assert result.success, result.error_in_exec
    assert len(ip.user_ns["vendors"]) == 1
    assert get_runtime().history[-1].database == "finance"
    assert get_runtime().session.database != "finance"  # the session's choice is unchanged


def test_sql_only_does_not_run(ip):
    ip.user_ns["_ask"] = sentinel = object()
    result, captured = run(ip, f"%%ask --sql\n{SEED_TOP}")
    assert result.success, result.error_in_exec
    assert ip.user_ns["_ask"] is sentinel
    assert not frames_shown(captured) and not charts_shown(captured)
    texts = [b["text/plain"] for b in bundles(captured)]
    assert any("SELECT" in text for text in texts)
    assert any(text.startswith("Not run") for text in texts)


def test_no_chart(ip):
    result, captured = run(ip, f"%%ask --no-chart\n{SEED_TOP}")
    assert result.success, result.error_in_exec
    assert len(frames_shown(captured)) == 1
    assert not charts_shown(captured)


def test_unknown_database_lists_those_there_are(ip):
    result, captured = run(ip, f"%%ask --db nope\n{SEED_TOP}")
    text = assert_short_error(result, captured, UnknownDatabase)
    assert "retail" in text and "finance" in text


def test_empty_question(ip):
    result, captured = run(ip, "%%ask --db retail\n   \n")
    text = assert_short_error(result, captured, EmptyQuestion)
    assert "question is empty" in text


def test_bad_flag_is_a_usage_error(ip):
    result, captured = run(ip, f"%%ask --limit many\n{SEED_TOP}")
    assert not result.success
    assert "UsageError" in captured.stderr


def test_unreachable_server(ip, dead_url):
    result, captured = run(ip, f"%nlsql connect {dead_url}")
    assert result.success
    assert "Cannot reach" in captured.stderr

    result, captured = run(ip, f"%%ask\n{SEED_TOP}")
    text = assert_short_error(result, captured, ServerUnavailable)
    assert f"cannot reach the nlsql server at {dead_url}" in text

    result, captured = run(ip, "%nlsql connect")
    assert result.success
    assert "Connected to the bundled server" in captured.stdout


def test_use_status_and_history(ip):
    result, captured = run(ip, "%nlsql use finance")
    assert result.success, result.error_in_exec
    assert "finance" in captured.stdout
    run(ip, "%%ask\nhow many vendors are there")

    result, captured = run(ip, "%nlsql status")
    assert result.success, result.error_in_exec
    [status] = bundles(captured)
    assert "database: finance" in status["text/plain"]
    assert "embedded: yes" in status["text/plain"]
    assert "websocket" in status["text/plain"] and "p95" in status["text/plain"]

    result, captured = run(ip, "%nlsql history")
    assert result.success, result.error_in_exec
    [history] = frames_shown(captured)
    assert "how many vendors are there" in history
    run(ip, "%nlsql use retail")


def test_use_unknown_database(ip):
    result, captured = run(ip, "%nlsql use nope")
    text = assert_short_error(result, captured, UnknownDatabase)
    assert "retail" in text


def test_config_sets_the_magic_options(ip):
    result, _ = run(ip, "%config AskMagics.timeout = 30")
    assert result.success, result.error_in_exec
    magics = [c for c in ip.configurables if isinstance(c, AskMagics)]
    assert magics and all(m.timeout == 30 for m in magics)
    run(ip, "%config AskMagics.timeout = 120")


def test_public_api(ip):
    answer = nlsql_jupyter.ask(SEED_TOP, database="retail")
    assert answer.row_count == 5 and len(answer.df) == 5
    assert answer.chart is None or "vegaEmbed" in answer.chart._repr_mimebundle_()["text/html"]
    assert nlsql_jupyter._jupyter_labextension_paths() == [
        {"src": "labextension", "dest": "nlsql-jupyter"}
    ]
    assert sorted(nlsql_jupyter.__all__) == [
        "Answer",
        "ClientConfig",
        "HybridClient",
        "NlsqlError",
        "__version__",
        "ask",
        "connect",
        "load_ipython_extension",
        "unload_ipython_extension",
    ]
