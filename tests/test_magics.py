"""`%%ask` and `%nlsql` in a real IPython shell, against the real bundled (embedded) server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import altair as alt
import pandas as pd
import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import CapturedIO, capture_output

import nlsql_jupyter
from nlsql_jupyter.answer import Answer, Declined
from nlsql_jupyter.display import ProgressView
from nlsql_jupyter.exceptions import (
    CannotAnswer,
    EmptyQuestion,
    NlsqlError,
    ServerUnavailable,
    UnknownDatabase,
)
from nlsql_jupyter.magics import AskMagics, expand_variables
from nlsql_jupyter.runtime import get_runtime

SEED_TOP = "Show me the top 5 customers by total purchase amount"


@pytest.fixture(autouse=True)
def _default_server(ip: InteractiveShell) -> Iterator[None]:
    yield
    get_runtime().connect(None)  # a test that connected elsewhere must not leak


def run(ip: InteractiveShell, cell: str, history: bool = False) -> tuple[Any, CapturedIO]:
    with capture_output() as captured:
        result = ip.run_cell(cell, store_history=history)
    return result, captured


def shown(captured: CapturedIO) -> list[Any]:
    """The outputs as a notebook ends up holding them: an output updated in place by its
    display id (progress, a chart given its static SVG) counts once, in its last state."""
    final: dict[Any, Any] = {}
    for position, output in enumerate(captured.outputs):
        display_id = (output.transient or {}).get("display_id")
        final[display_id if display_id is not None else position] = output  # keeps its place
    return list(final.values())


def bundles(captured: CapturedIO) -> list[dict[str, Any]]:
    return [output.data for output in shown(captured)]


def frames_shown(captured: CapturedIO) -> list[str]:
    """text/plain of the DataFrames displayed (pandas' html repr marks them `dataframe`)."""
    return [
        b["text/plain"] for b in bundles(captured) if 'class="dataframe"' in b.get("text/html", "")
    ]


def charts_shown(captured: CapturedIO) -> list[dict[str, Any]]:
    return [b for b in bundles(captured) if "application/vnd.vegalite.v5+json" in b]


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


def test_ask_value_is_the_answer_with_sql_table_and_chart(ip):
    ip.user_ns.pop("_", None)
    result, captured = run(ip, f"%%ask\n{SEED_TOP}", history=True)
    assert result.success, result.error_in_exec
    answer = result.result
    assert isinstance(answer, Answer)
    assert ip.user_ns["_"] is answer  # `_` and Out[n] hold the answer, as for any cell value
    assert ip.user_ns["Out"][result.execution_count] is answer
    assert isinstance(answer.df, pd.DataFrame) and len(answer.df) == 5
    assert answer.sql.startswith("SELECT") and answer.explanation
    assert isinstance(answer.chart, alt.TopLevelMixin)

    shown = bundles(captured)
    sql = [b for b in shown if "<span" in b.get("text/html", "") and "SELECT" in b["text/plain"]]
    assert sql, "the SQL is shown, highlighted"
    assert len(frames_shown(captured)) == 1, "the table is shown once"
    assert any(b["text/plain"] == "5 rows." for b in shown)
    [chart] = charts_shown(captured)
    assert chart["application/vnd.vegalite.v5+json"]["datasets"]["result"][0]
    assert "<svg" in chart["image/svg+xml"], "a static copy for exported notebooks"
    assert "Liberation Sans" in chart["image/svg+xml"], "laid out and shown in one font"
    assert "text/html" not in chart, "no HTML that loads vega from a CDN"

    marks = ("…", "✓", "✗", "?")  # the progress line's states
    progress = [o for o in captured.outputs if o.data.get("text/plain", "").startswith(marks)]
    assert progress[-1].data["text/plain"].startswith("✓ answered")
    for stage in ("linking", "generating", "validating", "executing", "charting"):
        assert stage in progress[-1].data["text/plain"]


@pytest.mark.parametrize(
    ("engine", "line", "colour"),
    [
        ("offline", "✓ answered", "#15803d"),
        ("llm", "✓ answered by the LLM: read its SQL before trusting the numbers", "#b45309"),
    ],
)
def test_a_model_written_answer_is_not_shown_as_checked(engine, line, colour):
    progress = ProgressView("orders per channel", visible=False)
    progress.finish(Answer("orders per channel", "SELECT 1", engine=engine))
    bundle = progress._repr_mimebundle_()
    assert bundle["text/plain"].startswith(line)
    assert f"color:{colour}" in bundle["text/html"]


def test_every_output_carries_its_provenance(ip):
    result, captured = run(ip, f"%%ask --db retail\n{SEED_TOP}")
    assert result.success, result.error_in_exec
    answer_outputs = [o for o in shown(captured) if "nlsql" in (o.metadata or {})]
    assert len(answer_outputs) == 4  # SQL, table, row note, chart
    provenance = answer_outputs[0].metadata["nlsql"]
    assert provenance["question"] == SEED_TOP
    assert provenance["database"] == "retail"
    assert provenance["engine"] == "offline"
    assert provenance["sql"] == result.result.sql
    assert provenance["schema_fingerprint"].startswith("sha256:")
    assert "customers" in provenance["schema_tables"]
    assert provenance["server_version"] and provenance["answered_at"]


def test_out_names_the_variable(ip):
    ip.user_ns.pop("top", None)
    result, _ = run(ip, f"%%ask --out top\n{SEED_TOP}")
    assert result.success, result.error_in_exec
    assert ip.user_ns["top"] is result.result
    assert len(ip.user_ns["top"].df) == 5


def test_variables_in_the_question_are_filled_in(ip):
    ip.user_ns["n"] = 3
    result, _ = run(ip, "%%ask --db retail\nShow me the top {n} customers by total purchase amount")
    assert result.success, result.error_in_exec
    assert result.result.question == "Show me the top 3 customers by total purchase amount"
    assert len(result.result.df) == 3


def test_doubled_braces_stay_braces_and_unknown_names_are_usage_errors():
    assert expand_variables("top {{n}} of {n}", {"n": 4}) == "top {n} of 4"
    with pytest.raises(UsageError, match="no variable 'missing'"):
        expand_variables("orders above {missing}", {})


def test_unknown_variable_stops_before_asking(ip):
    before = len(get_runtime().history)
    result, captured = run(ip, "%%ask\norders above {no_such_threshold}")
    assert not result.success
    assert "no_such_threshold" in captured.stderr
    assert len(get_runtime().history) == before


def test_db_switches_the_session_like_use(ip):
    result, _ = run(ip, "%%ask --db finance --out vendors\nhow many vendors are there")
    assert result.success, result.error_in_exec
    assert ip.user_ns["vendors"].database == "finance"
    runtime = get_runtime()
    assert runtime.session.database == "finance" and runtime.state.database == "finance"
    result, _ = run(ip, "%%ask\nhow many vendors are there")  # the choice stays
    assert result.success and result.result.database == "finance"
    run(ip, "%nlsql use retail")


def test_a_sqlite_path_works_in_the_notebook(ip, tmp_path):
    import sqlite3

    path = tmp_path / "pets.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE pets (pet_id INTEGER PRIMARY KEY, name TEXT, species TEXT)")
        db.executemany(
            "INSERT INTO pets (name, species) VALUES (?, ?)",
            [("Rex", "dog"), ("Tom", "cat"), ("Fido", "dog")],
        )
    result, _ = run(ip, f"%%ask --db {path}\nhow many pets are there")
    assert result.success, result.error_in_exec
    assert result.result.database == "pets"
    assert result.result.df.iloc[0, 0] == 3
    result, captured = run(ip, f"%nlsql use {path}")
    assert result.success, result.error_in_exec
    assert "'pets'" in captured.stdout
    run(ip, "%nlsql use retail")


def test_a_missing_path_is_a_clear_error(ip, tmp_path):
    result, captured = run(ip, f"%nlsql use {tmp_path}/nope.sqlite")
    text = assert_short_error(result, captured, UnknownDatabase)
    assert "No SQLite file" in text


def test_a_declined_question_does_not_stop_run_all(ip):
    result, captured = run(ip, "%%ask --db retail\nwhat is the median order value")
    assert result.success, "a declined question is an answer-shaped output, not an error"
    declined = result.result
    assert isinstance(declined, Declined) and not declined
    assert declined.df.empty and declined.sql == ""
    [shown] = [b for b in bundles(captured) if b.get("text/plain", "").startswith("Not answered")]
    assert "median" in shown["text/plain"]
    assert "docs/llm.md" in shown["text/plain"]  # no LLM configured: how to get one
    assert "Traceback" not in captured.stdout + captured.stderr


def test_strict_mode_raises_on_a_declined_question(ip):
    run(ip, "%config AskMagics.strict = True")
    try:
        result, captured = run(ip, "%%ask --db retail\nwhat is the median order value")
        assert_short_error(result, captured, CannotAnswer)
    finally:
        run(ip, "%config AskMagics.strict = False")


def test_chart_override_and_config(ip):
    result, captured = run(ip, f"%%ask --chart point\n{SEED_TOP}")
    assert result.success, result.error_in_exec
    [chart] = charts_shown(captured)
    mark = chart["application/vnd.vegalite.v5+json"]["mark"]
    assert (mark["type"] if isinstance(mark, dict) else mark) == "point"

    run(ip, "%config AskMagics.chart = False")
    try:
        result, captured = run(ip, f"%%ask\n{SEED_TOP}")
        assert result.success and not charts_shown(captured)
        assert len(frames_shown(captured)) == 1
    finally:
        run(ip, "%config AskMagics.chart = True")


def test_config_database_and_engine(ip):
    run(ip, "%config AskMagics.database = 'finance'")
    run(ip, "%config AskMagics.engine = 'offline'")
    try:
        result, _ = run(ip, "%%ask\nhow many vendors are there")
        assert result.success, result.error_in_exec
        assert result.result.database == "finance" and result.result.engine == "offline"
        run(ip, "%config AskMagics.engine = 'nope'")  # refused by the trait, logged
        assert all(m.engine == "offline" for m in ip.configurables if isinstance(m, AskMagics))
    finally:
        run(ip, "%config AskMagics.engine = None")
        run(ip, "%nlsql use retail")


def test_tables_and_describe_show_the_schema(ip):
    result, captured = run(ip, "%nlsql tables retail")
    assert result.success, result.error_in_exec
    [tables] = frames_shown(captured)
    assert "order_items" in tables and "customers" in tables
    result, captured = run(ip, "%nlsql describe customers --db retail")
    assert result.success, result.error_in_exec
    [described] = frames_shown(captured)
    assert "customer_id" in described and "primary" in described


def test_help_prints_usage(ip):
    result, captured = run(ip, "%nlsql --help")
    assert result.success and "describe" in captured.stdout and "picker" in captured.stdout
    result, captured = run(ip, "%ask --help")
    assert result.success and "--chart" in captured.stdout and "--db" in captured.stdout
    result, captured = run(ip, "%%ask --help\nanything")
    assert result.success and "--chart" in captured.stdout


def test_line_form_asks_too(ip):
    result, _ = run(ip, "%ask --db finance how many vendors are there")
    assert result.success, result.error_in_exec
    assert result.result.database == "finance" and result.result.row_count == 1
    run(ip, "%nlsql use retail")


def test_picker_magic_shows_the_shared_picker(ip):
    from nlsql_jupyter.picker import DatabasePicker

    result, _ = run(ip, "%nlsql picker")
    assert result.success, result.error_in_exec
    shown = result.result
    assert isinstance(shown, DatabasePicker)
    run(ip, "%nlsql use finance")
    assert shown.dropdown.value == "finance"
    shown.dropdown.value = "retail"
    assert get_runtime().session.database == "retail"
    # `import nlsql_jupyter.picker` (the magic did) leaves `nlsql_jupyter.picker()` callable
    second = nlsql_jupyter.picker()
    assert isinstance(second, DatabasePicker) and second.dropdown.value == "retail"
    for picker in (shown, second):
        picker.close()


def test_sql_only_does_not_run(ip):
    result, captured = run(ip, f"%%ask --sql\n{SEED_TOP}")
    assert result.success, result.error_in_exec
    assert not result.result.executed and result.result.df.empty
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

    result, captured = run(ip, "%nlsql status")  # the truth after a failed connect
    [status] = bundles(captured)
    assert "connected: no" in status["text/plain"]
    assert "unavailable" in status["text/plain"]

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
    assert "connected: yes" in status["text/plain"]
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


def test_config_reaches_the_transports_and_the_breaker(ip):
    runtime = get_runtime()
    result, _ = run(ip, f"%%ask --db retail\n{SEED_TOP}")
    assert result.success, result.error_in_exec
    before = runtime.client.stats()
    assert before["websocket"]["state"] == "connected"
    try:
        run(ip, "%config AskMagics.websocket = False")
        run(ip, "%config AskMagics.request_timeout = 7")
        run(ip, "%config AskMagics.breaker_threshold = 2")
        result, _ = run(ip, f"%%ask\n{SEED_TOP}")
        assert result.success, result.error_in_exec
        after = runtime.client.stats()
        # The next ask went over HTTP, on the same session and database.
        assert after["http"]["successes"] > before["http"]["successes"]
        assert after["websocket"]["attempts"] == before["websocket"]["attempts"]
        assert after["http"]["breaker"]["threshold"] == 2
        assert runtime.client.config.timeout == 7
        assert runtime.status()["database"] == "retail"
        _, captured = run(ip, "%nlsql status")
        [status] = bundles(captured)
        assert "websocket: disabled" in status["text/plain"]
    finally:
        run(ip, "%config AskMagics.websocket = True")
        run(ip, "%config AskMagics.request_timeout = 30")
        run(ip, "%config AskMagics.breaker_threshold = 5")
    result, _ = run(ip, f"%%ask\n{SEED_TOP}")
    assert runtime.client.stats()["websocket"]["state"] == "connected"


def test_environment_gives_the_connection_defaults(ip, monkeypatch):
    from traitlets.config import Config

    from nlsql_jupyter.runtime import Runtime

    monkeypatch.setenv("NLSQL_CLIENT_WEBSOCKET", "false")
    monkeypatch.setenv("NLSQL_CLIENT_REQUEST_TIMEOUT", "7")
    monkeypatch.setenv("NLSQL_CLIENT_BREAKER_COOLDOWN", "soon")
    runtime = Runtime("http://127.0.0.1:9")
    with pytest.warns(UserWarning, match="NLSQL_CLIENT_BREAKER_COOLDOWN='soon' is ignored"):
        magics = AskMagics(ip, runtime, config=Config({"AskMagics": {"request_timeout": 9.0}}))
    assert magics.websocket is False and magics.breaker_cooldown == 1.0
    config = runtime.client.config
    assert config.websocket is False
    assert config.timeout == 9.0  # the profile's value wins over the environment's
    runtime.close()


def test_public_api(ip):
    answer = nlsql_jupyter.ask(SEED_TOP, database="retail")
    assert answer.row_count == 5 and len(answer.df) == 5
    assert answer.chart is not None and answer.chart.to_dict()["datasets"]
    bundle = answer._repr_mimebundle_()
    assert "SELECT" in bundle["text/plain"] and "<svg" in bundle["text/html"]
    assert nlsql_jupyter._jupyter_labextension_paths() == [
        {"src": "labextension", "dest": "nlsql-jupyter"}
    ]
    assert sorted(nlsql_jupyter.__all__) == [
        "Answer",
        "ClientConfig",
        "Declined",
        "HybridClient",
        "NlsqlError",
        "__version__",
        "ask",
        "connect",
        "load_ipython_extension",
        "picker",
        "replay",
        "unload_ipython_extension",
    ]
