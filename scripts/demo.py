"""Run a notebook headlessly (a real kernel, as JupyterLab would) and print what each cell showed.

Usage: python scripts/demo.py notebooks/quickstart.ipynb
The executed notebook is saved under .tmp/ so it can be opened to see the charts.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent


def _text_of(output: nbformat.NotebookNode) -> str:
    """What a terminal can show of one output: plain text, skipping charts and widgets."""
    if output.output_type == "stream":
        return output.text
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}"
    data = output.get("data", {})
    if "application/vnd.jupyter.widget-view+json" in data:
        return ""
    if any("vega" in mime for mime in data) or "vega-embed" in data.get("text/html", ""):
        return "[chart]"
    return data.get("text/plain", "")


def main(path: str) -> int:
    notebook = nbformat.read(path, as_version=4)
    started = time.perf_counter()
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    elapsed = time.perf_counter() - started
    out_dir = REPO / ".tmp"
    out_dir.mkdir(exist_ok=True)
    executed = out_dir / (Path(path).stem + ".executed.ipynb")
    nbformat.write(notebook, executed)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        print(f"\n>>> {cell.source}")
        for output in cell.get("outputs", []):
            text = _text_of(output).rstrip()
            if text:
                print(text)
    print(f"\nExecuted {path} in {elapsed:.1f} s; saved to {executed.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "notebooks/quickstart.ipynb"))
