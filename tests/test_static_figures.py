"""Static figures: every one is committed, up to date with the plot code, and used with alt text."""

from pathlib import Path

import pytest
from matplotlib.testing.compare import compare_images

from avicviz.plots import gallery

ROOT = Path(__file__).resolve().parent.parent
FIG_DIR = ROOT / "notebooks" / "figures"
FIGS = gallery.figures()


def test_there_are_static_figures():
    assert len(FIGS) >= 5


@pytest.mark.parametrize("name", sorted(FIGS))
def test_committed_png_matches_the_plot_code(name, tmp_path):
    committed = FIG_DIR / f"{name}.png"
    assert committed.exists(), f"run `make figures`: {committed} is missing"
    fresh = tmp_path / f"{name}.png"
    fig = gallery.render(name)
    fig.savefig(fresh, dpi=gallery.DPI, metadata={"Software": None})
    # a small tolerance absorbs font-hinting differences; a changed chart does not pass
    assert compare_images(str(committed), str(fresh), tol=3) is None, "run `make figures`"


@pytest.mark.parametrize("name", sorted(FIGS))
def test_figure_is_used_in_a_notebook_with_alt_text(name):
    alt = FIGS[name][1]
    assert len(alt) > 40, f"{name}: alt text should describe what the figure shows"
    used = any(f"figures/{name}.png" in p.read_text() for p in (ROOT / "notebooks").rglob("*.ipynb"))
    assert used, f"static figure {name} is not shown in any notebook"


def test_unknown_figure_name_is_a_clear_error():
    with pytest.raises(ValueError, match="figure='nope' is not a static figure"):
        gallery.render("nope")
