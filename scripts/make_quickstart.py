"""Write notebooks/quickstart.ipynb from the cells below (run after changing them)."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

CELLS = [
    new_markdown_cell(
        "# nlsql-jupyter quickstart\n\n"
        "Ask a database a question in plain English: the cell shows the progress, the SQL, the "
        "result as a DataFrame and a chart. With nothing configured, the extension starts its "
        "bundled server on 127.0.0.1 with two sample databases, `retail` and `finance`."
    ),
    new_code_cell("%load_ext nlsql_jupyter"),
    new_code_cell("%nlsql databases"),
    new_code_cell("%%ask\nShow me the top 5 customers by total purchase amount"),
    new_code_cell("%%ask --out aov\nWhat is the average order value per month for 2024?"),
    new_markdown_cell("The answer is a pandas DataFrame in the variable named by `--out`:"),
    new_code_cell("aov.describe()"),
    new_markdown_cell("`--db` asks another database; `%nlsql use finance` would switch for good."),
    new_code_cell("%%ask --db finance\nWhat are the total expenses by department?"),
    new_code_cell("%nlsql status"),
]


def main() -> None:
    notebook = new_notebook(cells=CELLS)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    path = Path(__file__).resolve().parent.parent / "notebooks" / "quickstart.ipynb"
    nbformat.write(notebook, path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
