"""Static figures: every one is committed, up to date with the plot code, and used with alt text."""

from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
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
    drawn_with = (FIG_DIR / gallery.DRAWN_WITH).read_text().strip()
    if drawn_with == matplotlib.__version__:
        # a small tolerance absorbs font-hinting differences; a changed chart does not pass
        assert compare_images(str(committed), str(fresh), tol=3) is None, "run `make figures`"
    else:  # another release rasterises text differently (make test-oldest): the same picture
        # size (Agg's rounding of a figure's height moved by one pixel in matplotlib 3.11)
        with Image.open(committed) as old, Image.open(fresh) as new:
            assert all(abs(a - b) <= 1 for a, b in zip(old.size, new.size)), "run `make figures`"


@pytest.mark.parametrize("name", sorted(FIGS))
def test_figure_is_used_in_a_notebook_with_alt_text(name):
    alt = FIGS[name][1]
    assert len(alt) > 40, f"{name}: alt text should describe what the figure shows"
    used = any(f"figures/{name}.png" in p.read_text() for p in (ROOT / "notebooks").rglob("*.ipynb"))
    assert used, f"static figure {name} is not shown in any notebook"


def test_unknown_figure_name_is_a_clear_error():
    with pytest.raises(ValueError, match="figure='nope' is not a static figure"):
        gallery.render("nope")


# ---- what a newcomer found misleading (issue 11), checked on the drawn figures ---------------

def _extent(artist, fig):
    return artist.get_window_extent(fig.canvas.get_renderer())


def _draw(fig):
    FigureCanvasAgg(fig).draw()  # a figure made outside pyplot has no canvas that renders
    return fig


def test_overview_arrow_labels_stay_off_the_boxes():
    from avicviz.plots._style import new_figure
    from avicviz.plots.overview import overview

    fig = new_figure(11.0, 7.0)
    arts = overview(fig.add_subplot())
    _draw(fig)
    for _arrow, label in arts["arrows"]:
        for name, box in arts["boxes"].items():
            assert not _extent(label, fig).overlaps(_extent(box, fig)), \
                f"label {label.get_text()!r} overlaps the {name} box"


def test_vmrun_limit_labels_sit_above_their_dashed_lines():
    fig = gallery.render("max_index_by_release")
    _draw(fig)
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_text().startswith("VMRUN limit")]
    assert [t.get_text() for t in labels] == ["VMRUN limit xavic: 255", "VMRUN limit x2avic: 511",
                                              "VMRUN limit x2avic-ext: 4095"]
    for t in labels:
        line_y = ax.transData.transform((0, int(t.get_text().split(": ")[1])))[1]
        assert _extent(t, fig).y0 > line_y, f"{t.get_text()!r} is drawn across its line"


def test_sweep_legend_hides_no_panel():
    fig = gallery.render("past512_sweep")
    _draw(fig)
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in fig.axes)
    legend = _extent(fig.legends[0], fig)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[0].startswith("Linux (kernel rule)") and "what-if" in texts[1]
    for ax in fig.axes:
        assert not legend.overlaps(ax.get_window_extent()), f"the legend covers {ax.get_title(loc='left')}"


def test_vmid_axis_ends_at_the_release_id_space():
    fig = gallery.render("vmid_wrap")
    ax = fig.axes[0]
    ticks = [int(v) for v in ax.get_yticks()]
    assert ticks[-1] == 0xFFFFF and max(ticks) == 0xFFFFF  # 20-bit VM IDs on 6.19
    assert ax.get_yticklabels()[-1].get_text() == "1,048,575"
    assert ax.get_ylim()[1] < 0xFFFFF * 100  # not 10^8 for 10^6 IDs
    assert any("largest VM ID: 1,048,575 (0xFFFFF)" == t.get_text() for t in ax.texts)


def test_entry_figure_labels_both_rows_of_the_backing_page():
    fig = gallery.render("physical_entry")
    texts = [t.get_text().replace("\n", " ") for t in fig.axes[0].texts]
    assert "backing_page [51:12]" in texts
    assert "backing_page, continued [31:12]" in texts


def test_table_figure_halts_the_vcpus_the_explorer_default_halts():
    from avicviz.plots._style import new_figure
    from avicviz.plots.tables import DEFAULT_RUNNING_PERCENT, physical_grid
    from avicviz.tables import physical_table

    assert DEFAULT_RUNNING_PERCENT == 75
    fig = gallery.render("physical_table_512")
    shown = np.asarray(fig.axes[0].images[0].get_array())
    # vCPUs 0, 4, 8, ... halted: the pattern the explorer's 75 % slider gives (test_widgets_tables)
    halted_0_4_8 = physical_table(range(300), "6.19", "x2avic", "x2apic",
                                  running=[i % 4 != 0 for i in range(300)])
    expected = physical_grid(halted_0_4_8, new_figure(9.0, 4.2).add_subplot()).image.get_array()
    assert np.array_equal(shown, np.asarray(expected))
