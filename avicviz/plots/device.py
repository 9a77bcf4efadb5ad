"""Follow one device interrupt: GA-mode IRTE -> doorbell, or GA log -> GATag decode -> wakeup.

:func:`device_path` draws, for one :class:`avicviz.iommu.DeviceInterrupt`:

* the 128-bit IRTE as two 64-bit bit fields (bits 127:64 on top, 63:0 below), where IsRun,
  GALogIntr, GuestMode and the GATag can be read bit by bit;
* the 64-bit GA log entry the IOMMU writes (greyed out when it writes none);
* the GATag split the way the release's KVM splits it (VM-ID field | vCPU field);
* a small flow chart with the path taken highlighted, and which vCPU KVM wakes, flagged in
  red when it is not the vCPU the interrupt was meant for.

:func:`update_device_path` shows another interrupt in the same artists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation, Text

from ..gatag import encode
from ..iommu import DeviceInterrupt, IRTE, deliver, make_irte
from ..layouts import GA_LOG_ENTRY, IRTE_GA_HI, IRTE_GA_LO
from ._style import FIELD_COLOURS, PALETTE, new_figure
from .bits import BitDigits, BitFieldArtists, bitfield, update_bitfield

__all__ = ["DeviceArtists", "device_path", "update_device_path", "verdict", "example",
           "static_figures"]

#: Flow-chart nodes: name -> (x, y) in axes coordinates.
_NODES = {
    "device": (0.07, 0.86),
    "irte": (0.30, 0.86),
    "irr": (0.60, 0.86),
    "remapped": (0.10, 0.50),
    "doorbell": (0.34, 0.50),
    "ga_log": (0.60, 0.50),
    "irr_only": (0.87, 0.50),
    "wake": (0.60, 0.14),
}
_EDGES = [("device", "irte"), ("irte", "irr"), ("irte", "remapped"), ("irr", "doorbell"),
          ("irr", "ga_log"), ("irr", "irr_only"), ("ga_log", "wake")]
_OFF = "#F4F4F4"
_ON = {"remapped": PALETTE["sky"], "doorbell": PALETTE["green"], "ga_log": PALETTE["orange"],
       "irr_only": PALETTE["yellow"]}


@dataclass
class DeviceArtists:
    """Artists of :func:`device_path`."""

    irte_hi: BitFieldArtists
    irte_lo: BitFieldArtists
    log: BitFieldArtists
    log_note: Text
    tag_vm: Rectangle
    tag_vcpu: Rectangle
    tag_digits: BitDigits
    tag_vm_label: Text
    tag_vcpu_label: Text
    tag_decode: Text
    nodes: dict[str, Text]
    verdict: Text
    title: Text
    headings: list[Text]   # titles of the IRTE-high, IRTE-low and GA-log panels
    arrows: list[Annotation]  # flow-chart edges (they follow the nodes' boxes)


def verdict(d: DeviceInterrupt) -> str:
    """One line: where the interrupt ends up, and whether the woken vCPU is the right one.

    >>> t = encode(1, 300, "6.2").tag
    >>> verdict(deliver(make_irte(t, 0x41), "6.2", vm_id=1, vcpu_ids=301, intended_vcpu=300))
    'GA log -> KVM wakes vCPU 44: WRONG vCPU (the interrupt is for vCPU 300, which keeps sleeping)'
    >>> verdict(deliver(make_irte(t, 0x41, is_run=True), "6.2", intended_vcpu=300))
    'doorbell: vCPU 300 is running and takes the interrupt with no VM exit'
    """
    who = f"vCPU {d.intended_vcpu}" if d.intended_vcpu is not None else "the vCPU"
    if d.outcome == "doorbell":
        return f"doorbell: {who} is running and takes the interrupt with no VM exit"
    if d.outcome == "irr_only":
        return f"IRR only: no GA log entry, nobody is woken; {who} sees the interrupt at its next VMRUN"
    if d.outcome == "remapped":
        return "legacy remapping: the host takes the interrupt and KVM injects it (no posting)"
    if d.woken_vcpu is None:
        return (f"GA log -> KVM finds no vCPU for this tag: nobody is woken"
                + (f" (WRONG: {who} keeps sleeping)" if d.intended_vcpu is not None else ""))
    if d.wrong_vcpu:
        return (f"GA log -> KVM wakes vCPU {d.woken_vcpu}: WRONG vCPU "
                f"(the interrupt is for {who}, which keeps sleeping)")
    return f"GA log -> KVM wakes vCPU {d.woken_vcpu}: the right vCPU"


def _rotate_narrow(arts: BitFieldArtists) -> None:
    """Narrow fields' labels would overlap: tilt them."""
    for f, t in zip(arts.layout.segments(), arts.labels):
        if f.width < 6:
            t.set_rotation(35)
            t.set_ha("left")
            t.set_fontsize(6.5)
            t.set_text(t.get_text().replace("\n", " "))


def _tag_axes(ax: Axes) -> tuple[Rectangle, Rectangle, BitDigits, Text, Text, Text]:
    vm = Rectangle((0, 0), 1, 1, facecolor=FIELD_COLOURS["vm_id"], edgecolor="white")
    vc = Rectangle((0, 0), 1, 1, facecolor=FIELD_COLOURS["vcpu_id"], edgecolor="white")
    ax.add_patch(vm)
    ax.add_patch(vc)
    digits = BitDigits(ax, np.array([(31 - b + 0.5, 0.5) for b in range(32)]), 8)
    vm_label = ax.text(0, 1.15, "", ha="center", va="bottom", fontsize=8)
    vc_label = ax.text(0, 1.15, "", ha="center", va="bottom", fontsize=8)
    decode = ax.text(0, -0.35, "", ha="left", va="top", fontsize=8.5, family="monospace")
    ax.set_xlim(-0.5, 32.5)
    ax.set_ylim(-1.6, 2.6)
    ax.set_axis_off()
    return vm, vc, digits, vm_label, vc_label, decode


def _flow_axes(ax: Axes) -> tuple[dict[str, Text], list[Annotation]]:
    labels = {
        "device": "device\ninterrupt",
        "irte": "IRTE lookup\nGuestMode?",
        "irr": "IOMMU sets the vector's IRR bit\nin the vAPIC backing page",
        "remapped": "GuestMode=0:\nlegacy remapping",
        "doorbell": "IsRun=1:\ndoorbell, no exit",
        "ga_log": "IsRun=0, GALogIntr=1:\nGA log entry + interrupt",
        "irr_only": "IsRun=0, GALogIntr=0:\nwait for next VMRUN",
        "wake": "KVM decodes the GATag,\nwakes a vCPU",
    }
    nodes = {}
    for k, (x, y) in _NODES.items():
        nodes[k] = ax.text(x, y, labels[k], ha="center", va="center", fontsize=8,
                           transform=ax.transAxes,
                           bbox=dict(boxstyle="round,pad=0.4", fc=_OFF, ec=PALETTE["grey"]))
    arrows = []
    for a, b in _EDGES:
        same_row = _NODES[a][1] == _NODES[b][1]
        arrows.append(ax.annotate("", xy=(0.0, 0.5) if same_row else (0.5, 1.0), xycoords=nodes[b],
                    xytext=(1.0, 0.5) if same_row else (0.5, 0.0), textcoords=nodes[a],
                    arrowprops=dict(arrowstyle="->", color=PALETTE["grey"], lw=1, shrinkA=4, shrinkB=4)))
    ax.set_axis_off()
    return nodes, arrows


def device_path(d: DeviceInterrupt, fig: Figure, all_digits: bool = True) -> DeviceArtists:
    """Draw the whole path of ``d`` into ``fig`` (which should be empty); returns the artists.

    ``all_digits=False`` writes single bits only in the GATag panel and shows the IRTE and GA
    log as field values: far fewer texts, so explorers redraw faster.
    """
    gs = fig.add_gridspec(5, 1, height_ratios=[1.15, 1.15, 1.0, 0.85, 1.9])
    ax_hi, ax_lo, ax_log, ax_tag, ax_flow = (fig.add_subplot(gs[i]) for i in range(5))
    hi = bitfield(IRTE_GA_HI, d.irte.hi, ax_hi, show_digits=all_digits)
    lo = bitfield(IRTE_GA_LO, d.irte.lo, ax_lo, show_digits=all_digits)
    log = bitfield(GA_LOG_ENTRY, 0, ax_log, show_digits=all_digits)
    headings = [ax.set_title("", loc="left", fontsize=10) for ax in (ax_hi, ax_lo, ax_log)]
    for a in (hi, lo, log):
        _rotate_narrow(a)
        a.value_text.set_visible(False)  # the value goes into the axes title instead
    note = ax_log.text(32, -0.9, "", ha="center", va="center", fontsize=10, fontweight="bold",
                       color=PALETTE["black"])
    vm, vc, digits, vm_label, vc_label, decode = _tag_axes(ax_tag)
    ax_tag.set_title("GATag as KVM splits it", loc="left", fontsize=10)
    nodes, arrows = _flow_axes(ax_flow)
    verdict_text = ax_flow.text(0.5, -0.02, "", ha="center", va="top", fontsize=10, fontweight="bold",
                                transform=ax_flow.transAxes)
    title = fig.suptitle("", fontsize=11, x=0.01, ha="left")
    arts = DeviceArtists(hi, lo, log, note, vm, vc, digits, vm_label, vc_label, decode, nodes,
                         verdict_text, title, headings, arrows)
    update_device_path(arts, d)
    return arts


def update_device_path(arts: DeviceArtists, d: DeviceInterrupt, note: str = "") -> None:
    """Show interrupt ``d`` in the artists of :func:`device_path`; ``note`` goes under the title."""
    r = d.kernel
    update_bitfield(arts.irte_hi, d.irte.hi)
    update_bitfield(arts.irte_lo, d.irte.lo)
    has_log = d.ga_log_entry is not None
    update_bitfield(arts.log, d.ga_log_entry if has_log else 0)
    arts.log.fields.set_alpha(1.0 if has_log else 0.25)
    arts.log.digits.set_alpha(1.0 if has_log else 0.3)
    for t in arts.log.values.values():
        t.set_alpha(1.0 if has_log else 0.3)
    arts.log_note.set_text("" if has_log else "no GA log entry is written for this interrupt")
    for a, h, what in zip((arts.irte_hi, arts.irte_lo, arts.log), arts.headings,
                          ("IRTE (guest mode), bits 127:64", "IRTE (guest mode), bits 63:0",
                           "GA log entry the IOMMU appends (64 bits)")):
        h.set_text(f"{what} = {a.value_text.get_text().split(' = ')[-1]}"
                                     + ("" if a is not arts.log or has_log else "  (none written)"))
    # the GATag as this release's KVM reads it
    tag = d.irte.fields()["ga_tag"]
    vb = r.gatag_vcpu_bits
    arts.tag_vm.set_bounds(0, 0, 32 - vb, 1)
    arts.tag_vcpu.set_bounds(32 - vb, 0, vb, 1)
    arts.tag_digits.show(tag)
    vm_val, vc_val = tag >> vb, tag & r.gatag_vcpu_mask
    arts.tag_vm_label.set_position(((32 - vb) / 2, 1.15))
    arts.tag_vm_label.set_text(f"vm_id [31:{vb}] = {vm_val}")
    arts.tag_vcpu_label.set_position((32 - vb / 2, 1.15))
    arts.tag_vcpu_label.set_text(f"{r.gatag_vcpu_field} [{vb - 1}:0] = {vc_val}")
    arts.tag_decode.set_text(
        f"tag 0x{tag:08X} on {r.name}: vm_id = tag >> {vb} = {vm_val}; "
        f"{r.gatag_vcpu_field} = tag & 0x{r.gatag_vcpu_mask:X} = {vc_val}"
        + ("" if d.outcome == "ga_log" else "   (decoded only when a GA log entry is written)"))
    # flow chart
    taken = {"device", "irte"}
    if d.outcome == "remapped":
        taken.add("remapped")
    else:
        taken |= {"irr", d.outcome}
        if d.outcome == "ga_log":
            taken.add("wake")
    for k, t in arts.nodes.items():
        fc = _OFF
        if k in taken:
            fc = _ON.get(k, PALETTE["light"] if k != "wake" else PALETTE["orange"])
        if k == "wake" and d.outcome == "ga_log":
            fc = PALETTE["vermillion"] if (d.wrong_vcpu or d.woken_vcpu is None) else PALETTE["green"]
        t.get_bbox_patch().set_facecolor(fc)
        t.get_bbox_patch().set_edgecolor(PALETTE["black"] if k in taken else PALETTE["grey"])
        t.set_alpha(1.0 if k in taken else 0.45)
    if d.outcome == "ga_log":
        woke = "nobody" if d.woken_vcpu is None else f"vCPU {d.woken_vcpu}"
        arts.nodes["wake"].set_text(f"KVM decodes the GATag:\nvm_id {d.decoded_vm_id}, "
                                    f"{r.gatag_vcpu_field} {d.decoded_vcpu} -> wakes {woke}")
    else:
        arts.nodes["wake"].set_text("KVM decodes the GATag,\nwakes a vCPU")
    bad = d.outcome == "ga_log" and (d.wrong_vcpu or d.woken_vcpu is None)
    arts.verdict.set_text(verdict(d))
    arts.verdict.set_color(PALETTE["vermillion"] if bad else PALETTE["black"])
    f = d.irte.fields()
    arts.title.set_text(
        f"Device interrupt on {r.name}: GuestMode={f['guest_mode']}, IsRun={f['is_run']}, "
        f"GALogIntr={f['ga_log_intr']}, vector 0x{f['vector']:02X}, GATag 0x{tag:08X}"
        + (f"\n{note}" if note else ""))


def example(kernel: object = "6.2", vm_id: int = 1, vcpu: int = 300, is_run: bool = False,
            ga_log_intr: bool = True, guest_mode: bool = True) -> DeviceInterrupt:
    """The interrupt the figures show: a VM with vCPUs 0..vcpu, an interrupt for the last one.

    The tag holds the vCPU's id (<= v6.16) or index (v6.17+); with ids 0..vcpu both are ``vcpu``.

    >>> d = example("6.2"); d.outcome, d.woken_vcpu, d.wrong_vcpu
    ('ga_log', 44, True)
    >>> example("6.3").woken_vcpu
    300
    """
    tag = encode(vm_id, vcpu, kernel).tag
    irte = make_irte(tag, vector=0x41, destination=6, backing_page=0x12345000, is_run=is_run,
                     ga_log_intr=ga_log_intr, guest_mode=guest_mode)
    return deliver(irte, kernel, vm_id=vm_id, vcpu_ids=vcpu + 1, intended_vcpu=vcpu)


def _fig(**kw) -> Callable[[], Figure]:
    def make() -> Figure:
        fig = new_figure(11.5, 9.0)
        device_path(example(**kw), fig)
        return fig
    return make


def static_figures() -> dict[str, tuple[Callable[[], Figure], str]]:
    """Static figures of notebook 04 (name -> (draw, alt text))."""
    return {
        "device_irte": (
            _fig(kernel="6.3", is_run=True),
            "The 128-bit guest-mode IRTE as two 64-bit bit fields on Linux 6.3 with IsRun=1: "
            "GATag 0x32C (VM 1, vCPU 300), vector 0x41, host APIC ID 6; the flow chart highlights "
            "the doorbell path, so the running vCPU 300 takes the interrupt with no VM exit and "
            "no GA log entry is written."),
        "device_path_wrong_vcpu": (
            _fig(kernel="6.2"),
            "The same interrupt on Linux 6.2 with IsRun=0 and GALogIntr=1: the GATag is 0x12C "
            "because bit 8 of vCPU 300 was dropped, the IOMMU writes a GA log entry, KVM decodes "
            "vcpu_id 44 and wakes vCPU 44, flagged in red as the wrong vCPU."),
        "device_path_right_vcpu": (
            _fig(kernel="6.3"),
            "The same interrupt on Linux 6.3: the 9-bit vCPU field keeps all of 300, the GA log "
            "entry carries tag 0x32C and KVM wakes vCPU 300, the right one."),
    }
