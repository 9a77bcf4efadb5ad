"""Past-512 explorers: every control moves the artists in place, never raises, and matches the model."""

import numpy as np
import pytest

import avicviz as av
from avicviz.widgets._base import option_values, plain_text
from avicviz.plots import past512 as P
from avicviz.widgets import CostExplorer, Past512Explorer, SweepExplorer


def _values(w):
    if option_values(w) is not None:
        return option_values(w)
    lo, hi = w.min, w.max
    return sorted({lo, lo + 1, (lo + hi) // 2, hi - 1, hi})


def _codes(e):
    return np.asarray(e._arts.codes).reshape(-1)


def _check_past512(e):
    r = e.model
    codes = _codes(e)
    if isinstance(r, av.VMReport):
        shown = r.apic_ids < 4096
        assert np.array_equal(codes[r.apic_ids[shown]], r.ipi_path[shown])
        text = plain_text(e.readout.value)
        # the verdict is the readout's first line (the figure's title stays put)
        assert text.startswith(P.vm_title(r))
        assert e._arts.title.get_text() == Past512Explorer.grid_title
        if r.avic_enabled:
            assert f"accelerated vCPUs {r.accelerated_vcpus} of {r.vcpus}" in text
        else:  # kvm_amd avic=0: no AVIC table at all, every interrupt emulated
            assert r.max_index is None and r.accelerated_vcpus == 0
            assert "AVIC: off (kvm_amd avic=0" in text
    else:  # KVM refused the whole VM
        assert (codes == P.NO_VCPU).all()
        assert plain_text(e.readout.value).startswith("KVM refuses this VM. Does not start: ")
        assert e._arts.title.get_text() == Past512Explorer.grid_title


@pytest.mark.parametrize("sizing", ["count", "topology"])
def test_past512_every_control_every_value(sizing):
    e = Past512Explorer()
    e.set(sizing=sizing)
    for name, w in e.controls.items():
        for v in _values(w):
            before = e.updates
            e.set(**{name: v})
            assert e.last_error is None and e.error.value == ""
            assert e.updates == before + 1
            _check_past512(e)
        e.reset()
        e.set(sizing=sizing)


@pytest.mark.parametrize("kernel, cpu, starts, active, accel, words", [
    ("6.3", "x2avic", False, False, 0, "vCPU #512 (vcpu_id 512)"),
    ("6.3", "x2avic-ext", False, False, 0, "first failing vCPU: #512"),
    ("6.17", "x2avic", True, False, 0, "APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG"),
    ("6.19", "x2avic", True, False, 0, "APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG"),
    ("6.19", "x2avic-ext", True, True, 600, "<b>table pages</b> 8"),
])
def test_past512_600_vcpus(kernel, cpu, starts, active, accel, words):
    e = Past512Explorer(kernel=kernel, cpu=cpu, vcpus=600)
    r = e.model
    want = av.simulate(600, kernel=kernel, cpu=cpu)
    assert (r.starts, r.avic_active, r.accelerated_vcpus) == (starts, active, accel)
    assert (want.starts, want.avic_active, want.accelerated_vcpus) == (starts, active, accel)
    assert np.array_equal(_codes(e)[:600], want.ipi_path)
    assert words in e.readout.value


def test_past512_topology_padding_reaches_671():
    e = Past512Explorer(sizing="topology", sockets=3, cores=160, threads=1, kernel="6.17")
    assert e.model.vcpus == 480 and e.model.max_apic_id == 671
    assert "highest APIC ID 671 for 480 vCPUs" in plain_text(e.readout.value)
    assert "cores 8 bits at bit 0, sockets 2 bits at bit 8" in e.readout.value
    codes = _codes(e)
    assert codes[160] == P.NO_VCPU and codes[256] == av.IPI_PATHS.index("emulated")
    e.set(sockets=2, cores=240)
    assert e.model.max_apic_id == 495 and e.model.avic_active
    e.set(policy="partial-avic", sockets=3, cores=160)
    assert e.model.avic_active and e.model.accelerated_vcpus == 320  # sockets 0 and 1: ids 0..159 and 256..415
    assert "partial-AVIC WHAT-IF" in plain_text(e.readout.value)


def test_past512_refused_vm_is_shown_not_raised():
    e = Past512Explorer(kernel="4.7", vcpus=4096)
    assert "beyond KVM's vCPU-ID limit on v4.7" in plain_text(e.readout.value)
    e.set(kernel="6.19", vcpus=1024)  # back to a VM that exists: the artists recover
    assert e.model.starts and len(e._arts.boundary.get_data()[0]) > 0


def test_bad_set_names_the_parameter():
    e = Past512Explorer()
    with pytest.raises(ValueError, match="vcpus=5000 is out of range: valid range 1..4096"):
        e.set(vcpus=5000)
    with pytest.raises(ValueError, match="cpu='zen9' is not an option"):
        e.set(cpu="zen9")


def test_sweep_every_control_every_value():
    e = SweepExplorer()
    lines = list(e._arts.lines)
    for name, w in e.controls.items():
        for v in _values(w):
            e.set(**{name: v})
            assert e.last_error is None
            assert e._arts.lines == lines
            for line, s in zip(e._arts.lines, e.model):
                y = np.asarray(line.get_ydata())
                assert np.array_equal(y, P.sweep_fraction(s), equal_nan=True)
            whatif_on = e.params["policy"] == "partial-avic"
            assert all(w_.get_visible() == whatif_on for w_ in e._arts.whatifs)
        e.reset()


def test_sweep_exact_points():
    e = SweepExplorer(cpu="x2avic-ext", policy="partial-avic", highlight="6.3")
    names = [r.name for r in av.release_ranges()]
    y619 = e._arts.lines[names.index("v6.19")].get_ydata()
    # KVM_MAX_VCPUS is each release's default (1024 from 5.15): larger VMs do not start
    assert y619[1023] == 1.0 and np.isnan(y619[1024])
    w63 = e._arts.whatifs[names.index("v6.3")].get_ydata()
    assert w63[1023] == pytest.approx(0.5)
    assert "v6.3..v6.5 512 512 512" in plain_text(e.readout.value)
    assert "v6.19 1024 1024 1024" in plain_text(e.readout.value)
    assert "no kernel implements" in e.readout.value
    # the settings are the readout's first lines; the highlighted panel's title is bold
    assert plain_text(e.readout.value).startswith(
        "CPU x2avic-ext, x2APIC guest: share of IPIs to a random vCPU that need no VM exit; "
        "dashed: what-if, not in any kernel: partial AVIC. assumed: kvm_amd avic=1, KVM_MAX_VCPUS: "
        "each release's default.")
    assert e._arts.title.get_text() == SweepExplorer.chart_title
    label = e.highlight_label
    assert label.get_visible() and label.get_text() == "v6.3..v6.5" and label.get_fontweight() == "bold"
    e.render()
    r = e.canvas.get_renderer()
    under = e._arts.panel_titles[[s.kernel.range_name for s in e.model].index("v6.3..v6.5")].get_window_extent(r)
    assert label.get_window_extent(r).x0 == pytest.approx(under.x0, abs=0.5)
    assert label.get_window_extent(r).y0 == pytest.approx(under.y0, abs=0.5)
    e.set(highlight="")
    assert not e.highlight_label.get_visible()


def test_cost_every_control_every_value():
    e = CostExplorer()
    line = e._arts.line
    for name, w in e.controls.items():
        for v in _values(w):
            e.set(**{name: v})
            assert e.last_error is None and e._arts.line is line
            p = e.params
            costs = {k: p[k] for k in ("accelerated", "incomplete_ipi", "emulated")}
            y = np.asarray(line.get_ydata())
            assert np.array_equal(y, P.expected_cost(e.model, **costs), equal_nan=True)
            my = e._arts.marker.get_ydata()[0]
            assert (np.isnan(my) and np.isnan(y[p["vcpus"] - 1])) or my == y[p["vcpus"] - 1]
            assert e._arts.levels["accelerated"].get_ydata()[0] == p["accelerated"]
            # release, CPU and KVM_MAX_VCPUS: the readout's first line, the figure's title fixed
            assert plain_text(e.readout.value).startswith(
                f"Expected IPI latency on {e.model.kernel.range_name}, CPU {p['cpu']} (IPIs to a "
                f"random vCPU; {e.model.kvm_max_vcpus_text})")
            assert e._arts.title.get_text() == CostExplorer.chart_title
        e.reset()


@pytest.mark.parametrize("costs", [
    {},  # the defaults: two costs equal (4338)
    dict(accelerated=4338, incomplete_ipi=4338, emulated=4338),
    dict(accelerated=100, incomplete_ipi=150, emulated=20000),  # two low labels near the legend
    dict(accelerated=20000, incomplete_ipi=19900, emulated=20000),  # all three at the top
    dict(accelerated=100, incomplete_ipi=100, emulated=100),
])
def test_cost_level_labels_are_readable_at_any_costs(costs):
    """The level labels sit right of the chart, each at its cost's height where there is room,
    never on top of another label, the legend or the chart, and inside the picture; the axis
    label too (its tick labels are widest at the largest costs)."""
    e = CostExplorer(**costs)
    e.render()
    r = e.canvas.get_renderer()
    ax = e._arts.line.axes
    inside = e.figure.bbox
    chart = ax.get_window_extent(r)
    legend = ax.get_legend().get_window_extent(r)
    labels = {k: t.get_window_extent(r) for k, t in e._arts.level_texts.items()}
    for k, box in labels.items():
        assert e._arts.level_texts[k].get_text() == f"{dict(accelerated='accelerated IPI', incomplete_ipi='incomplete-IPI exit', emulated='emulated IPI')[k]}: {e.params[k]}"
        assert box.x0 > chart.x1 and box.x1 <= inside.x1 and box.y0 >= inside.y0 and box.y1 <= inside.y1, k
        assert not box.overlaps(legend), k
        # at its cost's height unless a neighbour or the legend needs the room
        want = ax.transData.transform((1, e.params[k]))[1]
        others = [c for j, c in e.params.items() if j in labels and j != k]
        if all(abs(c - e.params[k]) > 0.1 * ax.get_ylim()[1] for c in others) and want > legend.y1 + box.height:
            assert (box.y0 + box.y1) / 2 == pytest.approx(want, abs=1.0), k
    boxes = list(labels.values())
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])
    ylabel = ax.yaxis.label.get_window_extent(r)
    assert ylabel.x0 >= inside.x0 and ylabel.y0 >= inside.y0 and ylabel.y1 <= inside.y1


def test_a_change_that_moves_the_curve_leaves_the_level_labels_alone():
    """The labels are outside the area the curve can draw in: a CPU change redraws no label
    (redrawing three labels made it the slowest change of this explorer)."""
    e = CostExplorer()
    e.render()
    r = e.canvas.get_renderer()
    e.set(cpu="avic")
    e.render()
    assert e.boxes  # the curve moved
    for t in e._arts.level_texts.values():
        b = t.get_window_extent(r)
        h = e.figure.bbox.height
        for r0, r1, c0, c1 in e.boxes:
            assert not (c0 < b.x1 and b.x0 < c1 and r0 < h - b.y0 and h - b.y1 < r1), t.get_text()


def test_cost_600_on_617_uses_emulated_cost_and_says_assumed():
    e = CostExplorer(kernel="6.17", vcpus=600, accelerated=1000, incomplete_ipi=3000, emulated=7000)
    assert e._arts.marker.get_ydata()[0] == 7000
    assert "7000 cycles per IPI" in e.readout.value and "ASSUMED" in e.readout.value
    assert e._arts.whatif.get_ydata()[599] == pytest.approx((512 * 1000 + 88 * 3000) / 600)
    e.set(kernel="6.3")
    assert np.isnan(e._arts.marker.get_ydata()[0]) and "VM does not start" in e.readout.value


def test_only_the_active_sizing_controls_are_enabled():
    e = Past512Explorer()
    assert not e.controls["vcpus"].disabled and e.controls["cores"].disabled
    e.set(sizing="topology")
    assert e.controls["vcpus"].disabled and not e.controls["cores"].disabled
    assert e.model.vcpus == 480  # the default topology: sockets=3, cores=160


def test_hybrid_avic_is_named_in_the_readout():
    # 6.0+: an x2APIC guest on a CPU without x2AVIC runs hybrid AVIC; "active" alone beside
    # "accelerated vCPUs 0 of 8" would contradict itself
    e = Past512Explorer(kernel="6.3", cpu="avic", guest_apic="x2apic", vcpus=8)
    text = e.readout.value
    assert "hybrid AVIC: delivery accelerated, the sender&#x27;s x2APIC writes exit" in text
    assert "accelerated vCPUs</b> 0 of 8" in text
    assert "kvm_amd avic=1 assumed; this release&#x27;s default: off" in text
