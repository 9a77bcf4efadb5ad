"""Follow one device interrupt: GA-mode IRTE -> doorbell, or GA log -> GATag decode -> wakeup.

:func:`device_path` draws, for one :class:`avicviz.iommu.DeviceInterrupt`:

* the 128-bit IRTE as two 64-bit bit fields (bits 127:64 on top, 63:0 below), where IsRun,
  GALogIntr, GuestMode and the GATag can be read bit by bit;
* the 64-bit GA log entry the IOMMU writes (greyed out when it writes none);
* the GATag split the way the release's KVM splits it (VM-ID field | vCPU field);
* a small flow chart with the path taken highlighted, and which vCPU KVM wakes, flagged in
  red when it is not the vCPU the interrupt was meant for.

:func:`update_device_path` shows another interrupt in the same artists.  The sentences around
the bits (:func:`summary`, :func:`tag_arithmetic`, :func:`verdict`, the hex words) are plain
functions too: an explorer shows them in its HTML readout instead of the figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation, Text
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_rgba
from matplotlib.transforms import Affine2D, ScaledTranslation

from ..gatag import encode
from ..iommu import DeviceInterrupt, deliver, make_irte
from ..layouts import GA_LOG_ENTRY, IRTE_GA_HI, IRTE_GA_LO
from ._style import FIELD_COLOURS, PALETTE, new_figure
from .bits import BitDigits, BitFieldArtists, bitfield, update_bitfield
from .glyphs import GlyphText

__all__ = ["DeviceArtists", "device_path", "update_device_path", "verdict", "wrong_wakeup",
           "summary", "tag_arithmetic", "words", "example", "static_figures"]

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
#: How far below bitfield()'s place the field values sit (in cell heights).
_VALUE_DROP = 0.2
#: Where the GATag panel's field names sit (cell heights; the cells span 0..1).
_TAG_NAME_Y = 1.35
#: A taken node's tint and a node off the path's veil (alpha over its black label).
_TINT, _VEIL = 0.5, 0.6
#: The veil over the cells of a GA log entry that is not written.
_VEIL_LOG = 0.72
_ON = {"remapped": PALETTE["sky"], "doorbell": PALETTE["green"], "ga_log": PALETTE["orange"],
       "irr_only": PALETTE["yellow"]}


@dataclass
class DeviceArtists:
    """Artists of :func:`device_path`."""

    irte_hi: BitFieldArtists
    irte_lo: BitFieldArtists
    log: BitFieldArtists
    log_note: Text
    log_veil: Rectangle        # over the GA log's cells when no entry is written
    tag_vm: Rectangle
    tag_vcpu: Rectangle
    tag_digits: BitDigits
    tag_vm_label: Text         # the field's name and bits (they change only with the split)
    tag_vcpu_label: Text
    tag_vm_value: Text         # the field's value, under its cells (decimal, as KVM uses it)
    tag_vcpu_value: Text
    tag_decode: Text | None    # the tag arithmetic (None: left to the caller, see device_path)
    nodes: dict[str, Text]     # flow-chart labels (fixed; the wake node's second line is below)
    verdict: Text | None       # None: left to the caller
    title: Text | None         # None: left to the caller
    headings: list[Text]   # titles of the IRTE-high, IRTE-low and GA-log panels
    arrows: list[Annotation]  # flow-chart edges, between the boxes
    boxes: dict[str, Rectangle]  # flow-chart boxes under the labels (fixed)
    marks: dict[str, Rectangle]  # over each box: a tint if the path takes it, a veil if not
    #: The wake node's second line (``nodes["wake"]`` is its fixed first line): the only text
    #: of the flow chart that changes.  :func:`wake_label` joins the two.
    wake_detail: Text | None = None

    @property
    def sentences(self) -> bool:
        """True if the figure writes the sentences (title, hex words, tag arithmetic, verdict)."""
        return self.verdict is not None


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
        return ("GA log -> KVM finds no vCPU for this tag: nobody is woken"
                + (f" (WRONG: {who} keeps sleeping)" if d.intended_vcpu is not None else ""))
    if d.wrong_vcpu:
        return (f"GA log -> KVM wakes vCPU {d.woken_vcpu}: WRONG vCPU "
                f"(the interrupt is for {who}, which keeps sleeping)")
    return f"GA log -> KVM wakes vCPU {d.woken_vcpu}: the right vCPU"


def wrong_wakeup(d: DeviceInterrupt) -> bool:
    """The GA log path woke the wrong vCPU, or nobody: what the figure and readout flag red."""
    return d.outcome == "ga_log" and (d.wrong_vcpu or d.woken_vcpu is None)


def summary(d: DeviceInterrupt) -> str:
    """The release and the IRTE's deciding fields in one line.

    >>> summary(example("6.2"))
    'Device interrupt on v6.2: GuestMode=1, IsRun=0, GALogIntr=1, vector 0x41, GATag 0x0000012C'
    """
    f = d.irte.fields()
    return (f"Device interrupt on {d.kernel.name}: GuestMode={f['guest_mode']}, IsRun={f['is_run']}, "
            f"GALogIntr={f['ga_log_intr']}, vector 0x{f['vector']:02X}, GATag 0x{f['ga_tag']:08X}")


def tag_arithmetic(d: DeviceInterrupt) -> str:
    """How this release's KVM splits the IRTE's GATag (it does so only for a GA log entry).

    >>> tag_arithmetic(example("6.2"))
    'tag 0x0000012C on v6.2: vm_id = tag >> 8 = 1; vcpu_id = tag & 0xFF = 44'
    """
    r = d.kernel
    tag = d.irte.fields()["ga_tag"]
    vb = r.gatag_vcpu_bits
    return (f"tag 0x{tag:08X} on {r.name}: vm_id = tag >> {vb} = {tag >> vb}; "
            f"{r.gatag_vcpu_field} = tag & 0x{r.gatag_vcpu_mask:X} = {tag & r.gatag_vcpu_mask}"
            + ("" if d.outcome == "ga_log" else "   (decoded only when a GA log entry is written)"))


def words(d: DeviceInterrupt) -> list[tuple[str, str]]:
    """(what, hex) of the IRTE's two halves and the GA log entry ("none written" if none)."""
    log = "none written" if d.ga_log_entry is None else f"0x{d.ga_log_entry:016X}"
    return [(_HEADINGS[0], f"0x{d.irte.hi:016X}"), (_HEADINGS[1], f"0x{d.irte.lo:016X}"),
            (_HEADINGS[2], log)]


_HEADINGS = ("IRTE (guest mode), bits 127:64", "IRTE (guest mode), bits 63:0",
             "GA log entry the IOMMU appends (64 bits)")


def _rotate_narrow(arts: BitFieldArtists) -> None:
    """Narrow fields' labels would overlap: tilt them."""
    for f, t in zip(arts.layout.segments(), arts.labels):
        if f.width < 6:
            t.set_rotation(35)
            t.set_ha("left")
            t.set_fontsize(6.5)
            t.set_text(t.get_text().replace("\n", " "))


def _tag_axes(ax: Axes, decode: bool) -> tuple[Rectangle, Rectangle, BitDigits, Text, Text, Text, Text,
                                               Text | None]:
    vm = Rectangle((0, 0), 1, 1, facecolor=FIELD_COLOURS["vm_id"], edgecolor="white")
    vc = Rectangle((0, 0), 1, 1, facecolor=FIELD_COLOURS["vcpu_id"], edgecolor="white")
    ax.add_patch(vm)
    ax.add_patch(vc)
    digits = BitDigits(ax, np.array([(31 - b + 0.5, 0.5) for b in range(32)]), 8)
    # names clear of the cells' places (a changed digit then leaves them alone); values under
    # the cells, as in the bit fields above
    vm_label = ax.text(0, _TAG_NAME_Y, "", ha="center", va="bottom", fontsize=8)
    vc_label = ax.text(0, _TAG_NAME_Y, "", ha="center", va="bottom", fontsize=8)
    vm_value, vc_value = (GlyphText(ax, 0, -0.25 - _VALUE_DROP, "", ha="center", va="top", fontsize=8,
                                    weight="bold") for _ in range(2))
    text = None
    if decode:
        text = ax.text(0, -1.0, "", ha="left", va="top", fontsize=8.5, family="monospace")
    ax.set_xlim(-0.5, 32.5)
    ax.set_ylim(-2.2 if decode else -1.0, 2.6 if decode else 2.1)
    ax.set_axis_off()
    return vm, vc, digits, vm_label, vc_label, vm_value, vc_value, text


#: The wake node's first line (fixed) and its widest second lines (its box is sized for them).
_WAKE_HEAD = "KVM decodes the GATag:"
_WAKE_WIDEST = ("vcpu_idx 4095 -> wakes vCPU 4095", "vm_id 16777215, vcpu_idx 4095 -> nobody")
_PAD = 4.0  # points between a flow-chart label and its box
#: Points between the wake node's two lines: enough that their places (padded by 3 pixels) do not
#: touch, so that a change of the second line does not draw the first again.
_LINE_GAP = 5.5


def wake_label(arts: DeviceArtists) -> str:
    """The wake node's label as the reader sees it: both lines.

    >>> from matplotlib.figure import Figure
    >>> wake_label(device_path(example("6.2", vcpu=300), Figure(figsize=(10, 7)), sentences=False))
    'KVM decodes the GATag:\\nvcpu_id 44 -> wakes vCPU 44'
    """
    return f"{arts.nodes['wake'].get_text()}\n{arts.wake_detail.get_text()}"


def _wake_text(d: DeviceInterrupt) -> str:
    """The wake node's second line: the vCPU number KVM decodes and whom it wakes (with the
    decoded VM ID when nobody is woken; the GATag panel above shows it always)."""
    if d.outcome != "ga_log":
        return "wakes a vCPU"
    field = d.kernel.gatag_vcpu_field
    if d.woken_vcpu is None:
        return f"vm_id {d.decoded_vm_id}, {field} {d.decoded_vcpu} -> nobody"
    return f"{field} {d.decoded_vcpu} -> wakes vCPU {d.woken_vcpu}"


def _flow_axes(ax: Axes) -> tuple[dict[str, Text], Text, list[Annotation], dict[str, Rectangle],
                                  dict[str, Rectangle]]:
    """The flow chart: a fixed box and label per node, and over each box a mark that
    :func:`update_device_path` turns into a tint (path taken) or a veil (not taken).

    Boxes are sized in points around their node's place, so they fit their labels at any
    figure size and pixel ratio; only the marks and the wake node's second line change, and
    the edges between the boxes never move.
    """
    labels = {
        "device": "device\ninterrupt",
        "irte": "IRTE lookup\nGuestMode?",
        "irr": "IOMMU sets the vector's IRR bit\nin the vAPIC backing page",
        "remapped": "GuestMode=0:\nlegacy remapping",
        "doorbell": "IsRun=1:\ndoorbell, no exit",
        "ga_log": "IsRun=0, GALogIntr=1:\nGA log entry + interrupt",
        "irr_only": "IsRun=0, GALogIntr=0:\nwait for next VMRUN",
        "wake": _WAKE_HEAD,
    }
    fig = ax.figure
    measure = RendererAgg(1, 1, fig.dpi)
    nodes, boxes, marks = {}, {}, {}
    for k, (x, y) in _NODES.items():
        t = ax.text(x, y, labels[k], ha="center", va="center", fontsize=8, transform=ax.transAxes,
                    zorder=3)
        w = t.get_window_extent(measure).width * 72 / fig.dpi + 2 * _PAD
        h = t.get_window_extent(measure).height * 72 / fig.dpi + 2 * _PAD
        if k == "wake":  # two texts, one per line, _LINE_GAP apart around the node's centre
            half = ScaledTranslation(0, _LINE_GAP / 2 / 72, fig.dpi_scale_trans)
            t.set_va("bottom")
            t.set_transform(ax.transAxes + half)
            detail = ax.text(x, y, "", ha="center", va="top", fontsize=8, zorder=3,
                             transform=ax.transAxes + half.inverted())
            head = t.get_window_extent(measure)
            size = [head.width, head.height]  # widest line, tallest line
            for widest in _WAKE_WIDEST:
                detail.set_text(widest)
                e = detail.get_window_extent(measure)
                size = [max(size[0], e.width), max(size[1], e.height)]
            w = size[0] * 72 / fig.dpi + 2 * _PAD
            h = 2 * size[1] * 72 / fig.dpi + _LINE_GAP + 2 * _PAD
        # a w x h points box centred on (x, y) in axes coordinates
        at = (Affine2D().scale(w / 72, h / 72).translate(-w / 144, -h / 144) + fig.dpi_scale_trans
              + ScaledTranslation(x, y, ax.transAxes))
        boxes[k] = Rectangle((0, 0), 1, 1, transform=at, facecolor=_OFF, edgecolor=PALETTE["grey"],
                             linewidth=1, zorder=2)
        marks[k] = Rectangle((0, 0), 1, 1, transform=at, zorder=4)
        for r in (boxes[k], marks[k]):
            ax.add_artist(r)
        nodes[k] = t
    detail.set_text("wakes a vCPU")
    arrows = []
    for a, b in _EDGES:
        same_row = _NODES[a][1] == _NODES[b][1]
        arrows.append(ax.annotate("", xy=(0.0, 0.5) if same_row else (0.5, 1.0), xycoords=boxes[b],
                    xytext=(1.0, 0.5) if same_row else (0.5, 0.0), textcoords=boxes[a],
                    arrowprops=dict(arrowstyle="->", color=PALETTE["grey"], lw=1, shrinkA=1.5,
                                    shrinkB=1.5)))
    ax.set_axis_off()
    return nodes, detail, arrows, boxes, marks


def device_path(d: DeviceInterrupt, fig: Figure, all_digits: bool = True,
                sentences: bool = True) -> DeviceArtists:
    """Draw the whole path of ``d`` into ``fig`` (which should be empty); returns the artists.

    ``all_digits=False`` writes single bits only in the GATag panel and shows the IRTE and GA
    log as field values: far fewer texts, so explorers redraw faster.

    ``sentences=False`` leaves out what an explorer's HTML readout says instead: the title
    (:func:`summary`), the hex words in the panel headings (:func:`words`), the tag arithmetic
    (:func:`tag_arithmetic`) and the verdict (:func:`verdict`).  The figure keeps the bits, the
    field values, the tag split and the flow chart with the vCPU KVM wakes; it needs less
    height, and a change redraws far fewer texts.
    """
    ratios = [1.15, 1.15, 1.0, 1.0, 1.9] if sentences else [1.0, 1.15, 0.95, 0.75, 2.0]
    gs = fig.add_gridspec(5, 1, height_ratios=ratios)
    ax_hi, ax_lo, ax_log, ax_tag, ax_flow = (fig.add_subplot(gs[i]) for i in range(5))
    hi = bitfield(IRTE_GA_HI, d.irte.hi, ax_hi, show_digits=all_digits)
    lo = bitfield(IRTE_GA_LO, d.irte.lo, ax_lo, show_digits=all_digits)
    log = bitfield(GA_LOG_ENTRY, 0, ax_log, show_digits=all_digits)
    headings = [ax.set_title(what, loc="left", fontsize=10)
                for ax, what in zip((ax_hi, ax_lo, ax_log), _HEADINGS)]
    for a in (hi, lo, log):
        _rotate_narrow(a)
        a.value_text.set_visible(False)  # the value goes into the axes title (or the readout)
        for t in a.values.values():
            # a little lower than bitfield() puts them, clear of the row of digits: a changed
            # digit then redraws the row, not every field value under it
            x, y = t.get_position()
            t.set_position((x, y - _VALUE_DROP))
    note = ax_log.text(32, -0.9, "", ha="center", va="center", fontsize=10, fontweight="bold",
                       color=PALETTE["black"])
    # over the cells and their digits (which stay fixed: a change redraws only the veil)
    veil = Rectangle((0, 0), GA_LOG_ENTRY.width, 1, facecolor=to_rgba("white", _VEIL_LOG),
                     edgecolor="none", zorder=3.5)
    ax_log.add_artist(veil)
    vm, vc, digits, vm_label, vc_label, vm_value, vc_value, decode = _tag_axes(ax_tag, decode=sentences)
    ax_tag.set_title("GATag as KVM splits it", loc="left", fontsize=10)
    nodes, detail, arrows, boxes, marks = _flow_axes(ax_flow)
    verdict_text = title = None
    if sentences:
        verdict_text = ax_flow.text(0.5, -0.02, "", ha="center", va="top", fontsize=10,
                                    fontweight="bold", transform=ax_flow.transAxes)
        title = fig.suptitle("", fontsize=11, x=0.01, ha="left")
    arts = DeviceArtists(hi, lo, log, note, veil, vm, vc, digits, vm_label, vc_label, vm_value, vc_value,
                         decode, nodes,
                         verdict_text, title, headings, arrows, boxes, marks, detail)
    update_device_path(arts, d)
    return arts


def _hide_if_empty(digits: BitDigits) -> None:
    """A digit collection with no cells to write draws nothing: say so (an empty collection
    cannot tell where it draws, and would count as covering the whole figure)."""
    for c in digits.artists:
        c.set_visible(len(c.get_offsets()) > 0)


def update_device_path(arts: DeviceArtists, d: DeviceInterrupt, note: str = "") -> None:
    """Show interrupt ``d`` in the artists of :func:`device_path`; ``note`` goes under the title
    (if the figure has one)."""
    r = d.kernel
    update_bitfield(arts.irte_hi, d.irte.hi)
    update_bitfield(arts.irte_lo, d.irte.lo)
    has_log = d.ga_log_entry is not None
    update_bitfield(arts.log, d.ga_log_entry if has_log else 0)
    arts.log_veil.set_visible(not has_log)  # greys out the cells of an entry never written
    for t in arts.log.values.values():
        t.set_visible(has_log)  # no entry, no field values (its cells stay, greyed out)
    for bd in (arts.irte_hi.digits, arts.irte_lo.digits, arts.log.digits):
        _hide_if_empty(bd)
    arts.log_note.set_text("" if has_log else "none written")  # the cells above are greyed out
    if arts.sentences:
        for h, (what, word) in zip(arts.headings, words(d)):
            h.set_text(f"{what} = {word}" if word.startswith("0x") else f"{what}: {word}")
    # the GATag as this release's KVM reads it
    tag = d.irte.fields()["ga_tag"]
    vb = r.gatag_vcpu_bits
    arts.tag_vm.set_bounds(0, 0, 32 - vb, 1)
    arts.tag_vcpu.set_bounds(32 - vb, 0, vb, 1)
    arts.tag_digits.show(tag)
    _hide_if_empty(arts.tag_digits)
    vm_val, vc_val = tag >> vb, tag & r.gatag_vcpu_mask
    for name, value, x, text in ((arts.tag_vm_label, arts.tag_vm_value, (32 - vb) / 2, f"vm_id [31:{vb}]"),
                                 (arts.tag_vcpu_label, arts.tag_vcpu_value, 32 - vb / 2,
                                  f"{r.gatag_vcpu_field} [{vb - 1}:0]")):
        name.set_x(x)
        name.set_text(text)
        value.set_x(x)
    arts.tag_vm_value.set_text(f"{vm_val}")
    arts.tag_vcpu_value.set_text(f"{vc_val}")
    if arts.tag_decode is not None:
        arts.tag_decode.set_text(tag_arithmetic(d))
    # flow chart
    taken = {"device", "irte"}
    if d.outcome == "remapped":
        taken.add("remapped")
    else:
        taken |= {"irr", d.outcome}
        if d.outcome == "ga_log":
            taken.add("wake")
    for k, m in arts.marks.items():
        if k == "wake" and k in taken:  # red for a wrong wakeup, else green
            m.set_facecolor(to_rgba(PALETTE["vermillion"] if wrong_wakeup(d) else PALETTE["green"], _TINT))
            m.set_edgecolor(PALETTE["black"])
            m.set_linewidth(1.5)
        elif k in taken:  # tinted in the outcome's colour (if it has one), framed in black
            m.set_facecolor(to_rgba(_ON[k], _TINT) if k in _ON else "none")
            m.set_edgecolor(PALETTE["black"])
            m.set_linewidth(1.5)
        else:  # veiled: the path does not go there
            m.set_facecolor(to_rgba("white", _VEIL))
            m.set_edgecolor(to_rgba("white", _VEIL))
            m.set_linewidth(1.0)
    arts.wake_detail.set_text(_wake_text(d))
    if arts.verdict is not None:
        arts.verdict.set_text(verdict(d))
        arts.verdict.set_color(PALETTE["vermillion"] if wrong_wakeup(d) else PALETTE["black"])
    if arts.title is not None:
        arts.title.set_text(summary(d) + (f"\n{note}" if note else ""))


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
