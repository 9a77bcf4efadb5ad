"""Device-interrupt plot: bit fields, GA log entry, tag split and wakeup flag match the model."""

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba

import avicviz as av
from avicviz.plots import device as D
from avicviz.plots._style import PALETTE, new_figure


def _draw(d, all_digits=True):
    fig = new_figure(11.5, 9)
    return fig, D.device_path(d, fig, all_digits=all_digits)


def _bits(arts_bf, width):
    return int("".join(arts_bf.digits.text(b) for b in reversed(range(width))), 2)


def _rgb(name):
    return to_rgba(PALETTE[name])[:3]


def _fill(rect):
    """A flow-chart mark's fill colour (None: not filled)."""
    fc = to_rgba(rect.get_facecolor())
    return None if fc[3] == 0 else fc[:3]


def _taken(arts):
    """The flow-chart nodes shown on the path: framed in black, not veiled in white."""
    return {k for k, m in arts.marks.items() if to_rgba(m.get_edgecolor()) == to_rgba(PALETTE["black"])
            and _fill(m) != (1.0, 1.0, 1.0)}


def test_wrong_vcpu_on_62_is_flagged():
    d = D.example("6.2", vcpu=300)
    assert (d.outcome, d.decoded_vcpu, d.woken_vcpu, d.wrong_vcpu) == ("ga_log", 44, 44, True)
    _fig, arts = _draw(d)
    assert _bits(arts.irte_lo, 64) == d.irte.lo and _bits(arts.irte_hi, 64) == d.irte.hi
    assert _bits(arts.log, 64) == d.ga_log_entry
    assert arts.irte_lo.values["is_run"].get_text() == "0"
    assert arts.irte_lo.values["ga_log_intr"].get_text() == "1"
    assert arts.irte_lo.values["ga_tag"].get_text() == "0x0000012C"
    assert "WRONG vCPU" in arts.verdict.get_text() and "vCPU 44" in arts.verdict.get_text()
    assert arts.verdict.get_color() == PALETTE["vermillion"]
    assert arts.tag_vcpu.get_width() == 8 and arts.tag_vm.get_width() == 24
    assert arts.tag_vcpu_label.get_text() == "vcpu_id [7:0]" and arts.tag_vcpu_value.get_text() == "44"
    assert arts.tag_vm_label.get_text() == "vm_id [31:8]" and arts.tag_vm_value.get_text() == "1"
    assert arts.tag_decode.get_text() == "tag 0x0000012C on v6.2: vm_id = tag >> 8 = 1; vcpu_id = tag & 0xFF = 44"
    assert D.wake_label(arts).endswith("vcpu_id 44 -> wakes vCPU 44")
    assert _fill(arts.marks["wake"]) == _rgb("vermillion")
    assert arts.headings[1].get_text() == "IRTE (guest mode), bits 63:0 = 0x0000012C00000685"
    assert arts.headings[2].get_text().endswith("= 0x100001000000012C")
    assert arts.title.get_text().startswith("Device interrupt on v6.2: GuestMode=1, IsRun=0")


@pytest.mark.parametrize("kernel, bits, field", [("6.3", 9, "vcpu_id"), ("6.17", 9, "vcpu_idx"),
                                                 ("6.19", 12, "vcpu_idx"), ("5.10", 8, "vcpu_id")])
def test_tag_split_follows_release(kernel, bits, field):
    _fig, arts = _draw(D.example("6.2"))
    d = D.example(kernel, vcpu=200)
    D.update_device_path(arts, d)
    assert arts.tag_vcpu.get_width() == bits and arts.tag_vm.get_width() == 32 - bits
    assert arts.tag_vcpu_label.get_text() == f"{field} [{bits - 1}:0]" and arts.tag_vcpu_value.get_text() == "200"
    assert int("".join(arts.tag_digits.text(b) for b in reversed(range(32))), 2) == d.irte.fields()["ga_tag"]
    assert "right vCPU" in arts.verdict.get_text()
    assert _fill(arts.marks["wake"]) == _rgb("green")
    assert _taken(arts) == {"device", "irte", "irr", "ga_log", "wake"}


@pytest.mark.parametrize("kw, outcome, text", [
    (dict(is_run=True), "doorbell", "no VM exit"),
    (dict(ga_log_intr=False), "irr_only", "next VMRUN"),
    (dict(guest_mode=False), "remapped", "legacy remapping"),
])
def test_other_outcomes_write_no_log_entry(kw, outcome, text):
    _fig, arts = _draw(D.example("6.2"), all_digits=False)
    d = D.example("6.2", **kw)
    D.update_device_path(arts, d, note="a note")
    assert d.outcome == outcome and text in arts.verdict.get_text()
    assert arts.log_note.get_text() == "none written"
    # the entry's cells are veiled and its field values gone
    assert arts.log_veil.get_visible() and not any(t.get_visible() for t in arts.log.values.values())
    assert arts.headings[2].get_text().endswith(": none written")
    assert arts.title.get_text().endswith("a note")
    assert _taken(arts) == ({"device", "irte", outcome} if outcome == "remapped"
                            else {"device", "irte", "irr", outcome})
    assert _fill(arts.marks[outcome]) == _rgb({"doorbell": "green", "irr_only": "yellow", "remapped": "sky"}[outcome])
    assert _fill(arts.marks["wake"]) == (1.0, 1.0, 1.0)  # veiled, like every node off the path
    assert D.wake_label(arts) == "KVM decodes the GATag:\nwakes a vCPU"
    assert arts.verdict.get_color() == PALETTE["black"]
    D.update_device_path(arts, D.example("6.2"))  # and back: the entry is written again
    assert not arts.log_veil.get_visible() and arts.log.values["ga_tag"].get_visible()
    assert arts.log.values["ga_tag"].get_text() == "0x0000012C"


def test_without_sentences_the_figure_keeps_the_bits_and_the_path():
    """An explorer's figure leaves the sentences to its readout: no title, no verdict, no tag
    arithmetic, panel headings without hex words; bits, values, tag split and path stay."""
    fig = new_figure(10, 7)
    d = D.example("6.2")
    arts = D.device_path(d, fig, sentences=False)
    assert arts.title is None and arts.verdict is None and arts.tag_decode is None
    assert fig._suptitle is None
    assert [h.get_text() for h in arts.headings] == [
        "IRTE (guest mode), bits 127:64", "IRTE (guest mode), bits 63:0", "GA log entry the IOMMU appends (64 bits)"]
    texts = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_visible()]
    assert not any("WRONG" in t or "tag >>" in t or "0x100001000000012C" in t for t in texts)
    assert _bits(arts.irte_lo, 64) == d.irte.lo and _bits(arts.log, 64) == d.ga_log_entry
    assert arts.irte_lo.values["ga_tag"].get_text() == "0x0000012C"
    assert arts.tag_vcpu_label.get_text() == "vcpu_id [7:0]" and arts.tag_vcpu_value.get_text() == "44"
    assert D.wake_label(arts).endswith("wakes vCPU 44") and _fill(arts.marks["wake"]) == _rgb("vermillion")
    # the sentences, for the readout
    assert D.summary(d) == "Device interrupt on v6.2: GuestMode=1, IsRun=0, GALogIntr=1, vector 0x41, GATag 0x0000012C"
    assert D.tag_arithmetic(d) == "tag 0x0000012C on v6.2: vm_id = tag >> 8 = 1; vcpu_id = tag & 0xFF = 44"
    assert [w for _what, w in D.words(d)] == ["0x0000000012345041", "0x0000012C00000685", "0x100001000000012C"]
    assert D.wrong_wakeup(d) and not D.wrong_wakeup(D.example("6.3"))
    assert D.words(D.example("6.2", is_run=True))[2][1] == "none written"
    assert "decoded only when a GA log entry is written" in D.tag_arithmetic(D.example("6.2", is_run=True))


def test_nobody_woken_names_the_decoded_vm_id():
    fig, arts = _draw(D.example("6.2"))
    t = av.encode(0x1234, 5, "6.3").tag
    d = av.deliver(av.make_irte(t, 0x41), "6.3", vm_id=1, vcpu_ids=6, intended_vcpu=5)
    D.update_device_path(arts, d)
    assert d.woken_vcpu is None
    assert D.wake_label(arts) == "KVM decodes the GATag:\nvm_id 4660, vcpu_id 5 -> nobody"
    assert _fill(arts.marks["wake"]) == _rgb("vermillion") and "nobody is woken" in arts.verdict.get_text()


def test_flow_chart_boxes_fit_their_labels():
    """Boxes are sized once (the wake node for its widest text): every label stays inside."""
    fig = new_figure(10, 7)
    arts = D.device_path(D.example("6.19", vcpu=4095), fig, sentences=False)
    r = FigureCanvasAgg(fig).get_renderer()
    fig.draw_without_rendering()  # lays the figure out
    for detail in ["vcpu_idx 4095 -> wakes vCPU 4095", "vm_id 16777215, vcpu_idx 4095 -> nobody",
                   "wakes a vCPU"]:
        arts.wake_detail.set_text(detail)
        for k, t in [*arts.nodes.items(), ("wake", arts.wake_detail)]:
            inner, box = t.get_window_extent(r), arts.boxes[k].get_window_extent(r)
            assert box.x0 < inner.x0 and inner.x1 < box.x1 and box.y0 < inner.y0 and inner.y1 < box.y1, k


def test_static_figures_named_with_alt_text():
    figs = D.static_figures()
    assert {"device_irte", "device_path_wrong_vcpu"} <= set(figs)
    assert all(len(alt) > 40 for _m, alt in figs.values())
