"""The first answer's fixed costs: what `%load_ext` and the first `%%ask` do, and do not, wait for.

`%load_ext` returns at once, the bundled server starts in the background, charts are drawn by
a renderer process and the answer is shown without importing pandas, the MySQL driver or httpx
(a real kernel run by nbclient); the offline engine answers without importing the `openai` SDK
(nor redis-py, with sessions in memory), which the LLM engine imports on its first use (a fresh
interpreter, against the scripted LLM server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
from llm_server import ScriptedLlm
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
SEED_TOP = "Show me the top 5 customers by total purchase amount"
GOOD_SQL = "SELECT channel, COUNT(*) AS orders FROM orders GROUP BY channel"

#: What the first answer on a SQLite sample does not need, so it must not wait for importing
#: it: pandas (the table is drawn from the rows; `.df` imports it when used), httpx (the HTTP
#: fallback's client), the MySQL driver, the LLM SDK.
NOT_NEEDED = ("pandas", "numpy", "httpx", "pymysql", "openai")

# %load_ext then at once %%ask, as "Run All" does: the question waits for the start that
# %load_ext began instead of starting a second server.
FRESH_INTERPRETER = f"""
import json, sys, threading
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "nlsql_jupyter")
offline = shell.run_cell("%%ask --db retail\\n{SEED_TOP}").result
unused = [m for m in ("openai", "redis") if m in sys.modules]
llm = shell.run_cell("%%ask --db retail --engine llm\\norders per channel").result
servers = [t.name for t in threading.enumerate()].count("nlsql-embedded-server")
print(json.dumps({{
    "offline": [offline.engine, len(offline.rows)],
    "unused_after_offline": unused,
    "llm": [llm.engine, llm.sql, sorted(map(tuple, llm.rows))],
    "openai_after_llm": "openai" in sys.modules,
    "servers": servers,
}}))
"""


def test_the_offline_answer_imports_no_llm_sdk_or_redis_and_the_llm_engine_still_answers(
    llm_server: ScriptedLlm, data_dir: Path
) -> None:
    llm_server.enqueue(f"```sql\n{GOOD_SQL}\n```")
    env = os.environ | {
        "NLSQL_LLM_BASE_URL": llm_server.url,
        "NLSQL_LLM_MODEL": "scripted",
        "NLSQL_LLM_API_KEY": "test-key",
    }
    done = subprocess.run(
        [sys.executable, "-c", FRESH_INTERPRETER],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["offline"] == ["offline", 5]
    assert seen["unused_after_offline"] == []  # no LLM SDK, no Redis client: neither is used
    assert seen["llm"][0] == "llm" and "channel" in seen["llm"][1] and seen["llm"][2]
    assert seen["openai_after_llm"] is True
    assert seen["servers"] == 1
    assert len(llm_server.requests) == 1


def test_load_ext_returns_before_the_bundled_server_is_up_and_the_first_ask_uses_it(
    data_dir: Path,
) -> None:
    cells = [
        # The server is not up when %load_ext returns ...
        "%load_ext nlsql_jupyter\n"
        "from nlsql_jupyter.embedded import running_server\n"
        "print('up at load:', running_server() is not None)",
        # ... it comes up with no question asked (while the user writes one) ...
        "import time\n"
        "deadline = time.monotonic() + 120\n"
        "while running_server() is None and time.monotonic() < deadline:\n"
        "    time.sleep(0.05)\n"
        "started = running_server()\n"
        "print('up before asking:', started is not None)",
        # ... and the first question is answered by that server, its chart drawn to SVG by
        # the renderer's own process (whose engine would hold the kernel's GIL).
        f"%%ask --db retail\n{SEED_TOP}",
        "answer = _\n"
        "import sys\n"
        "from nlsql_jupyter.runtime import get_runtime\n"
        "print('same server:', get_runtime().client.url == started.url)\n"
        "print('renderer in the kernel:', 'vl_convert' in sys.modules)\n"
        f"print('not needed, imported:', [m for m in {NOT_NEEDED!r} if m in sys.modules])",
        # The DataFrame is there when asked for: pandas loads then.
        "frame = answer.df\n"
        "print(type(frame).__module__.split('.')[0], frame.shape, list(frame.columns) == "
        "list(answer.columns))",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    printed = [
        "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").strip()
        for cell in notebook.cells
    ]
    assert printed[0] == "up at load: False"
    assert printed[1] == "up before asking: True"
    answer = notebook.cells[2].outputs
    assert not [o for o in answer if o.output_type == "error"]
    assert any('class="dataframe"' in o.get("data", {}).get("text/html", "") for o in answer)
    assert any("<svg" in o.get("data", {}).get("image/svg+xml", "") for o in answer)
    assert printed[3] == (
        "same server: True\nrenderer in the kernel: False\nnot needed, imported: []"
    )
    assert printed[4] == "pandas (5, 2) True"
