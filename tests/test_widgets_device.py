"""DeviceInterruptExplorer: each control changes the drawn IRTE / GA log / wakeup, as the model says."""

import html
import re

import pytest
from matplotlib.colors import to_rgba

import avicviz as av
from avicviz.plots._style import PALETTE, TEXT_COLOURS
from avicviz.plots.device import summary, tag_arithmetic, verdict, wake_label
from avicviz.widgets._base import option_values
from avicviz.widgets import DeviceInterruptExplorer


def _values(w):
    if option_values(w) is not None:
        return option_values(w)
    if isinstance(w.value, bool):
        return [False, True]
    lo, hi = w.min, w.max
    return sorted({lo, lo + 1, (lo + hi) // 2, 255, 256, 300, 511, 512, hi - 1, hi} & set(range(lo, hi + 1)))


def _check(e):
    d = e.model
    p = e.params
    if not av.release(p["kernel"]).per_vm_id:  # 4.7, 4.8: no GA-mode IRTE, no GATag yet
        assert d is None and "not applicable" in e.readout.value and "has no GA-mode IRTE" not in e.readout.value
        assert "has no GATag" in e.readout.value
        return
    a = e._arts
    f = d.irte.fields()
    for name in ("is_run", "ga_log_intr", "guest_mode", "valid"):
        assert a.irte_lo.values[name].get_text() == str(f[name])
    assert a.irte_lo.values["ga_tag"].get_text() == f"0x{f['ga_tag']:08X}"
    tag_bits = int("".join(a.tag_digits.text(b) for b in reversed(range(32))), 2)
    assert tag_bits == f["ga_tag"]
    assert (f["is_run"], f["ga_log_intr"], f["guest_mode"]) == (p["is_run"], p["ga_log_intr"], p["guest_mode"])
    assert f["ga_tag"] == av.encode(p["vm_id"], p["vcpu"], p["kernel"]).tag
    assert a.irte_hi.values["vector"].get_text() == "0x41"
    assert a.log_note.get_text() == ("" if d.outcome == "ga_log" else "none written")
    r = av.release(p["kernel"])
    assert a.tag_vcpu.get_width() == r.gatag_vcpu_bits
    tag = f["ga_tag"]
    assert a.tag_vm_label.get_text() == f"vm_id [31:{r.gatag_vcpu_bits}]"
    assert a.tag_vm_value.get_text() == str(tag >> r.gatag_vcpu_bits)
    assert a.tag_vcpu_label.get_text() == f"{r.gatag_vcpu_field} [{r.gatag_vcpu_bits - 1}:0]"
    assert a.tag_vcpu_value.get_text() == str(tag & r.gatag_vcpu_mask)
    bad = d.outcome == "ga_log" and (d.wrong_vcpu or d.woken_vcpu is None)
    # the wakeup in the figure: the wake node names whom KVM wakes, red when it is wrong
    wake = to_rgba(a.marks["wake"].get_facecolor())[:3]
    if d.outcome == "ga_log":
        woke = "nobody" if d.woken_vcpu is None else f"vCPU {d.woken_vcpu}"
        assert wake_label(a) == (f"KVM decodes the GATag:\n{r.gatag_vcpu_field} {d.decoded_vcpu} -> wakes {woke}"
                                 if d.woken_vcpu is not None else
                                 f"KVM decodes the GATag:\nvm_id {d.decoded_vm_id}, {r.gatag_vcpu_field} {d.decoded_vcpu} -> nobody")
        assert to_rgba(a.marks["wake"].get_facecolor()) == to_rgba(PALETTE["vermillion" if bad else "green"], 0.5)
    else:
        assert wake == (1.0, 1.0, 1.0) and "wakes a vCPU" in wake_label(a)
    assert a.log_veil.get_visible() == (d.ga_log_entry is None)
    # the sentences, in the readout under the figure (red when the wakeup is wrong)
    readout = e.readout.value
    text = _text(readout)
    assert ("WRONG" in readout) == bad
    assert readout.startswith(f"<b style='color:{TEXT_COLOURS['red'] if bad else PALETTE['black']}'>")
    assert text.startswith(verdict(d))
    for sentence in (summary(d), tag_arithmetic(d)):
        assert sentence in text
    vb = r.gatag_vcpu_bits
    assert (f"Device interrupt on {r.name}: GuestMode={int(p['guest_mode'])}, IsRun={int(p['is_run'])}, "
            f"GALogIntr={int(p['ga_log_intr'])}, vector 0x41, GATag 0x{tag:08X}") in text
    assert (f"vm_id = tag >> {vb} = {tag >> vb}; {r.gatag_vcpu_field} = tag & 0x{(1 << vb) - 1:X} = "
            f"{tag & ((1 << vb) - 1)}") in text
    assert f"bits 63:0 = 0x{d.irte.lo:016X}" in text and f"bits 127:64 = 0x{d.irte.hi:016X}" in text
    log = "none written" if d.ga_log_entry is None else f"0x{d.ga_log_entry:016X}"
    assert f"GA log entry the IOMMU appends (64 bits){': ' if d.ga_log_entry is None else ' = '}{log}" in text
    for note in e.notes():
        assert note in text


def _text(html_value):
    """What the readout shows: its HTML without tags, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_value))


def test_every_control_every_value():
    e = DeviceInterruptExplorer()
    for name, w in e.controls.items():
        for v in _values(w):
            before = e.updates
            e.set(**{name: v})
            assert e.last_error is None and e.updates == before + 1
            _check(e)
        e.reset()


@pytest.mark.parametrize("kernel, vcpu, woken", [
    ("6.0", 300, 44), ("6.2", 300, 44), ("6.2", 256, 0), ("6.2", 255, 255),
    ("6.3", 300, 300), ("6.17", 511, 511), ("6.19", 4095, 4095),
])
def test_ga_log_wakeup(kernel, vcpu, woken):
    e = DeviceInterruptExplorer(kernel=kernel, vcpu=vcpu)
    d = e.model
    assert d.outcome == "ga_log" and d.woken_vcpu == woken
    assert d.wrong_vcpu == (woken != vcpu)
    assert f"wakes vCPU {woken}" in wake_label(e._arts)
    assert f"KVM wakes vCPU {woken}" in e.readout.value


def test_outcomes_and_notes():
    e = DeviceInterruptExplorer(kernel="6.2", vcpu=300, is_run=True)
    assert e.model.outcome == "doorbell" and "no VM exit" in e.readout.value
    e.set(is_run=False, ga_log_intr=False)
    assert e.model.outcome == "irr_only" and e.model.ga_log_entry is None
    e.set(guest_mode=False)
    assert e.model.outcome == "remapped"
    e.set(guest_mode=True, ga_log_intr=True, vcpu=600)
    assert "KVM_CREATE_VCPU fails" in e.readout.value
    e.set(kernel="6.17")
    assert "AVIC is inhibited" in e.readout.value
    e.set(kernel="6.3", vm_id=0xFFFFFF, vcpu=1)
    assert "never hands out VM ID 16777215" in e.readout.value
    assert e.model.woken_vcpu is None and "nobody is woken" in e.readout.value
    assert wake_label(e._arts) == "KVM decodes the GATag:\nvm_id 8388607, vcpu_id 1 -> nobody"


def test_the_figure_leaves_the_sentences_to_the_readout():
    """No title, verdict or tag arithmetic in the explorer's figure (the readout has them), and
    the figure is smaller than the notebook's static ones."""
    e = DeviceInterruptExplorer(kernel="6.2", vcpu=600)
    a = e._arts
    assert a.title is None and a.verdict is None and a.tag_decode is None
    assert e.figure._suptitle is None
    shown = [t.get_text() for ax in e.figure.axes for t in ax.texts if t.get_visible()]
    assert not any("WRONG" in t or "tag >>" in t or "KVM_CREATE_VCPU" in t for t in shown)
    assert "KVM_CREATE_VCPU fails" in e.readout.value and "WRONG" in e.readout.value
    assert tuple(e.figure.get_size_inches()) == (10.0, 7.0)




@pytest.mark.parametrize("ratio", [1, 2])
def test_a_step_draws_only_texts_whose_words_change(ratio):
    """The wake node's first line is part of the fixed picture ("KVM decodes the GATag:" at any
    setting), and the GATag panel's field names stay clear of the boxes a vCPU or VM ID step
    draws in: only the numbers and the wake node's second line are drawn again."""
    from avicviz.widgets._base import _overlaps
    e = DeviceInterruptExplorer()
    e.picture.send = lambda *a, **k: None
    e.picture._message(e.picture, {"type": "hello", "ratio": ratio}, [])
    a = e._arts
    assert a.nodes["wake"] not in e.dynamic and a.nodes["wake"].get_text() == "KVM decodes the GATag:"
    for step in (dict(vcpu=301), dict(vcpu=302), dict(vm_id=7), dict(vcpu=1000), dict(is_run=True),
                 dict(is_run=False)):
        e.picture._acked = e.picture.sent  # painted
        e.set(**step)
        assert wake_label(a).startswith("KVM decodes the GATag:\n")
        if "is_run" not in step:
            assert any(_overlaps(e._places[id(a.wake_detail)], b) for b in e.boxes) == ("vcpu" in step)
            for name in (a.tag_vm_label, a.tag_vcpu_label):
                assert not any(_overlaps(e._places[id(name)], b) for b in e.boxes), name.get_text()
