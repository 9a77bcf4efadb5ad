"""Physical-table plots: the grid shows the table's states, the page count and the max index."""

import numpy as np
import pytest

import avicviz as av
from avicviz.plots import overview, tables
from avicviz.plots._style import STATE_LABELS, new_figure


def _grid(table):
    fig = new_figure()
    ax = fig.add_subplot()
    return fig, tables.physical_grid(table, ax)


def test_grid_is_one_image_of_512_cells_for_one_page():
    t = av.physical_table(range(300), "6.19", running=[i % 2 == 0 for i in range(300)])
    _fig, arts = _grid(t)
    data = arts.states
    assert data.shape == (16, 32)
    flat = np.asarray(data).ravel()
    assert (flat[:300:2] == 2).all() and (flat[1:300:2] == 1).all() and (flat[300:] == 0).all()
    assert len(arts.ax.images) == 1
    assert "max index 511 (0x1FF)" in arts.title.get_text()
    assert arts.boundary.get_ydata().tolist() == [16.0, 16.0]


def test_legend_names_every_state():
    _fig, arts = _grid(av.physical_table(range(4), "6.3"))
    texts = [t.get_text() for t in arts.legend.get_texts()]
    for label in STATE_LABELS.values():
        assert label in texts


def test_update_changes_shape_extent_and_limits_for_eight_pages():
    _fig, arts = _grid(av.physical_table(range(4), "6.3"))
    big = av.physical_table(range(4096), "6.19", "x2avic-ext")
    tables.update_physical_grid(arts, big)
    assert arts.states.shape == (128, 32) and arts.image.get_array().shape == (128, 32, 4)
    assert arts.image.get_extent() == [0, 32, 128, 0]
    assert arts.ax.get_ylim() == (128.0, 0.0)
    assert len(arts.page_lines.get_segments()) == 7
    assert "8 pages = 4096 entries" in arts.title.get_text()
    small = av.physical_table(range(10), "6.19", "x2avic")
    tables.update_physical_grid(arts, small)
    assert arts.states.shape == (16, 32) and arts.image.get_array().shape == (16, 32, 4)
    assert arts.ax.get_ylim() == (16.0, 0.0)
    assert len(arts.page_lines.get_segments()) == 0


def test_beyond_max_index_is_marked():
    # xAPIC guest on a v6.19 X2AVIC_EXT host: max index 0xFE, entries 255.. are beyond it
    t = av.physical_table(range(300), "6.19", "x2avic-ext", "xapic")
    _fig, arts = _grid(t)
    flat = np.asarray(arts.states).ravel()
    assert (flat[255:300] == 3).all() and (flat[:255] > 0).all() and (flat[:255] < 3).all()
    assert tables.boundary_xy(254, 4096) == ([0.0, 31.0, 31.0, 32.0], [8.0, 8.0, 7.0, 7.0])


@pytest.mark.parametrize("mi,size,expected", [
    (511, 512, ([0.0, 32.0], [16.0, 16.0])),
    (31, 512, ([0.0, 32.0], [1.0, 1.0])),
    (0, 512, ([0.0, 1.0, 1.0, 32.0], [1.0, 1.0, 0.0, 0.0])),
    (4095, 4096, ([0.0, 32.0], [128.0, 128.0])),
])
def test_boundary(mi, size, expected):
    assert tables.boundary_xy(mi, size) == expected


def test_max_index_chart_shows_255_511_4095():
    fig = new_figure()
    ax = fig.add_subplot()
    tables.max_index_chart(ax)
    texts = {t.get_text() for t in ax.texts}
    assert {"255", "254", "511", "4095"} <= texts
    heights = [b.get_height() for b in ax.containers[2]]
    assert heights[-1] == 4095 and all(np.isnan(h) for h in heights[:-1])


def test_switchable_bitfield_shows_one_layout_at_a_time():
    fig = new_figure()
    spec = fig.add_gridspec(1, 1)[0]
    lays = [av.physical_entry_layout("5.10"), av.physical_entry_layout("6.19")]
    sw = tables.SwitchableBitField(fig, spec, lays, {}, row_bits=32)
    arts = sw.show(lays[0], av.encode_entry(0x2C, 0x1000, True, kernel="5.10"))
    assert sw.axes[lays[0]].get_visible() and not sw.axes[lays[1]].get_visible()
    assert arts.values["host_apic_id"].get_text() == "0x2C"
    arts = sw.show(lays[1], av.encode_entry(0xABC, 0x1000, False, kernel="6.19"))
    assert sw.axes[lays[1]].get_visible() and not sw.axes[lays[0]].get_visible()
    assert arts.values["host_apic_id"].get_text() == "0xABC"
    assert arts.value_text.get_text().endswith("0x8000000000001ABC")


def test_overview_has_every_piece_and_arrow():
    fig = new_figure(11, 7)
    arts = overview.overview(fig.add_subplot())
    text = " ".join(t.get_text() for t in arts["texts"].values())
    for piece in ("backing page", "physical APIC ID table", "logical APIC ID table", "doorbell",
                  "IRTE", "GA log", "KVM", "vCPU"):
        assert piece in text
    labels = " ".join(lab.get_text() for _a, lab in arts["arrows"])
    assert "IsRunning = 1" in labels and "GATag" in labels and "AVIC_INCOMPLETE_IPI" in labels
    assert len(arts["arrows"]) == len(overview.ARROWS)


def test_static_figures_of_these_topics():
    names = set(tables.static_figures()) | set(overview.static_figures())
    assert {"avic_overview", "physical_table_512", "physical_entry", "max_index_by_release"} <= names
    for mod in (tables, overview):
        for name, (make, alt) in mod.static_figures().items():
            assert len(alt) > 40
            assert make().axes, name


def test_the_image_shows_each_entry_in_its_state_colour():
    # the image holds colours, arts.states the states: they must agree cell by cell
    from matplotlib.colors import to_rgba

    from avicviz.plots._style import STATE_COLOURS

    t = av.physical_table(range(300), "6.19", "x2avic-ext", "xapic", running=[i % 3 == 0 for i in range(300)])
    _fig, arts = _grid(t)
    rgba = np.asarray(arts.image.get_array())
    assert set(np.unique(arts.states).tolist()) == {0, 1, 2, 3}
    for state, colour in STATE_COLOURS.items():
        want = np.round(np.array(to_rgba(colour)) * 255)
        assert (rgba[arts.states == state] == want).all(), state
