"""The browser checks can fail.

Notebooks written next to the demos served by Voilà: the real GATagExplorer, the same explorer
with ``_update`` replaced by a no-op (the slider still moves and the canvas is still redrawn,
but with the same picture), and a notebook that writes to stderr and raises.  The check "the
figure changes after a slider move" must pass on the first and report a failure on the second;
the error detector must report both problems of the third.
"""

import nbformat
import pytest
from nbformat import v4

from harness import (FIGURE, SLIDER, check_slider_redraws, error_outputs, explorer_box,
                     open_voila)

NOTEBOOKS = {
    "_selftest_real": "from avicviz.widgets import GATagExplorer\nGATagExplorer()",
    "_selftest_broken": ("from avicviz.widgets import GATagExplorer\n"
                         "explorer = GATagExplorer()\n"
                         "explorer._update = lambda: None  # deliberately broken: the figure never follows\n"
                         "explorer"),
    "_selftest_error": ("import sys\nprint('deliberate stderr line', file=sys.stderr)\n"
                        "raise RuntimeError('deliberate failure')"),
}


@pytest.fixture(scope="module")
def server(demo_server):
    for name, code in NOTEBOOKS.items():
        nb = v4.new_notebook(cells=[v4.new_code_cell(code)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, demo_server.root / f"{name}.ipynb")
    return demo_server


def _check(page, server, name):
    body = open_voila(page, server, f"{name}.ipynb")
    fig = body.locator(FIGURE).first
    slider = explorer_box(fig).locator(SLIDER).first
    return check_slider_redraws(page, slider, fig.locator("canvas").first, timeout=4)


def test_real_explorer_passes_the_check(server, page):
    result = _check(page, server, "_selftest_real")
    print(f"real explorer:   ok={result.ok}: {result.message}")
    assert result.ok, result.message


def test_broken_explorer_fails_the_check(server, page):
    result = _check(page, server, "_selftest_broken")
    print(f"broken explorer: ok={result.ok}: {result.message}")
    assert not result.ok
    assert "pixels did not change" in result.message  # the slider moved; the figure did not
    assert result.value_after != result.value_before and result.after == result.before


def test_error_detector_sees_stderr_and_exceptions(server, page):
    page.goto(server.voila_url("_selftest_error.ipynb"), wait_until="domcontentloaded")
    page.get_by_text("deliberate failure").first.wait_for(timeout=60_000)
    found = error_outputs(page.locator("body"))
    print(f"error detector: {found}")
    assert any("deliberate stderr line" in t for t in found)
    assert any("RuntimeError" in t for t in found)
