"""Predict-then-check questions with feedback aimed at specific misconceptions.

A lesson names a question by id, ``check("gatag-300")``; the question, its answer, feedback and
worked solution live in :mod:`avicviz.questions`, so no notebook cell shows them.  A
:class:`Check` asks the question, takes the learner's answer (a number in decimal, ``4,096`` or
0x-hex, or one of several choices) and answers with specific feedback: the right answer gets a
short confirmation, a known wrong answer the explanation of the mistake behind it ("you shifted
by 8: that is the pre-6.3 layout"), anything else a generic hint.  Nothing of the answer is in
the widget before the first attempt: the feedback is computed in the kernel when the learner
checks, and the worked solution is filled in and shown only after that first attempt.
``submit(value)`` does the same from code (tests, self-checks).

Without a kernel (a static book, an HTML export), the question shows as HTML with its solution
folded away in a ``<details>`` element, to open once the reader has an answer.
"""

from __future__ import annotations

import html
from typing import Any, Callable, Mapping, Sequence

import ipywidgets as W

from ..plots._style import TEXT_COLOURS
from ..questions import Question, question as _question

__all__ = ["Check", "check"]

Feedback = Mapping[Any, str] | Callable[[Any], "str | None"]

#: Characters people put between digit groups: 4,096 / 4 096 / 4_096 / 4'096.
_GROUPING = ("_", ",", " ", "\u00a0", "\u202f", "'")


def parse_number(value: Any) -> int | None:
    """The int a learner typed (decimal with or without digit grouping, or 0x-hex), else None.

    >>> [parse_number(s) for s in ("4096", "4,096", "4 096", "0x1000", "0x1_000", "4.096")]
    [4096, 4096, 4096, 4096, 4096, None]
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    s = str(value).strip().lower()
    for sep in _GROUPING:
        s = s.replace(sep, "")
    try:
        return int(s, 16) if s.startswith("0x") else int(s, 10)
    except ValueError:
        return None


class Check:
    """One question.

    ``answer``: the correct value (int for numeric questions, one of ``options`` otherwise).
    ``feedback``: ``{wrong_answer: message}`` or a function ``value -> message | None`` for
    likely mistakes.  ``solution``: the worked answer (plain text), shown after the first attempt.
    Lessons use :func:`check` with a question id instead of writing these out.
    """

    def __init__(self, question: str, answer: Any, *, options: Sequence[Any] | None = None,
                 feedback: Feedback | None = None, solution: str = "", hint: str = "",
                 correct_message: str = "Correct.", qid: str | None = None) -> None:
        self.qid = qid
        self.question = question
        self.answer = answer
        self.options = list(options) if options is not None else None
        if self.options is not None and answer not in self.options:
            raise ValueError(f"answer={answer!r} is not one of the options {self.options}")
        self.feedback = feedback or {}
        self.solution = solution or "(no worked solution)"
        self.hint = hint or "Not quite. Look again at the figure above, or read the solution below."
        self.correct_message = correct_message
        self.attempts = 0
        self.solved = False
        label = "Your answer"
        if self.options is None:
            self.input = W.Text(placeholder="decimal (4,096) or hex (0x1000)", description=label,
                                continuous_update=False, layout=W.Layout(width="24em"),
                                style={"description_width": "initial"})
        else:
            self.input = W.RadioButtons(options=self.options, value=None, description=label,
                                        layout=W.Layout(width="auto"),
                                        style={"description_width": "initial"})
        self.button = W.Button(description="Check", button_style="primary",
                               tooltip="check your answer", layout=W.Layout(width="6em"))
        self.button.on_click(lambda _b: self._on_check())
        if self.options is None:  # Enter (or leaving the box) checks a typed answer too
            self.input.observe(lambda _c: self._on_check(), names="value")
        self._last_checked: Any = None
        self.result = W.HTML()
        # empty until the first attempt: the page holds no solution before the learner tries
        self._solution_html = W.HTML("")
        self.solution_box = W.Accordion(children=[self._solution_html],
                                        layout=W.Layout(display="none"))
        self.solution_box.set_title(0, "Solution")
        self.solution_box.selected_index = None
        self.widget = W.VBox([W.HTML(f"<b>Predict, then check:</b> {html.escape(question)}"),
                              W.HBox([self.input, self.button]), self.result, self.solution_box])

    @classmethod
    def from_question(cls, q: Question) -> "Check":
        """The check of a registered :class:`~avicviz.questions.Question`."""
        return cls(q.question, q.answer, options=q.options, feedback=q.feedback,
                   solution=q.solution, qid=q.id)

    # ---- public ------------------------------------------------------------------------
    def submit(self, value: Any) -> tuple[bool, str]:
        """Check ``value`` (as if typed or picked); returns (correct, feedback message).

        A try that is no answer at all (text that is not a number, no choice picked) gets a
        message saying what to enter and does not count as an attempt.
        """
        parsed = self._parse(value)
        if parsed is None:
            ok = False
            msg = (f"{value!r} is not a number: type it in decimal (300 or 4,096) or hex (0x12C)."
                   if self.options is None else "Pick one of the choices first.")
        else:
            self.attempts += 1
            if parsed == self.answer:
                ok, msg = True, self.correct_message
            else:
                ok, msg = False, self._feedback_for(parsed)
            self._reveal_solution()
        self.solved = self.solved or ok
        colour = TEXT_COLOURS["green" if ok else "red"]
        mark = "&#10004; Right:" if ok else "&#10008; Not yet:"
        # role="status": a screen reader reads the feedback out when it appears
        self.result.value = (f"<span role='status' style='color:{colour}'>{mark} "
                             f"{html.escape(msg)}</span>")
        return ok, msg

    @property
    def solution_shown(self) -> bool:
        """Whether the worked solution is on the page (only after the first attempt)."""
        return self.solution_box.layout.display != "none"

    def static_html(self) -> str:
        """The question as HTML for a page without a kernel: the solution folded away."""
        opts = ("" if self.options is None else
                "<ul>" + "".join(f"<li>{html.escape(str(o))}</li>" for o in self.options) + "</ul>")
        return (
            "<div class='avicviz-check'>"
            f"<p><strong>Predict, then check:</strong> {html.escape(self.question)}</p>{opts}"
            "<p>Decide on your answer first. With a running kernel you type it here and get "
            "feedback on it; on this page, open the solution once you have your answer.</p>"
            "<details><summary>Solution (open after you have answered)</summary>"
            f"<p>{html.escape(self.solution)}</p></details></div>"
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        """The live widget, plus static HTML and text for pages without a kernel."""
        data = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        data["text/html"] = self.static_html()
        data["text/plain"] = f"Predict, then check: {self.question}"
        return data

    # ---- internals ---------------------------------------------------------------------
    def _parse(self, value: Any) -> Any:
        if self.options is not None:
            return value if value in self.options else None
        return parse_number(value)

    def _feedback_for(self, value: Any) -> str:
        fb = self.feedback
        msg = fb(value) if callable(fb) else fb.get(value)
        return msg or self.hint

    def _reveal_solution(self) -> None:
        if not self.solution_shown:
            self._solution_html.value = html.escape(self.solution)
            self.solution_box.layout.display = None

    def _on_check(self) -> None:
        value = self.input.value
        if value == self._last_checked and self.result.value:
            return  # Enter, then a click on Check: one attempt, not two
        self._last_checked = value
        self.submit(value)


def check(qid: str) -> Check:
    """The predict-then-check question ``qid`` of :mod:`avicviz.questions`, ready to display.

    >>> c = check("gatag-300")
    >>> c.solution_shown, c.submit("0x12C")[0], c.solution_shown
    (False, False, True)
    """
    return Check.from_question(_question(qid))
