"""Each lesson in a real JupyterLab: Run All, no error output, every explorer renders, and in
02_gatag and 03_past_512 a slider moved with the keyboard changes the kernel's value, the
readouts and the figure's pixels.  Screenshots go to test-artifacts/."""

import base64
import io
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness import (CANVAS, FIGURE, READOUT, SLIDER, new_page, canvas_pixels, check_slider_redraws, error_outputs, explorers_in,
                     explorer_box, jupyter_lab, open_and_run_all, run_in_kernel,
                     shutdown_kernel, slider_value, wait_canvas_stable,
                     wait_widgets_rendered, WIDGET_OUTPUT)

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
LESSONS = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
SLIDER_LESSONS = [n for n in LESSONS if n.startswith(("02_", "03_"))]

# Every explorer alive in the kernel, its controls' descriptions, values and steps, and its
# readout as plain text.  Found through the garbage collector, so it needs no variable names.
SNAPSHOT = r"""
import gc as _gc, json as _json, re as _re, html as _html
from avicviz.widgets._base import Explorer as _E
print(_json.dumps(sorted(
    [{"id": id(_e), "cls": type(_e).__name__,
      "controls": {_k: {"description": _w.description, "value": _w.value if isinstance(_w.value, (int, float, str, bool)) else str(_w.value),
                        "step": getattr(_w, "step", None), "slider": type(_w).__name__.endswith("Slider")}
                   for _k, _w in _e.controls.items()},
      "readout": " ".join(_html.unescape(_re.sub("<[^>]+>", " ", _e.readout.value)).split())}
     for _e in _gc.get_objects() if isinstance(_e, _E)], key=lambda d: d["id"])))
"""


def _snapshot(page, notebook):
    return json.loads(run_in_kernel(page, notebook, SNAPSHOT))


@pytest.fixture(scope="module")
def lab(notebooks_copy):
    with jupyter_lab(notebooks_copy) as server:
        yield server


def test_all_six_lessons_are_covered():
    assert [n[:2] for n in LESSONS] == ["00", "01", "02", "03", "04", "05"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_runs_and_explorers_respond(lesson, lab, page, artifacts):
    """Run All; no error output; every figure non-blank inside its explorer; in 02 and 03 a
    keyboard move of the first explorer's slider changes the kernel, the readouts and the pixels."""
    panel = open_and_run_all(page, lab, lesson)
    try:
        assert error_outputs(panel) == []
        assert panel.get_by_text(re.compile(r"Error displaying widget|Error rendering")).count() == 0
        widgets = wait_widgets_rendered(panel)
        figures = panel.locator(FIGURE)
        wanted = explorers_in(lab.root / lesson)
        assert widgets >= figures.count() >= len(wanted), (
            f"{figures.count()} figures shown; the notebook creates {sorted(wanted)}")
        for i in range(figures.count()):
            fig = figures.nth(i)
            fig.scroll_into_view_if_needed()
            wait_canvas_stable(fig.locator("canvas").first)  # non-blank and settled
            assert explorer_box(fig).count() == 1, f"figure {i} is not inside an explorer's box"
        assert panel.locator(".widget-html", has_text="hit a bug in avicviz").count() == 0
        assert all(e["controls"] for e in _snapshot(page, panel.copy_name))
        (figures.first if figures.count() else panel.locator(WIDGET_OUTPUT).first).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"lab-{Path(lesson).stem}.png"))
        # make lab's setting: the kernel websocket sends the kernel's answers at once (no Nagle)
        assert "sends without delay (TCP_NODELAY)" in lab.log.read_text(errors="replace")
        if lesson in SLIDER_LESSONS:
            _slider_changes_kernel_readout_and_pixels(page, panel, figures.first)
            page.screenshot(path=str(artifacts / f"lab-{Path(lesson).stem}-slider.png"))
    finally:
        shutdown_kernel(page, panel.copy_name)


def _slider_changes_kernel_readout_and_pixels(page, panel, fig):
    box = explorer_box(fig)
    slider = box.locator(SLIDER).first
    canvas = fig.locator("canvas").first
    label = slider.locator(".widget-label").first.inner_text().strip()
    explorer_readout = box.locator(READOUT).first
    wait_canvas_stable(canvas)
    readout_before = " ".join(explorer_readout.inner_text().split())
    before = _snapshot(page, panel.copy_name)
    v0 = slider_value(slider)

    result = check_slider_redraws(page, slider, canvas)
    assert result.ok, result.message

    after = _snapshot(page, panel.copy_name)
    changed = [(b, a, k) for b, a in zip(before, after) for k in b["controls"]
               if a["controls"][k]["value"] != b["controls"][k]["value"]]
    assert len(changed) == 1, f"expected exactly one control to change in the kernel: {changed}"
    e_before, e_after, name = changed[0]
    control, new = e_before["controls"][name], e_after["controls"][name]["value"]
    assert control["slider"] and control["description"] == label, (name, control, label)
    assert str(control["value"]) == v0 and new == control["value"] + control["step"], (name, v0, new)
    assert slider_value(slider) == str(new)  # the slider's readout shows the kernel's value
    # the explorer's own readout changed and shows what the kernel computed
    assert e_after["readout"] != e_before["readout"], e_after["readout"]
    page.wait_for_function("([el, want]) => el.innerText.replace(/\\s+/g, '') === want",
                           arg=[explorer_readout.element_handle(), e_after["readout"].replace(" ", "")],
                           timeout=10_000)
    assert " ".join(explorer_readout.inner_text().split()) != readout_before


def test_at_1024_px_with_the_file_browser_open_no_picture_is_cut_off(lab, browser, artifacts):
    page = new_page(browser, width=1024, height=768)
    try:
        panel = open_and_run_all(page, lab, "03_past_512.ipynb")
        try:
            page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
            page.wait_for_function("() => !window.jupyterapp.shell.leftCollapsed")
            page.wait_for_timeout(500)  # Lab lays the panel out again
            figures = panel.locator(FIGURE)
            for i in range(figures.count()):
                figures.nth(i).scroll_into_view_if_needed()
                wait_canvas_stable(figures.nth(i).locator("canvas").first)
            sizes = panel.locator(CANVAS).evaluate_all("""els => els.map(c => [
                c.getBoundingClientRect().right,
                c.closest('.jp-OutputArea-output').getBoundingClientRect().right,
                c.getBoundingClientRect().width])""")
            assert len(sizes) >= 3 and all(r <= outer + 0.5 and w > 300 for r, outer, w in sizes), sizes
            wide = panel.evaluate("""el => [...el.querySelectorAll('.jp-OutputArea-output')]
                .filter(o => o.scrollWidth > o.clientWidth + 1).length""")
            assert wide == 0, f"{wide} output areas scroll sideways"
            page.screenshot(path=str(artifacts / "lab-1024-file-browser.png"))
            # drawn at the size shown, never scaled by the browser (which blurs the text)
            drawn = _drawn_vs_shown(panel)
            assert all(abs(px - css) <= 1 for px, css in drawn), drawn
            # the lesson's figures are 9 to 11.5 inches wide, 900-1150 pixels at full size
            assert all(px < 900 for px, _ in drawn), drawn
            # the file browser closed: more room, and the pictures are drawn larger again
            page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')")
            page.wait_for_function("() => window.jupyterapp.shell.leftCollapsed")
            page.wait_for_function("""([el, before]) => {
                const now = [...el.querySelectorAll('.avicviz-picture canvas')].map(c => c.width);
                return now.length === before.length && now.some((w, i) => w > before[i]);
            }""", arg=[panel.element_handle(), [px for px, _ in drawn]], timeout=20_000)
            wider = _drawn_vs_shown(panel)
            assert all(abs(px - css) <= 1 for px, css in wider), wider
        finally:
            shutdown_kernel(page, panel.copy_name)
    finally:
        page.context.close()


def _drawn_vs_shown(panel):
    """For every explorer picture on screen: its pixels across, and the CSS pixels it is shown
    across times the screen's pixel ratio (the same when the browser does not scale it)."""
    for _ in range(40):  # let the kernel's answers to a new size arrive (a picture per explorer)
        sizes = panel.evaluate("""el => [...el.querySelectorAll('.avicviz-picture canvas')]
            .filter(c => c.getBoundingClientRect().width > 0)
            .map(c => [c.width, c.getBoundingClientRect().width * devicePixelRatio])""")
        if sizes and all(abs(px - css) <= 1 for px, css in sizes):
            break
        time.sleep(0.25)
    return sizes


# Sends the lesson's GATag explorer a picture whose PNG is broken, then moves its first slider in the
# kernel; prints the explorer's picture of the new value as base64 PNG.
BROKEN_THEN_NEXT = r"""
import gc as _gc, base64 as _b64
from avicviz.widgets._base import Explorer as _E
_e = sorted((o for o in _gc.get_objects() if isinstance(o, _E)), key=id)
_e = [o for o in _e if type(o).__name__ == "GATagExplorer"][0]
_h, _w = _e.render().shape[:2]
_e.picture.send({"type": "picture", "seq": 0, "full": False, "parts": [[0, 0]], "width": _w,
                 "height": _h, "ratio": _e.picture.ratio, "ack": False}, [b"not a PNG"])
_k, _s = next((k, w) for k, w in _e.controls.items() if hasattr(w, "max"))
_e.set(**{_k: _s.max if _s.value != _s.max else _s.min})
print(_b64.b64encode(_e.png()).decode())
"""


def test_a_picture_that_cannot_be_decoded_does_not_stop_the_pictures_after_it(lab, page):
    panel = open_and_run_all(page, lab, "02_gatag.ipynb")
    try:
        wait_widgets_rendered(panel)
        canvas = panel.locator(FIGURE).first.locator("canvas").first
        wait_canvas_stable(canvas)
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        png = base64.b64decode(run_in_kernel(page, panel.copy_name, BROKEN_THEN_NEXT).strip())
        want = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
        deadline = time.monotonic() + 20
        while not np.array_equal(canvas_pixels(canvas), want):
            assert time.monotonic() < deadline, "the picture after a broken one was never painted"
            time.sleep(0.25)
        assert any("could not be painted" in e for e in errors)  # said, not swallowed
    finally:
        shutdown_kernel(page, panel.copy_name)


# Set the first GATag explorer's controls and print its readout as the page should show it.
SET_GATAG = r"""
import gc as _gc, re as _re, html as _html
from avicviz.widgets.gatag import GATagExplorer as _G
_e = next(_o for _o in _gc.get_objects() if isinstance(_o, _G))
_e.set({kw})
print("".join(_html.unescape(_re.sub("<[^>]+>", " ", _e.readout.value)).split()))
"""


def _page_words(readout):
    """The readout's words as the page shows them (white space left out: the kernel's plain text
    puts a space wherever a tag was)."""
    return "".join(readout.evaluate("el => el.innerText").split())


def _wait_words(readout, want, timeout=20.0):
    deadline = time.monotonic() + timeout
    while _page_words(readout) != want and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _page_words(readout) == want


def test_a_readout_with_the_same_markup_changes_its_words_in_place(lab, page):
    """A step that changes only numbers keeps the readout's elements (their text changes); a
    step that changes its markup (lossless -> lossy: another colour) replaces them.  Either way
    the page shows the kernel's words."""
    panel = open_and_run_all(page, lab, "02_gatag.ipynb")
    try:
        wait_widgets_rendered(panel)
        readout = explorer_box(panel.locator(FIGURE).first).locator(READOUT).first
        want = run_in_kernel(page, panel.copy_name, SET_GATAG.format(kw="kernel='6.19', vcpu=300")).strip()
        _wait_words(readout, want)
        readout.evaluate("el => { el.firstElementChild.avicvizKept = 'yes'; }")  # not an attribute
        want = run_in_kernel(page, panel.copy_name, SET_GATAG.format(kw="vcpu=301")).strip()
        assert "301" in want
        _wait_words(readout, want)
        assert readout.evaluate("el => el.firstElementChild.avicvizKept") == "yes"
        want = run_in_kernel(page, panel.copy_name, SET_GATAG.format(kw="kernel='6.2', vcpu=300")).strip()
        assert "lossy" in want or "WRONG" in want or "44" in want
        _wait_words(readout, want)
        assert readout.evaluate("el => el.firstElementChild.avicvizKept") is None  # replaced
    finally:
        shutdown_kernel(page, panel.copy_name)
