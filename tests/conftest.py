"""Shared fixtures: one data directory for the whole run, and a real server on a free port.

`NLSQL_DATA_DIR` is set before anything reads settings, so the server in a thread, the CLI in a
subprocess and notebook kernels all share the sample databases generated once (they are
deterministic and versioned, so reusing them across runs is safe).
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("NLSQL_DATA_DIR", str(REPO / ".tmp" / "test-data"))
os.environ.pop("NLSQL_SERVER_URL", None)
# Meanings remembered by tests (glossary overlays) go to a folder of this run only, never
# beside the shared sample databases where a later run would find them.
os.environ.setdefault("NLSQL_GLOSSARY_DIR", tempfile.mkdtemp(prefix="nlsql-glossary-"))


class ServerThread:
    """A real uvicorn server on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: object) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class FakeClock:
    """A monotonic clock a test moves by hand: backoff and breaker cool-downs without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = Path(os.environ["NLSQL_DATA_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def server(data_dir: Path) -> Iterator[ServerThread]:
    """The bundled server with its default settings (samples, offline engine)."""
    from nlsql_server.app import create_app
    from nlsql_server.settings import Settings

    with ServerThread(create_app(Settings(data_dir=data_dir))) as running:
        yield running


# -- kernel side (nlsql_jupyter) ------------------------------------------------------------


@pytest.fixture(scope="session")
def server_without_websocket(data_dir: Path) -> Iterator[ServerThread]:
    """The bundled server with `/ws` switched off (as behind a proxy that blocks WebSockets)."""
    from nlsql_server.app import create_app
    from nlsql_server.settings import Settings

    with ServerThread(create_app(Settings(data_dir=data_dir, websocket=False))) as running:
        yield running


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens (a port just freed)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


# -- real MariaDB and Redis (tests/services.py) ----------------------------------------------


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A real `mariadbd` for the session: `.admin_url` (loads data), `.reader_url` (SELECT only)."""
    from services import ServiceError, start_mariadb

    try:
        server = start_mariadb(tmp_path_factory.mktemp("mariadb"))
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a real `redis-server` for the session (no persistence)."""
    from services import ServiceError, start_redis

    try:
        server = start_redis(tmp_path_factory.mktemp("redis"))
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server.url
    finally:
        server.stop()


# -- LLM engine: a scripted OpenAI-compatible server (tests/llm_server.py) -------------------


@pytest.fixture(scope="session", autouse=True)
def _no_outside_llm() -> None:
    """Tests never reach a paid LLM: keys and endpoints from the caller's environment go."""
    for name in list(os.environ):
        if name.startswith("NLSQL_LLM_") or name in ("MOONSHOT_API_KEY", "OPENAI_API_KEY"):
            del os.environ[name]


@pytest.fixture(scope="session")
def llm_server_session() -> Iterator[object]:
    from llm_server import ScriptedLlm

    llm = ScriptedLlm()
    with ServerThread(llm.app) as running:
        llm.url = f"{running.url}/v1"
        yield llm


@pytest.fixture
def llm_server(llm_server_session: object) -> object:
    """The scripted LLM server, its script and request log emptied for this test."""
    llm_server_session.reset()  # type: ignore[attr-defined]
    return llm_server_session


@pytest.fixture(scope="session")
def local_llm_url() -> Iterator[str]:
    """The real local model (Qwen2.5-Coder-1.5B) behind `llama_cpp.server` on loopback.

    `make test` installs it (scripts/install-local-model.sh); skipped only when the model file
    is absent, as on a checkout where that script has not run.
    """
    from benchmarks.accuracy.local_llm import MODEL, serve

    if not MODEL.exists():
        pytest.skip(f"{MODEL.name} is absent: run scripts/install-local-model.sh (make test does)")
    with serve() as url:
        yield url


# -- notebooks ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def executed_tour(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, object]:
    """notebooks/tour.ipynb executed once by a real `python3` kernel, widget state saved, as
    `jupyter nbconvert --execute` would: `(saved path, notebook)`. Only cells tagged
    `raises-exception` may show an error; the saved notebook is valid nbformat."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(REPO / "notebooks" / "tour.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        store_widget_state=True,
        resources={"metadata": {"path": str(REPO / "notebooks")}},  # as Lab runs it
    ).execute()
    nbformat.validate(notebook)
    errors = [
        output
        for cell in notebook.cells
        if "raises-exception" not in cell.metadata.get("tags", [])
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors, errors
    path = tmp_path_factory.mktemp("tour") / "tour.executed.ipynb"
    nbformat.write(notebook, path)
    return path, notebook


@pytest.fixture(scope="session")
def postgres() -> Iterator[object]:
    """A real `postgres` for the session: `.admin_url` (a superuser), `.url(db)` (SELECT only)."""
    from services import ServiceError, start_postgres

    try:
        server = start_postgres()
    except ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def ip(data_dir: Path) -> Iterator[Any]:
    """An IPython shell with the extension loaded, talking to the bundled server (no URL
    configured); a module that needs another server defines its own `ip`."""
    from IPython.core.interactiveshell import InteractiveShell

    from nlsql_jupyter.runtime import get_runtime

    shell = InteractiveShell.instance()
    get_runtime().connect(None)
    result = shell.run_cell("%load_ext nlsql_jupyter")
    assert result.success, result.error_in_exec
    yield shell
    shell.run_cell("%config AskMagics.notebook = None")
    shell.run_cell("%unload_ext nlsql_jupyter")
