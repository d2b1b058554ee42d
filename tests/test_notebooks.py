"""The quickstart notebook, executed by a real kernel the way `make demo` runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent


def test_quickstart_runs_and_answers(data_dir):
    notebook = nbformat.read(REPO / "notebooks" / "quickstart.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    nbformat.validate(notebook)
    outputs = {cell.source: cell.outputs for cell in notebook.cells if cell.cell_type == "code"}
    assert not [o for outs in outputs.values() for o in outs if o.output_type == "error"]
    top = "\n".join(
        o.get("data", {}).get("text/plain", "")
        for o in outputs["%%ask\nShow me the top 5 customers by total purchase amount"]
    )
    assert "SELECT" in top and "total_purchase_amount" in top
    described = outputs["aov.describe()"][0]["data"]["text/plain"]
    assert "count" in described and "12" in described


def test_demo_prints_both_seed_answers(data_dir):
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "demo.py"), "notebooks/quickstart.ipynb"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "Show me the top 5 customers by total purchase amount" in done.stdout
    assert "2024-12" in done.stdout
