"""Device-interrupt plot: bit fields, GA log entry, tag split and wakeup flag match the model."""

import pytest

import avicviz as av
from avicviz.plots import device as D
from avicviz.plots._style import PALETTE, new_figure


def _draw(d, all_digits=True):
    fig = new_figure(11.5, 9)
    return fig, D.device_path(d, fig, all_digits=all_digits)


def _bits(arts_bf, width):
    return int("".join(arts_bf.digits.text(b) for b in reversed(range(width))), 2)


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
    assert arts.tag_vcpu_label.get_text() == "vcpu_id [7:0] = 44"
    assert "wakes vCPU 44" in arts.nodes["wake"].get_text()


@pytest.mark.parametrize("kernel, bits, field", [("6.3", 9, "vcpu_id"), ("6.17", 9, "vcpu_idx"),
                                                 ("6.19", 12, "vcpu_idx"), ("5.10", 8, "vcpu_id")])
def test_tag_split_follows_release(kernel, bits, field):
    _fig, arts = _draw(D.example("6.2"))
    d = D.example(kernel, vcpu=200)
    D.update_device_path(arts, d)
    assert arts.tag_vcpu.get_width() == bits and arts.tag_vm.get_width() == 32 - bits
    assert arts.tag_vcpu_label.get_text() == f"{field} [{bits - 1}:0] = 200"
    assert int("".join(arts.tag_digits.text(b) for b in reversed(range(32))), 2) == d.irte.fields()["ga_tag"]
    assert "right vCPU" in arts.verdict.get_text()


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
    assert arts.log_note.get_text().startswith("no GA log entry")
    assert arts.log.fields.get_alpha() == 0.25
    assert "(none written)" in arts.headings[2].get_text()
    assert arts.title.get_text().endswith("a note")
    assert arts.nodes[outcome].get_alpha() == 1.0 and arts.nodes["wake"].get_alpha() < 1
    assert arts.verdict.get_color() == PALETTE["black"]


def test_static_figures_named_with_alt_text():
    figs = D.static_figures()
    assert {"device_irte", "device_path_wrong_vcpu"} <= set(figs)
    assert all(len(alt) > 40 for _m, alt in figs.values())
