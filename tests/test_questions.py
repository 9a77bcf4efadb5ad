"""The predict-then-check questions: registered in the package, right by the model, and never
shown by a notebook before the learner tries."""

import re
from pathlib import Path

import nbformat
import pytest

import avicviz as av
from avicviz.questions import QUESTIONS, Question, question, questions
from avicviz.widgets import check
from avicviz.widgets.checks import Check

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _sources(path, kind=None):
    return [c.source for c in nbformat.read(path, as_version=4).cells if kind in (None, c.cell_type)]


def _spoilers(q: Question) -> list[str]:
    """Texts that would give a question away if a notebook showed them."""
    out = [q.solution]
    out += [m for m in q.feedback.values()]
    if q.options is None:  # a number: as written in the solution, or as a Python literal
        out += [f"answer={q.answer}", f"answer={q.answer:#x}", f"answer=0x{q.answer:X}"]
    else:
        out += [f'answer="{q.answer}"', f"answer='{q.answer}'"]
    return out


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_notebook_shows_an_answer_feedback_or_solution(path):
    cells = [_normal(s) for s in _sources(path)]
    for q in QUESTIONS.values():
        for spoiler in _spoilers(q):
            needle = _normal(spoiler)
            # long texts also match when a notebook quotes a good part of them
            needles = [needle] if len(needle) < 60 else [needle[:60], needle[-60:]]
            for i, cell in enumerate(cells):
                for n in needles:
                    assert n not in cell, f"{path.name} cell {i} shows part of {q.id}'s answer: {n!r}"
    assert not any("Check(" in s for s in _sources(path)), f"{path.name} writes a question out in a cell"


def test_every_question_is_asked_by_exactly_one_lesson():
    asked = {}
    for path in LESSONS:
        for s in _sources(path, "code"):
            for qid in re.findall(r'\bcheck\("([^"]+)"\)', s):
                assert qid in QUESTIONS, f"{path.name} asks unknown question {qid!r}"
                asked.setdefault(qid, []).append(path.name[:2])
    assert asked == {q.id: [q.lesson] for q in QUESTIONS.values()}


def test_the_scan_finds_a_spoiler_when_there_is_one():
    q = question("gatag-300")
    leaky = _normal('Check("On Linux 6.3 ...", answer=0x32C, solution="' + q.solution + '")')
    assert any(_normal(s)[:60] in leaky for s in _spoilers(q) if len(s) >= 60)
    assert "answer=0x32c" in leaky and any(_normal(s) == "answer=0x32c" for s in _spoilers(q))


# ---- every answer is what the model says ------------------------------------------------------

MODEL_ANSWERS = {
    "ipi-running-exits": lambda: av.simulate(2, kernel="6.19").path_counts()["accelerated"] - 2,
    "entry-value": lambda: av.encode_entry(5, 0x2000, is_running=False, valid=True),
    "x2avic-ext-entries": lambda: av.table_pages("6.19", "x2avic-ext") * av.ENTRIES_PER_PAGE,
    "gatag-300": lambda: av.encode(vm_id=1, vcpu=300, kernel="6.3").tag,
    "aliased-400": lambda: len(av.aliases(400, kernel="6.2").aliased_vcpus),
    "accelerated-600-617": lambda: av.simulate(600, kernel="6.17", cpu="x2avic").accelerated_vcpus,
    "topology-300": lambda: av.Topology(sockets=3, cores=100, threads=1).max_apic_id,
    "partial-avic-1024": lambda: round(100 * av.sweep("6.17", policy="partial-avic").accelerated_fraction[1023]),
    "wake-400-62": lambda: av.encode(vm_id=1, vcpu=400, kernel="6.2").decoded_vcpu,
}


@pytest.mark.parametrize("qid", sorted(MODEL_ANSWERS))
def test_numeric_answers_agree_with_the_model(qid):
    assert question(qid).answer == MODEL_ANSWERS[qid]()


def test_every_question_has_a_solution_and_checks_its_own_answer():
    assert len(QUESTIONS) == 15 and [q.lesson for q in questions()] == sorted(q.lesson for q in questions())
    for q in questions():
        assert len(q.solution) > 20, q.id
        c = check(q.id)
        assert c.submit(q.answer) == (True, "Correct.")
        for wrong, msg in q.feedback.items():
            assert check(q.id).submit(wrong) == (False, msg)


def test_unknown_question_id_is_a_clear_error():
    with pytest.raises(ValueError, match="question id 'gatag-301' is not known: valid ids .*gatag-300"):
        check("gatag-301")


def test_a_question_whose_answer_is_not_an_option_is_rejected():
    with pytest.raises(ValueError, match="answer='c' is not one of the options"):
        Question("x", "00", "Pick", answer="c", solution="s", options=("a", "b"))


# ---- hidden until tried ------------------------------------------------------------------------

def _widget_texts(c: Check) -> str:
    """Every string the widget holds (what a browser could be sent), children included."""
    import ipywidgets as W

    out, todo = [], [c.widget]
    while todo:
        w = todo.pop()
        for name in w.keys:
            v = getattr(w, name)
            if isinstance(v, str):
                out.append(v)
            elif isinstance(v, (list, tuple)):
                out += [x for x in v if isinstance(x, str)]
                todo += [x for x in v if isinstance(x, W.Widget)]
            elif isinstance(v, W.Widget):
                todo.append(v)
    return "\n".join(out)


@pytest.mark.parametrize("qid", sorted(QUESTIONS))
def test_the_widget_holds_no_solution_or_feedback_before_an_attempt(qid):
    q = question(qid)
    c = check(qid)
    texts = _widget_texts(c)
    assert q.question in texts.replace("&#x27;", "'")
    assert not c.solution_shown and c.solution_box.layout.display == "none"
    for spoiler in [q.solution, *q.feedback.values()]:
        assert spoiler not in texts
    bundle = c._repr_mimebundle_()
    assert q.solution not in bundle["text/plain"]


def test_the_solution_appears_after_the_first_real_attempt():
    c = check("x2avic-ext-entries")
    assert c.submit("a lot")[0] is False and not c.solution_shown and c.attempts == 0
    ok, msg = c.submit("512")
    assert not ok and "one page" in msg and c.solution_shown and c.attempts == 1
    assert "8 pages x 512 entries" in c._solution_html.value
    assert "Not yet" in c.result.value


def test_enter_then_click_counts_one_attempt():
    c = check("topology-300")
    c.input.value = "355"  # Enter in the text box
    c.button.click()
    assert c.attempts == 1 and c.solved and "Right" in c.result.value


def test_choice_question_needs_a_pick():
    c = check("backing-page-pointer")
    assert c.submit(None) == (False, "Pick one of the choices first.") and not c.solution_shown
    c.input.value = "the GA log"
    c.button.click()
    assert "not addresses" in c.result.value and c.solution_shown


def test_static_html_folds_the_solution_away():
    c = check("gatag-300")
    page = c.static_html()
    before, details = page.split("<details>")
    assert c.solution.split(":")[0] not in before and "On Linux 6.3" in before
    assert details.startswith("<summary>Solution (open after you have answered)</summary>")
