"""Predict-then-check questions with feedback aimed at specific misconceptions.

A :class:`Check` asks one question, takes the learner's answer (a number in decimal or 0x-hex,
or one of several choices), and answers with specific feedback: the right answer gets a short
confirmation, a known wrong answer the explanation of the mistake behind it ("you shifted by 8:
that is the pre-6.3 layout"), anything else a generic hint.  The worked solution stays hidden
until the learner opens it.  ``submit(value)`` does the same from code (tests, self-checks).
"""

from __future__ import annotations

import html
from typing import Any, Callable, Mapping, Sequence

import ipywidgets as W

__all__ = ["Check"]

Feedback = Mapping[Any, str] | Callable[[Any], "str | None"]


class Check:
    """One question.

    ``answer``: the correct value (int for numeric questions, one of ``options`` otherwise).
    ``feedback``: ``{wrong_answer: message}`` or a function ``value -> message | None`` for
    likely mistakes.  ``solution``: the worked answer (HTML or plain text), hidden at first.
    """

    def __init__(self, question: str, answer: Any, *, options: Sequence[Any] | None = None,
                 feedback: Feedback | None = None, solution: str = "", hint: str = "",
                 correct_message: str = "Correct.") -> None:
        self.question = question
        self.answer = answer
        self.options = list(options) if options is not None else None
        if self.options is not None and answer not in self.options:
            raise ValueError(f"answer={answer!r} is not one of the options {self.options}")
        self.feedback = feedback or {}
        self.hint = hint or "Not quite. Look again at the figure above, or open the solution."
        self.correct_message = correct_message
        self.attempts = 0
        self.solved = False
        if self.options is None:
            self.input = W.Text(placeholder="your answer (decimal or 0x-hex)",
                                layout=W.Layout(width="18em"))
            self.input.on_submit(lambda _w: self._on_check())
        else:
            self.input = W.RadioButtons(options=self.options, value=None,
                                        layout=W.Layout(width="auto"))
        self.button = W.Button(description="Check", button_style="primary",
                               layout=W.Layout(width="6em"))
        self.button.on_click(lambda _b: self._on_check())
        self.result = W.HTML()
        self.solution_box = W.Accordion(children=[W.HTML(solution or "(no worked solution)")])
        self.solution_box.set_title(0, "Solution (open after you have tried)")
        self.solution_box.selected_index = None
        self.widget = W.VBox([W.HTML(f"<b>Predict, then check:</b> {question}"),
                              W.HBox([self.input, self.button]), self.result, self.solution_box])

    # ---- public ------------------------------------------------------------------------
    def submit(self, value: Any) -> tuple[bool, str]:
        """Check ``value`` (as if typed or picked); returns (correct, feedback message)."""
        self.attempts += 1
        parsed = self._parse(value)
        if parsed is None:
            msg = f"{value!r} is not a number: type it in decimal (300) or hex (0x12C)."
            ok = False
        elif parsed == self.answer:
            ok, msg = True, self.correct_message
        else:
            ok, msg = False, self._feedback_for(parsed)
        self.solved = self.solved or ok
        colour = "#009E73" if ok else "#D55E00"
        mark = "&#10004;" if ok else "&#10008;"
        self.result.value = f"<span style='color:{colour}'>{mark} {html.escape(msg)}</span>"
        return ok, msg

    def _ipython_display_(self) -> None:  # pragma: no cover - notebooks only
        from IPython.display import display

        display(self.widget)

    # ---- internals ---------------------------------------------------------------------
    def _parse(self, value: Any) -> Any:
        if self.options is not None:
            return value
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        s = str(value).strip().replace("_", "").lower()
        try:
            return int(s, 16) if s.startswith("0x") else int(s, 10)
        except ValueError:
            return None

    def _feedback_for(self, value: Any) -> str:
        fb = self.feedback
        msg = fb(value) if callable(fb) else fb.get(value)
        return msg or self.hint

    def _on_check(self) -> None:
        self.submit(self.input.value)
