"""The browser check can fail: an explorer that stops updating its figure must be caught.

Two one-cell notebooks in a temporary folder, served by Voilà: the real GATagExplorer, and the
same explorer with ``_update`` replaced by a no-op (the slider still moves and the canvas is
still redrawn, but with the same picture).  The check "the figure changes after a slider move"
must pass on the first and report a failure on the second.
"""

import nbformat
import pytest
from nbformat import v4

from harness import FIGURE, SLIDER, check_slider_redraws, explorer_box, new_page, open_voila, voila

REAL = "from avicviz.widgets import GATagExplorer\nGATagExplorer()"
BROKEN = ("from avicviz.widgets import GATagExplorer\n"
          "explorer = GATagExplorer()\n"
          "explorer._update = lambda: None  # deliberately broken: the figure never follows\n"
          "explorer")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("broken")
    for name, code in [("real", REAL), ("broken", BROKEN)]:
        nb = v4.new_notebook(cells=[v4.new_code_cell(code)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"{name}.ipynb")
    with voila(folder) as s:
        yield s


@pytest.fixture(scope="module")
def page(browser):
    p = new_page(browser)
    yield p
    p.context.close()


def _check(page, server, name):
    body = open_voila(page, server, f"{name}.ipynb")
    fig = body.locator(FIGURE).first
    slider = explorer_box(fig).locator(SLIDER).first
    return check_slider_redraws(page, slider, fig.locator("canvas").first, timeout=4)


def test_real_explorer_passes_the_check(server, page):
    result = _check(page, server, "real")
    print(f"real explorer:   ok={result.ok}: {result.message}")
    assert result.ok, result.message


def test_broken_explorer_fails_the_check(server, page):
    result = _check(page, server, "broken")
    print(f"broken explorer: ok={result.ok}: {result.message}")
    assert not result.ok
    assert "pixels did not change" in result.message  # the slider moved; the figure did not
    assert result.value_after != result.value_before and result.after == result.before
