"""A question whose SQL the server would not run without asking: its estimate and a button.

The server checks each query's plan before running it; above its budget
(`NLSQL_COST_BUDGET_ROWS`) it answers `needs_confirmation` with the estimate. `%%ask` then
shows the estimate, the plan in words and the SQL, with an ipywidgets "Run anyway" button:
clicking asks again with `confirm=True` and puts the answer in the widget's output. Like a
declined question it is falsy and does not stop "Run All".

The answer goes into the `Output` widget's `outputs` directly (not `with output:`, which only a
front end fills in), so it is there for code, tests and exported widget state alike.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from nlsql_jupyter.display import Bundle, SqlView

if TYPE_CHECKING:
    import ipywidgets as widgets
    import pandas as pd

    from nlsql_jupyter.answer import Answer
    from nlsql_jupyter.exceptions import NeedsConfirmation

__all__ = ["Unconfirmed"]

_FONT = "font-family:var(--jp-ui-font-family, system-ui, sans-serif);font-size:12px"


class Unconfirmed:
    """The server's estimate of a query it did not run, and `run()` to run it anyway.

    Falsy, with an empty `df`, so notebook code after it still runs; once run (by `run()` or
    the button) `answer` holds the `Answer` and `df` is its DataFrame.
    """

    #: Not declined: the SQL is written and only waits for the user.
    declined = False
    chart = None

    def __init__(
        self,
        question: str,
        error: NeedsConfirmation,
        rerun: Callable[[], Answer],
    ) -> None:
        self.question = question
        self.message = error.message
        self.sql = error.sql
        self.estimate = error.estimate
        self.budget = error.data.get("budget")
        self.database = error.data.get("database")
        self.explanation = str(error.data.get("explanation") or "")
        self.answer: Answer | None = None
        self._rerun = rerun

    def __bool__(self) -> bool:
        return False

    @cached_property
    def df(self) -> pd.DataFrame:
        """The answer's DataFrame once run, else an empty one."""
        import pandas as pd

        return self.answer.df if self.answer is not None else pd.DataFrame()

    # -- the widget ----------------------------------------------------------------------------

    @cached_property
    def button(self) -> widgets.Button:
        import ipywidgets as widgets

        button = widgets.Button(
            description="Run anyway",
            button_style="warning",
            icon="play",
            tooltip="Run the query although its estimate is over the server's budget",
        )
        button.on_click(lambda _: self.run())
        return button

    @cached_property
    def status(self) -> widgets.HTML:
        import ipywidgets as widgets

        return widgets.HTML("")

    @cached_property
    def output(self) -> widgets.Output:
        import ipywidgets as widgets

        return widgets.Output()

    @cached_property
    def widget(self) -> widgets.VBox:
        import ipywidgets as widgets

        return widgets.VBox([widgets.HBox([self.button, self.status]), self.output])

    def run(self) -> Answer | None:
        """Ask again with `confirm=True` and show the answer in the widget's output."""
        if self.answer is not None:
            return self.answer
        self.button.disabled = True
        self.button.description = "Running…"
        try:
            answer = self._rerun()
        except Exception as exc:  # shown beside the button: a click has no cell to raise in
            self.button.disabled = False
            self.button.description = "Run anyway"
            self.status.value = (
                f'<span style="{_FONT};color:#b91c1c">{html.escape(type(exc).__name__)}: '
                f"{html.escape(str(exc))}</span>"
            )
            return None
        self.answer = answer
        self.__dict__.pop("df", None)
        self.button.description = "Ran"
        self.status.value = (
            f'<span style="{_FONT};color:#15803d">✓ {answer.row_count:,} rows</span>'
        )
        self.output.outputs = (
            {
                "output_type": "display_data",
                "data": answer._repr_mimebundle_(),
                "metadata": {"nlsql": answer.provenance()},
            },
        )
        return answer

    # -- how it looks --------------------------------------------------------------------------

    def bundle(self) -> tuple[Bundle, dict[str, Any]]:
        """The estimate, the plan in words and the SQL: readable in any export."""
        rows = self.estimate.get("rows")
        kind = self.estimate.get("kind") or "estimate"
        steps = [str(step) for step in self.estimate.get("plan") or []]
        budget = f"{self.budget:,}" if isinstance(self.budget, int) else "the server's budget"
        reads = f"about {rows:,} rows" if isinstance(rows, int) else "more than it may"
        head = f"Not run yet: this query would read {reads} ({kind}); the budget is {budget} rows."
        sql = SqlView(self.sql, self.explanation)._repr_mimebundle_()
        text = "\n".join([head, "Plan:", *(f"  • {step}" for step in steps), "", sql["text/plain"]])
        items = "".join(f"<li>{html.escape(step)}</li>" for step in steps)
        body = (
            f'<div style="{_FONT};border-left:3px solid #d97706;padding:4px 10px">'
            f'<div><span style="color:#b45309;font-weight:600">Not run yet</span> — this query '
            f"would read <b>{html.escape(reads)}</b> ({html.escape(str(kind))}); the budget is "
            f"{html.escape(budget)} rows.</div>"
            f'<div style="margin-top:4px">Plan:</div>'
            f'<ul style="margin:2px 0 4px 0;padding-left:18px">{items}</ul>'
            f"{sql['text/html']}</div>"
        )
        metadata = {
            "nlsql": {
                "question": self.question,
                "database": self.database,
                "needs_confirmation": True,
                "estimate": self.estimate,
                "sql": self.sql,
            }
        }
        return {"text/plain": text, "text/html": body}, metadata

    def _ipython_display_(self) -> None:
        from IPython.display import display

        data, metadata = self.bundle()
        display(data, metadata=metadata, raw=True)
        display(self.widget)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        return self.bundle()[0]
