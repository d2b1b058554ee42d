"""Write notebooks/quickstart.ipynb and notebooks/tour.ipynb from the cells below.

Run after changing them: `python scripts/make_notebooks.py`. The tests execute both notebooks
(and export the tour to HTML), so every cell here must run on the embedded default.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

QUICKSTART = [
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
    new_markdown_cell(
        "The cell's value is the answer (also in `_`, and in the variable named by `--out`): "
        "`.df` is a pandas DataFrame, `.sql` the SQL, `.chart` an Altair chart."
    ),
    new_code_cell("aov.df.describe()"),
    new_markdown_cell("`--db` switches the database, like `%nlsql use finance`."),
    new_code_cell("%%ask --db finance\nWhat are the total expenses by department?"),
    new_code_cell("%nlsql status"),
]

TOUR = [
    new_markdown_cell(
        "# A tour of nlsql-jupyter\n\n"
        "Everything here runs on the embedded default: the bundled server on 127.0.0.1, the two "
        "sample databases and the offline engine (no API key, no network)."
    ),
    new_code_cell("%load_ext nlsql_jupyter"),
    new_markdown_cell(
        "## Pick a database\n\n"
        "The picker shows the databases, the connection and the schema (open *Schema* to see "
        "the tables, columns, keys and sample values). Choosing one is `%nlsql use`; "
        "`%nlsql use` and `%%ask --db` move the picker."
    ),
    new_code_cell("%nlsql picker"),
    new_markdown_cell(
        "The same picker from Python, with its schema open: there is one choice per kernel, so "
        "both pickers always show the same database."
    ),
    new_code_cell(
        "import nlsql_jupyter as nl\n\n"
        "picker = nl.picker()\n"
        "picker.schema.selected_index = 0  # open the schema\n"
        'picker.tables.value = "customers"\n'
        "picker"
    ),
    new_code_cell("%nlsql describe customers"),
    new_markdown_cell(
        "## A category and a measure: a bar chart\n\n"
        "The cell's value is the answer: `_` holds it, like any cell's value."
    ),
    new_code_cell("%%ask --db retail\nShow me the top 5 customers by total purchase amount"),
    new_code_cell("print(_.sql)\n_.df"),
    new_markdown_cell("## Time and a measure: a line chart; then a follow-up"),
    new_code_cell("%%ask --out aov\nWhat is the average order value per month for 2024?"),
    new_code_cell("%%ask\nwhat about 2023?"),
    new_code_cell("aov.df.describe()"),
    new_markdown_cell("## A share of a whole: an arc"),
    new_code_cell("%%ask\nshare of revenue by region"),
    new_markdown_cell("## One value: a big number, no chart"),
    new_code_cell("%%ask\nhow many orders were cancelled"),
    new_markdown_cell("## A listing of entities: a table, no chart"),
    new_code_cell("%%ask\ncustomers who never ordered"),
    new_markdown_cell(
        "## Your variables in a question\n\n`{name}` is replaced by the variable's value "
        "(`{{` for a literal brace); `--chart` chooses the chart yourself."
    ),
    new_code_cell("n = 3"),
    new_code_cell("%%ask --chart point\nShow me the top {n} products by revenue"),
    new_markdown_cell("## Another database"),
    new_code_cell("%%ask --db finance\nshare of expenses by department"),
    new_markdown_cell(
        "## When the engine is not sure\n\n"
        "It says what it understood instead of guessing, and the notebook keeps running "
        "(`%config AskMagics.strict = True` makes it an error instead)."
    ),
    new_code_cell("%%ask --db retail\nwhat is the median order value"),
    new_markdown_cell(
        "## Your own DataFrames\n\n"
        "`--from` asks about DataFrames of the notebook instead of a database: the server sees "
        "their columns, row counts and a few text values, never their rows, and the SQL it "
        "writes runs here with DuckDB. `%nlsql use sales` makes it the default; "
        '`nl.ask(question, frames={"sales": sales})` does the same from Python.'
    ),
    new_code_cell(
        "import pandas as pd\n\n"
        'sales = pd.read_csv("sales.csv", parse_dates=["sold_on"])\n'
        "sales.head()"
    ),
    new_code_cell("%%ask --from sales\nrevenue by region"),
    new_code_cell("%%ask --from sales\nunits sold per month"),
    new_markdown_cell("## A mistake\n\nErrors are short and say what to do."),
    new_code_cell(
        "%%ask --db nope\nhow many orders are there",
        metadata={"tags": ["raises-exception"]},
    ),
    new_code_cell("%nlsql history"),
    new_markdown_cell(
        "## Replay and freeze\n\n"
        "Every answer saves, with its outputs, its SQL and the columns of each table that SQL "
        'reads (`metadata["nlsql"]`). `nl.replay(answer)` runs that SQL again with no '
        "engine: an LLM's answer becomes deterministic and free to re-run. When a table or "
        "column it reads has changed, it runs nothing and says what changed instead. "
        "`%%ask --replay` replays one cell from the saved notebook, and `NLSQL_REPLAY=1` every "
        "cell: `NLSQL_REPLAY=1 NLSQL_NOTEBOOK=analysis.ipynb jupyter nbconvert --execute "
        "analysis.ipynb` re-runs a saved analysis without asking any engine."
    ),
    new_code_cell("%%ask --db retail --out channels\nnumber of orders by channel"),
    new_code_cell(
        "again = nl.replay(channels)\nprint(again.engine, again.df.equals(channels.df))\nagain"
    ),
    new_markdown_cell(
        "`--freeze` turns a cell into plain SQL: JupyterLab replaces it with a `%%nlsql sql` "
        "cell that runs the same SQL on the same database, the question kept as a comment "
        "(run headless, as here, the new cell's text is printed). The next cell is that text."
    ),
    new_code_cell("%%ask --db retail --freeze\nnumber of orders by channel"),
    new_code_cell(
        "%%nlsql sql --db retail\n"
        "-- number of orders by channel\n"
        "-- (SQL written by the offline engine on 2026-12-03; frozen from %%ask)\n"
        "SELECT\n"
        "  orders.channel AS channel,\n"
        "  COUNT(*) AS order_count\n"
        "FROM orders\n"
        "GROUP BY\n"
        "  orders.channel\n"
        "ORDER BY\n"
        "  order_count DESC,\n"
        "  channel"
    ),
    new_markdown_cell(
        "## When a question has two meanings\n\n"
        "Parcels are sent on one day and delivered on another: “parcels in March” could mean "
        "either. Where the schema and the glossary do not say which, the engine asks instead "
        "of guessing. Here is a small SQLite file of parcels (any SQLite file works with "
        "`%nlsql use PATH`)."
    ),
    new_code_cell(
        "import sqlite3\n"
        "import tempfile\n"
        "from pathlib import Path\n\n"
        'shop = Path(tempfile.mkdtemp()) / "shop.sqlite"\n'
        "with sqlite3.connect(shop) as db:\n"
        "    db.execute(\n"
        '        "CREATE TABLE parcels (id INTEGER PRIMARY KEY, city TEXT, weight_kg REAL, "\n'
        '        "sent_on DATE, delivered_on DATE)"\n'
        "    )\n"
        "    db.executemany(\n"
        '        "INSERT INTO parcels VALUES (?, ?, ?, ?, ?)",\n'
        "        [\n"
        "            (\n"
        "                i,\n"
        '                ["Berlin", "Paris", "Rome"][i % 3],\n'
        "                1 + i % 19,\n"
        '                f"2024-{1 + i % 12:02d}-{1 + i % 25:02d}",\n'
        '                f"2024-{min(12, 2 + i % 12):02d}-05",\n'
        "            )\n"
        "            for i in range(300)\n"
        "        ],\n"
        "    )"
    ),
    new_code_cell("%nlsql use {shop}"),
    new_markdown_cell(
        "The answer is a choice: a button per reading. A click answers the question in the "
        "same output and offers to remember the choice."
    ),
    new_code_cell("%%ask\nhow many parcels in March 2024"),
    new_markdown_cell(
        "Here the clicks are made from code, as a person would make them: *parcels by sent on*, "
        "then *Remember this*."
    ),
    new_code_cell(
        "choice = _\n"
        "choice.buttons[0].click()  # the answer appears in the output above\n"
        "choice.remember_button.click()\n"
        "print(choice.sql)"
    ),
    new_markdown_cell(
        "A remembered choice goes to the database's glossary overlay (a TOML file of your own, "
        "beside the databases file or in the data directory), which both engines read from the "
        "next question on: this one no longer asks. `nlsql glossary list|add|remove` does the "
        "same from the shell, and `nlsql ask --choose N --remember` answers there."
    ),
    new_code_cell("%nlsql glossary"),
    new_code_cell("%%ask\ntotal weight of parcels per month in 2024"),
    new_markdown_cell(
        "Forget it again: a new session would ask once more (this one keeps the reading chosen "
        "above for its later questions)."
    ),
    new_code_cell("%nlsql glossary --forget parcels"),
    new_markdown_cell(
        "## Expensive queries ask first\n\n"
        "Before it runs a query the server reads the database's plan and estimates the rows it "
        "will read. Over its budget (`NLSQL_COST_BUDGET_ROWS`, 10 million rows) it runs "
        "nothing: the cell shows the estimate and the plan in words, with a *Run anyway* "
        "button (`%%ask --yes` runs at once). Here a clinic whose `visits.patient_id` has no "
        "index: finding the patients who never visited reads every visit once per patient."
    ),
    new_code_cell(
        "import sqlite3\nimport tempfile\nfrom pathlib import Path\n\n"
        'clinic = Path(tempfile.mkdtemp()) / "clinic.sqlite"\n'
        "with sqlite3.connect(clinic) as db:\n"
        '    db.execute("CREATE TABLE patients (patient_id INTEGER PRIMARY KEY, name TEXT)")\n'
        "    db.execute(\n"
        '        "CREATE TABLE visits (visit_id INTEGER PRIMARY KEY, "\n'
        '        "patient_id INTEGER REFERENCES patients (patient_id), fee REAL)"\n'
        "    )\n"
        "    ids = range(4000)\n"
        '    db.executemany("INSERT INTO patients VALUES (?, ?)", ((i, f"patient {i}") for i in ids))\n'
        '    db.executemany("INSERT INTO visits VALUES (?, ?, ?)", ((i, i % 3500, 9.5) for i in ids))\n'
        "db.close()"
    ),
    new_code_cell("%%ask --db {clinic} --out never\npatients who never visited"),
    new_markdown_cell(
        "Clicking *Run anyway* asks again with `confirm=True` and shows the answer under the "
        "button; from code, `never.run()` (or `never.button.click()`) does the same. Then "
        "`never.df` holds the rows and `never.answer` the answer."
    ),
    new_code_cell("never.button.click()\nnever.df.head()"),
]


def write(name: str, cells: list[nbformat.NotebookNode]) -> Path:
    notebook = new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    path = NOTEBOOKS / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def main() -> None:
    for name, cells in (("quickstart", QUICKSTART), ("tour", TOUR)):
        print(f"wrote {write(name, cells)}")


if __name__ == "__main__":
    main()
