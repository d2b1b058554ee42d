"""`Clarification`: a question with two meanings, shown as buttons instead of a guess.

`%%ask` returns one when the server answers `needs_clarification`: a button per reading; a
click asks again with that reading (`Runtime.ask(..., choice=...)`) and shows the answer in the
same output; then "Remember this" writes the choice to the database's glossary overlay
(`Runtime.remember`), so later questions read it that way without asking. Like `Declined`, it
never stops "Run All", and it is falsy until a reading is chosen. Core widgets only, so a saved
notebook renders it after export.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from nlsql_jupyter.exceptions import NeedsClarification, NlsqlError

if TYPE_CHECKING:
    import pandas as pd

    from nlsql_jupyter.answer import Answer
    from nlsql_jupyter.runtime import Runtime

__all__ = ["Clarification"]

_FONT = "font-family:var(--jp-ui-font-family, system-ui, sans-serif);font-size:12px"


class Clarification(widgets.VBox):
    """The question, the readings as buttons, then the chosen answer and "Remember this".

    `buttons[i].click()` (or `choose(i)`) answers with reading `i`; `answer` is then its
    `Answer`, `remember_button.click()` (or `remember()`) keeps the choice.
    """

    def __init__(
        self,
        runtime: Runtime,
        question: str,
        error: NeedsClarification,
        database: str | None,
        ask_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.runtime = runtime
        self.question = question
        self.message = error.message
        self.options = error.options
        self.database = error.data.get("database") or database
        self.ask_options = dict(ask_options or {})
        self.answer: Answer | None = None
        self.chosen: dict[str, Any] | None = None
        self.header = widgets.HTML(
            f'<div style="{_FONT};border-left:3px solid #2563eb;padding:4px 10px">'
            f'<span style="color:#1d4ed8;font-weight:600">Which one?</span> — '
            f"{html.escape(self.message)}</div>"
        )
        self.buttons = [
            widgets.Button(
                description=str(option.get("label", "")),
                tooltip=str(option.get("label", "")),
                layout=widgets.Layout(width="auto"),
            )
            for option in self.options
        ]
        for index, button in enumerate(self.buttons):
            button.on_click(lambda _, index=index: self.choose(index))
        self.output = widgets.Output()
        self.remember_button = widgets.Button(
            description="Remember this", icon="bookmark", layout=widgets.Layout(display="none")
        )
        self.remember_button.on_click(lambda _: self.remember())
        self.status = widgets.HTML()
        super().__init__(
            [
                self.header,
                widgets.HBox(self.buttons),
                self.output,
                widgets.HBox([self.remember_button, self.status]),
            ]
        )

    def choose(self, index: int) -> Answer | None:
        """Answer the question with reading `index`; the answer replaces the previous one."""
        option = self.options[index]
        for number, button in enumerate(self.buttons):
            button.button_style = "info" if number == index else ""
        self.status.value = ""
        # asked about the notebook's DataFrames: asked about them again, nothing to remember
        frames = self.ask_options.get("frames") is not None
        try:
            answer = self.runtime.ask(
                self.question,
                database=None if frames else self.database,
                choice=option["choice"],
                **self.ask_options,
            )
        except NlsqlError as exc:
            self.status.value = _line(f"Not answered: {exc.message}", "#b91c1c")
            return None
        self.answer, self.chosen = answer, dict(option["choice"])
        # the answer's bundle as the output's state: a saved notebook keeps it
        bundle = answer._repr_mimebundle_()
        self.output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)
        if not frames:
            self.remember_button.layout.display = None
            self.remember_button.disabled = False
        return answer

    def remember(self) -> None:
        """Keep the chosen reading in the database's glossary overlay (server `glossary.add`)."""
        if self.chosen is None:
            return
        try:
            self.runtime.remember(self.chosen, self.database)
        except NlsqlError as exc:
            self.status.value = _line(f"Not remembered: {exc.message}", "#b91c1c")
            return
        self.remember_button.disabled = True
        self.status.value = _line(
            f"Remembered for {self.database}: later questions read it this way "
            "(`%nlsql glossary` lists what is remembered).",
            "#15803d",
        )

    def __bool__(self) -> bool:
        return self.answer is not None

    @property
    def sql(self) -> str:
        return self.answer.sql if self.answer is not None else ""

    @property
    def df(self) -> pd.DataFrame:
        """The chosen answer's DataFrame; empty until a reading is chosen."""
        if self.answer is not None:
            return self.answer.df
        import pandas as pd

        return pd.DataFrame()


def _line(text: str, colour: str) -> str:
    return f'<span style="{_FONT};color:{colour}">{html.escape(text)}</span>'
