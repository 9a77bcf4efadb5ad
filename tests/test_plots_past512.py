"""Past-512 plots: the artists show exactly what the model computes."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import avicviz as av
from avicviz.plots import past512 as P
from avicviz.plots._style import new_figure


def _vm(report, legend=True):
    fig = new_figure(11.5, 4.6)
    return fig, P.vm_paths(report, fig.add_subplot(), legend=legend)


def _codes(arts):
    return np.asarray(arts.codes).reshape(-1)


@pytest.mark.parametrize("kernel, cpu, starts, active, accel, title_bit", [
    ("6.3", "x2avic", False, False, 0, "DOES NOT START (vCPU #512 fails)"),
    ("6.17", "x2avic", True, False, 0, "AVIC INHIBITED by APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG"),
    ("6.19", "x2avic", True, False, 0, "APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG"),
    ("6.19", "x2avic-ext", True, True, 600, "starts; AVIC active"),
])
def test_600_vcpus_per_release(kernel, cpu, starts, active, accel, title_bit):
    r = av.simulate(600, kernel=kernel, cpu=cpu)
    assert (r.starts, r.avic_active, r.accelerated_vcpus) == (starts, active, accel)
    _fig, arts = _vm(r)
    codes = _codes(arts)
    assert np.array_equal(codes[:600], r.ipi_path)
    assert (codes[600:] == P.NO_VCPU).all()
    assert title_bit in arts.title.get_text()
    assert (codes[:600] == av.IPI_PATHS.index("accelerated")).sum() == accel
    texts = [t.get_text() for t in arts.legend.get_texts()]
    assert f"({accel})" in texts[0]


def test_vm_update_in_place_moves_max_index_and_holes():
    fig, arts = _vm(av.simulate(600, kernel="6.17"))
    image, n_artists = arts.image, len(fig.axes[0].get_children())
    P.update_vm_paths(arts, av.simulate(topology="sockets=3,cores=160", kernel="6.19", cpu="x2avic-ext"))
    assert arts.image is image and len(fig.axes[0].get_children()) == n_artists
    codes = _codes(arts)
    assert codes[159] == av.IPI_PATHS.index("accelerated")
    assert codes[160] == P.NO_VCPU and codes[256] == av.IPI_PATHS.index("accelerated")
    assert codes[671] == av.IPI_PATHS.index("accelerated") and codes[672] == P.NO_VCPU
    xs, ys = arts.boundary.get_data()
    assert list(ys) == [31.5, 31.5]  # max index 0xFFF: the line sits under the last row
    assert "0xFFF (8 table pages)" in arts.boundary_label.get_text()
    assert "(192)" in arts.legend.get_texts()[-1].get_text()
    P.update_vm_paths(arts, av.simulate(600, kernel="6.3"))
    assert list(arts.boundary.get_data()[1]) == [3.5, 3.5]  # after APIC ID 511 = end of row 3


def test_no_legend_variant_and_legend_entries():
    r = av.simulate(topology="sockets=3,cores=160", kernel="6.17")
    _fig, arts = _vm(r, legend=False)
    assert arts.legend is None
    entries = dict(P.legend_entries(r))
    assert entries[P.PATH_LABELS["emulated"]] == 480
    assert max(r.apic_ids) == 671


def _sweep_fig(whatifs=None, highlight=None, cpu="x2avic"):
    fig = new_figure(11, 6.4)
    return fig, P.sweep_chart(P.all_sweeps(cpu), fig, whatifs=whatifs, highlight=highlight)


def test_sweep_one_line_per_release_matches_model():
    _fig, arts = _sweep_fig()
    assert len(arts.lines) == len(av.release_ranges())
    for line, r in zip(arts.lines, av.release_ranges()):
        s = av.sweep(r, max_vcpus=min(4096, r.vcpu_id_limit()))
        y = np.asarray(line.get_ydata())
        assert y.size == 4096
        n = s.counts.size
        ok = s.starts
        assert np.allclose(y[:n][ok], s.accelerated_fraction[ok])
        assert np.isnan(y[:n][~ok]).all() and np.isnan(y[n:]).all()
    y617 = arts.lines[[r.name for r in av.release_ranges()].index("v6.17")].get_ydata()
    # AVIC inhibited past 511; KVM_MAX_VCPUS (the release default, 1024) ends the line
    assert y617[511] == 1.0 and y617[599] == 0.0 and y617[1023] == 0.0 and np.isnan(y617[1024])
    y63 = arts.lines[[r.name for r in av.release_ranges()].index("v6.3")].get_ydata()
    assert y63[511] == 1.0 and np.isnan(y63[512])
    assert not any(w.get_visible() for w in arts.whatifs)


def test_sweep_whatif_and_highlight_update():
    fig, arts = _sweep_fig()
    lines = list(arts.lines)
    P.update_sweep_chart(arts, P.all_sweeps("x2avic-ext"), P.all_sweeps("x2avic-ext", policy="partial-avic"),
                         highlight="6.19")
    assert arts.lines == lines
    i63 = [r.name for r in av.release_ranges()].index("v6.3")
    w = np.asarray(arts.whatifs[i63].get_ydata())
    assert arts.whatifs[i63].get_visible() and w[999] == pytest.approx(512 / 1000)
    i619 = len(lines) - 1
    assert arts.lines[i619].get_ydata()[1023] == 1.0 and arts.lines[i619].get_alpha() == 1.0
    assert arts.lines[0].get_alpha() < 1
    assert "what-if, not in any kernel" in arts.title.get_text()
    assert "starts up to 1024" in arts.ends[i619].get_text()
    # the highlighted panel (and only it) is tinted, its title bold
    assert [sh.get_visible() for sh in arts.shades] == [i == i619 for i in range(len(lines))]
    assert arts.panel_titles[i619].get_text() == "v6.19"
    assert arts.panel_titles[i619].get_fontweight() == "bold" and arts.panel_titles[0].get_fontweight() == "normal"
    P.update_sweep_chart(arts, P.all_sweeps("x2avic-ext"))
    assert not any(sh.get_visible() for sh in arts.shades)


def test_cost_curve_matches_simulate_path_counts():
    costs = dict(accelerated=1000, incomplete_ipi=5000, emulated=9000)
    for kernel, cpu, policy in [("6.17", "x2avic", "kernel"), ("6.3", "x2avic", "partial-avic"),
                                ("6.19", "x2avic-ext", "kernel"), ("5.15", "x2avic", "kernel"),
                                ("6.0", "avic", "kernel")]:
        s = av.sweep(kernel, cpu, policy=policy)
        curve = P.expected_cost(s, **costs)
        for n in (1, 255, 256, 511, 512, 600, 1024, 4096):
            r = av.simulate(n, kernel=kernel, cpu=cpu, policy=policy)
            want = P.report_cost(r, **costs)
            got = curve[n - 1]
            assert (np.isnan(want) and np.isnan(got)) or got == pytest.approx(want), (kernel, n)


def test_cost_chart_updates_in_place():
    fig = new_figure(11, 4.4)
    arts = P.cost_chart(av.sweep("6.17"), fig.add_subplot(), vcpus=600)
    assert arts.marker.get_ydata()[0] == P.ASSUMED_COSTS["emulated"]
    assert "ASSUMED" in arts.title.get_text() and "Intel IPIv" in arts.title.get_text()
    assert not arts.whatif.get_visible()
    line = arts.line
    P.update_cost_chart(arts, av.sweep("6.3"), {"accelerated": 100, "incomplete_ipi": 200, "emulated": 20000},
                        whatif=av.sweep("6.3", policy="partial-avic"), vcpus=1024)
    assert arts.line is line
    assert np.isnan(arts.marker.get_ydata()[0])  # 1024 vCPUs do not start on 6.3
    assert arts.whatif.get_visible()
    assert arts.whatif.get_ydata()[1023] == pytest.approx((512 * 100 + 512 * 200) / 1024)
    assert list(arts.levels["emulated"].get_ydata()) == [20000, 20000]
    assert arts.level_texts["emulated"].get_text() == "emulated IPI: 20000"
    assert arts.line.axes.get_ylim()[1] == 25000  # 10% above the largest cost, rounded to 2.5 x 10^4


def test_static_figures_have_names_and_alt_text():
    figs = P.static_figures()
    assert {"past512_vm_600_63", "past512_sweep", "past512_cost"} <= set(figs)
    for name, (make, alt) in figs.items():
        assert len(alt) > 40


def test_the_image_shows_each_apic_id_in_its_path_colour():
    from matplotlib.colors import to_rgba

    _fig, arts = _vm(av.simulate(600, kernel="6.17"))
    rgba = np.asarray(arts.image.get_array())
    assert rgba.shape == (P.GRID_ROWS, P.GRID_COLUMNS, 4)
    seen = set(np.unique(arts.codes).tolist())
    assert len(seen) >= 2
    for code in seen:
        want = np.round(np.array(to_rgba(P.CODE_COLOURS[code])) * 255)
        assert (rgba[arts.codes == code] == want).all(), code


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(-0.5, 1.5), max_size=6), st.floats(0.0, 0.15))
def test_spread_labels_keeps_labels_apart_in_range_and_near_their_wishes(wish, gap):
    from avicviz.plots._style import spread_labels

    got = spread_labels(wish, gap, 0.1, 1.0)
    assert len(got) == len(wish)
    if not wish:
        return
    assert got.min() >= 0.1 - 1e-9 and got.max() <= 1.0 + 1e-9
    order = np.argsort(wish, kind="stable")
    assert np.all(np.diff(got[order]) >= gap - 1e-9)  # apart, in the order of their wishes
    # a label whose wish is in range and at least a gap away from every other wish stays put
    for i, w in enumerate(wish):
        if 0.1 <= w <= 1.0 and all(abs(w - v) >= 2 * len(wish) * gap for j, v in enumerate(wish) if j != i) \
                and w - 0.1 >= len(wish) * gap and 1.0 - w >= len(wish) * gap:
            assert got[i] == pytest.approx(w)


def test_spread_labels_refuses_labels_that_cannot_fit():
    from avicviz.plots._style import spread_labels

    with pytest.raises(ValueError, match="3 labels 0.5 apart do not fit in 0.0..0.9"):
        spread_labels([0.1, 0.2, 0.3], 0.5, 0.0, 0.9)
