"""The GATag: its bit split per release, what a truncated tag wakes, and what each split costs.

KVM packs ``(vm_id << VCPU_BITS) | vcpu`` into 32 bits.  The split was 8/24 up to v6.2, 9/23 from
v6.3 and 12/20 from v6.19; every bit given to the vCPU field is taken from the VM-ID field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from ..gatag import Aliases, GATag, aliases, encode
from ..layouts import gatag_layout
from ..releases import release, release_ranges
from ._style import PALETTE, field_colour, new_figure
from .bits import BitFieldArtists, bitfield

__all__ = [
    "gatag_bits",
    "splits_chart",
    "TagStoryArtists",
    "story_lines",
    "tag_story",
    "update_tag_story",
    "AliasingArtists",
    "aliasing_chart",
    "update_aliasing_chart",
    "tradeoff_chart",
    "VMIDArtists",
    "vmid_chart",
    "update_vmid_chart",
    "alias_span",
    "vmid_xlim",
    "vmid_labelled",
    "static_figures",
]

#: The three splits mainline Linux has used, with the releases that use them.
SPLITS = ((8, "v4.7..v6.2"), (9, "v6.3..v6.18"), (12, "v6.19+"))


def gatag_bits(tag: GATag, ax: Axes, *, title: str | None = None) -> BitFieldArtists:
    """The 32 bits of ``tag`` in its release's layout (vCPU field low, VM ID high)."""
    if title is None:
        title = (f"{tag.kernel.name}: {tag.vcpu_field} in bits {tag.vcpu_bits - 1}:0, vm_id in "
                 f"bits 31:{tag.vcpu_bits}  (VM {tag.vm_id}, vCPU {tag.vcpu})")
    return bitfield(gatag_layout(tag.kernel), tag.tag, ax, title=title)


def splits_chart(ax: Axes) -> dict:
    """One horizontal bar per modelled release range with a GATag (per-VM AVIC IDs): vCPU bits
    (orange) + VM-ID bits (blue)."""
    rs = [r for r in release_ranges() if r.per_vm_id]
    y = np.arange(len(rs))[::-1]
    vb = np.array([r.gatag_vcpu_bits for r in rs])
    vcpu = ax.barh(y, vb, color=field_colour("vcpu_id"), edgecolor="white", label="vCPU field")
    vm = ax.barh(y, 32 - vb, left=vb, color=field_colour("vm_id"), edgecolor="white", label="VM-ID field")
    texts = []
    for yi, r in zip(y, rs):
        texts.append(ax.text(r.gatag_vcpu_bits / 2, yi, f"vCPU: {r.gatag_vcpu_bits}", ha="center",
                             va="center", fontsize=8, fontweight="bold"))
        texts.append(ax.text(r.gatag_vcpu_bits + (32 - r.gatag_vcpu_bits) / 2, yi,
                             f"vm_id: {r.gatag_vm_id_bits} bits = {r.gatag_vm_id_mask:,} VM IDs",
                             ha="center", va="center", fontsize=8))
        texts.append(ax.text(32.4, yi, r.gatag_vcpu_field, va="center", fontsize=8))
    ax.set_yticks(y, [r.range_name for r in rs], fontsize=8)
    ax.set_xticks([0, 8, 9, 12, 16, 24, 32])
    ax.set_xlim(0, 36)
    ax.set_xlabel("GATag bit (vCPU field from bit 0 up, VM ID above it)")
    ax.set_title("GATag split per Linux release: 8/24, then 9/23 (v6.3), then 12/20 (v6.19); "
                 "right: what the vCPU field holds\n(v4.7 and v4.8 have no GATag: it came with "
                 "per-VM AVIC IDs, placed in v4.9, UNVERIFIED)", loc="left", fontsize=10)
    return {"vcpu": vcpu, "vm": vm, "texts": texts}


# ---- one tag, encoded and decoded ----------------------------------------------------------

@dataclass
class TagStoryArtists:
    """Text lines telling what KVM encodes, what the tag holds and what the GA-log handler wakes."""

    asked: Text
    tag: Text
    decoded: Text
    verdict: Text


def story_lines(tag: GATag) -> tuple[str, str, str, str, str]:
    """The decode story in words: what KVM encodes, the tag, what the GA-log handler decodes,
    the verdict, and the verdict's colour."""
    lost = tag.vcpu >> tag.vcpu_bits
    asked = (f"KVM encodes   VM ID {tag.vm_id}, {tag.vcpu_field} {tag.vcpu} "
             f"(0x{tag.vcpu:X}, needs {max(tag.vcpu.bit_length(), 1)} bits; field has {tag.vcpu_bits})")
    t = f"GATag         {tag.tag_hex}"
    dec = f"GA-log decode VM ID {tag.decoded_vm_id}, {tag.vcpu_field} {tag.decoded_vcpu}"
    if tag.lossless:
        verdict, colour = f"lossless: the wakeup reaches {tag.vcpu_field} {tag.vcpu}", PALETTE["green"]
    elif tag.decoded_vm_id != tag.vm_id and lost == 0:
        verdict = (f"LOSSY: VM ID {tag.vm_id} does not fit {tag.vm_id_bits} bits; "
                   f"KVM looks for VM {tag.decoded_vm_id} instead")
        colour = PALETTE["vermillion"]
    else:
        verdict = (f"LOSSY: bits above {tag.vcpu_bits - 1} were dropped: the wakeup for "
                   f"{tag.vcpu_field} {tag.vcpu} reaches {tag.vcpu_field} {tag.decoded_vcpu}")
        colour = PALETTE["vermillion"]
    return asked, t, dec, verdict, colour


def tag_story(tag: GATag, ax: Axes) -> TagStoryArtists:
    """Four text lines: what is asked for, the tag, what KVM decodes, and the verdict."""
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    kw = dict(family="monospace", fontsize=9, va="center", ha="left")
    arts = TagStoryArtists(ax.text(0.0, 0.85, "", **kw), ax.text(0.0, 0.62, "", **kw),
                           ax.text(0.0, 0.39, "", **kw),
                           ax.text(0.0, 0.13, "", fontweight="bold", **kw))
    update_tag_story(arts, tag)
    return arts


def update_tag_story(arts: TagStoryArtists, tag: GATag) -> None:
    """Show ``tag`` in already drawn story texts."""
    asked, t, dec, verdict, colour = story_lines(tag)
    arts.asked.set_text(asked)
    arts.tag.set_text(t)
    arts.decoded.set_text(dec)
    arts.verdict.set_text(verdict)
    arts.verdict.set_color(colour)


# ---- aliasing --------------------------------------------------------------------------------

@dataclass
class AliasingArtists:
    ax: Axes
    woken: Line2D       # which vCPU each vCPU's wakeup reaches
    aliased: Line2D     # the same, only where it is the wrong vCPU (NaN elsewhere)
    diagonal: Line2D    # the right answer: woken == target
    title: Text


def _alias_xy(al: Aliases) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = al.vcpu_ids.astype(float)
    y = al.woken.astype(float)
    bad = np.where(al.aliased, y, np.nan)
    return x, y, bad


def _alias_title(al: Aliases) -> str:
    n = al.vcpu_ids.size
    k = int(al.aliased.sum())
    return (f"{al.kernel.name}, {n} vCPUs, GATag vCPU field {al.kernel.gatag_vcpu_bits} bits "
            f"({al.kernel.gatag_vcpu_field}): {k} vCPU{'s' if k != 1 else ''} woken wrongly")


def aliasing_chart(al: Aliases, ax: Axes, title: str | None = None) -> AliasingArtists:
    """For each vCPU (x): the vCPU a GA-log wakeup for it reaches (y).  Wrong ones in vermillion.

    ``title`` is a fixed title instead of one that counts the aliased vCPUs of ``al``."""
    x, y, bad = _alias_xy(al)
    n = x.size
    (diag,) = ax.plot([0, max(n - 1, 1)], [0, max(n - 1, 1)], color=PALETTE["grey"], lw=4,
                      label="correct: wakes the target itself", zorder=1)
    (line,) = ax.plot(x, y, color=PALETTE["blue"], lw=1.2, marker=".", ms=3,
                      label="vCPU the GA-log handler wakes", zorder=2)
    (bad_line,) = ax.plot(x, bad, color=PALETTE["vermillion"], lw=2.0, marker=".", ms=4,
                          label="aliased: wakes another vCPU", zorder=3)
    ax.set_xlabel("target vCPU (vcpu_id) of the device interrupt")
    ax.set_ylabel("vCPU woken from the GA log")
    ax.legend(loc="upper left", fontsize=8, frameon=True)
    title_text = ax.set_title(_alias_title(al) if title is None else title, loc="left", fontsize=10)
    arts = AliasingArtists(ax, line, bad_line, diag, title_text)
    _alias_limits(arts, n)
    return arts


def alias_span(n: int) -> int:
    """How many vCPU numbers the aliasing chart's axes span for a VM of ``n`` vCPUs.

    At least ``n`` plus a sixteenth, rounded up to a multiple of 1/8 to 1/16 of it, so the
    axes stay put while a slider moves a few vCPUs either way (482..542 vCPUs all span 576).

    >>> [alias_span(n) for n in (1, 300, 481, 482, 511, 512, 542, 543, 4096)]
    [8, 320, 512, 576, 576, 576, 576, 640, 4608]
    """
    need = n + n // 16 + 1
    step = 1 << max(need.bit_length() - 4, 0)
    return max(8, -(-need // step) * step)


def _alias_limits(arts: AliasingArtists, n: int) -> None:
    top = max(n - 1, 1)
    span = alias_span(n)
    arts.ax.set_xlim(-0.5, span - 0.5)
    arts.ax.set_ylim(-1.5, span - 0.5)
    arts.diagonal.set_data([0, top], [0, top])
    ms = 3 if n <= 600 else 0
    arts.woken.set_markersize(ms)
    arts.aliased.set_markersize(ms + 1 if ms else 0)


def update_aliasing_chart(arts: AliasingArtists, al: Aliases, title: bool = True) -> None:
    """Show ``al`` in an already drawn aliasing chart; ``title=False`` leaves the title as it is."""
    x, y, bad = _alias_xy(al)
    arts.woken.set_data(x, y)
    arts.aliased.set_data(x, bad)
    if title:
        arts.title.set_text(_alias_title(al))
    _alias_limits(arts, x.size)


# ---- the trade-off -------------------------------------------------------------------------

def tradeoff_chart(ax: Axes, kernel: object = None) -> dict:
    """vCPU-field width vs what it buys (vCPU numbers per VM) and costs (VM IDs), log scale.

    Vertical lines mark the widths Linux used; ``kernel`` adds a marker for that release.
    """
    bits = np.arange(4, 17)
    vcpus = 2.0 ** bits
    vms = 2.0 ** (32 - bits) - 1
    (l1,) = ax.plot(bits, vcpus, color=field_colour("vcpu_id"), marker="o", ms=4,
                    label="vCPU numbers per VM: 2^bits")
    (l2,) = ax.plot(bits, vms, color=field_colour("vm_id"), marker="s", ms=4,
                    label="VM IDs: 2^(32 - bits) - 1")
    for b, name in SPLITS:
        ax.axvline(b, color=PALETTE["black"], lw=0.8, ls="--")
        left = b == 8  # 8 and 9 are neighbours: put the 8-bit label on the left of its line
        ax.text(b - 0.1 if left else b + 0.1, 2.0 ** 30,
                f"{name}\n{b}/{32 - b}: {2 ** b} vCPUs,\n{2 ** (32 - b) - 1:,} VM IDs",
                fontsize=7.5, va="top", ha="right" if left else "left")
    marker = None
    if kernel is not None:
        r = release(kernel)
        b = r.gatag_vcpu_bits
        (marker,) = ax.plot([b, b], [2.0 ** b, 2.0 ** (32 - b) - 1], ls="none", marker="*", ms=14,
                            color=PALETTE["vermillion"], label=f"{r.name}")
    ax.set_yscale("log", base=2)
    ax.set_ylim(8, 2.0 ** 31)
    ax.set_xticks(bits)
    ax.set_xlabel("bits given to the vCPU field of the 32-bit GATag")
    ax.set_ylabel("count (log scale)")
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    ax.set_title("The GATag trade-off: every vCPU bit halves the VM-ID space", loc="left", fontsize=10)
    return {"vcpus": l1, "vms": l2, "marker": marker}


# ---- VM-ID allocation -------------------------------------------------------------------------

@dataclass
class VMIDArtists:
    ax: Axes
    live: Line2D       # IDs of VMs still alive, by creation order
    dead: Line2D       # IDs of destroyed VMs
    old: Line2D        # long-lived VMs created before the counter came near the top (x < 0)
    labels: list       # a pool of ID labels (Annotations), one per point
    title: Text
    ceiling: Line2D | None = None    # the largest VM ID of the release (dashed)
    ceiling_label: Text | None = None


_MAX_LABELS = 48
_OLD_LABELS = 8
_ALL_LABELS = 16  # up to this many new VMs every ID is written out (vmid_labelled)
#: headroom above the release's largest VM ID, for the rotated labels of the top points
_VMID_HEADROOM = 64


def vmid_ticks(mask: int) -> list[int]:
    """y ticks of the VM-ID chart: 0, powers of 16 below the largest VM ID, and that ID.

    >>> vmid_ticks(0xFFFFF)
    [0, 16, 256, 4096, 65536, 1048575]
    >>> vmid_ticks(0x7FFFFF)[-2:]
    [1048576, 8388607]
    """
    return [0] + [16 ** k for k in range(1, 8) if 16 ** k < mask] + [mask]


def vmid_chart(ax: Axes, order: np.ndarray, ids: np.ndarray, alive: np.ndarray,
               old_ids: np.ndarray, mask: int, title: str = "", top: int | None = None) -> VMIDArtists:
    """VM IDs handed out, by creation order; hollow markers for destroyed VMs.

    ``old_ids`` are long-lived VMs that exist before the first new VM (drawn at x = -k .. -1).
    The y axis is linear up to 16 and logarithmic above, so IDs 1, 2, 3 and 1048575 all show; it
    ends just above ``top`` (default: the release's largest VM ID ``mask``, drawn as a dashed
    line).  A chart that shows several releases in turn passes the largest ``mask`` of them as
    ``top``: the axis then stays put and the releases' ID spaces compare on it.
    """
    (live,) = ax.plot([], [], ls="none", marker="o", ms=7, color=PALETTE["blue"], label="live VM")
    (dead,) = ax.plot([], [], ls="none", marker="o", ms=7, mfc="white", color=PALETTE["blue"],
                      label="destroyed VM (ID free again)")
    (old,) = ax.plot([], [], ls="none", marker="s", ms=7, color=PALETTE["purple"],
                     label="long-lived VM")
    labels = [ax.annotate("", (0, 0), xytext=(0, 7), textcoords="offset points", fontsize=7,
                          rotation=60, ha="left", va="bottom", visible=False, annotation_clip=False)
              for _ in range(_MAX_LABELS)]
    ax.set_yscale("symlog", linthresh=16, linscale=1.0)
    ax.set_xlabel("VM creation order (negative: long-lived VMs created long ago)")
    ax.set_ylabel("VM ID")
    ax.legend(loc="center right", fontsize=8, frameon=True)
    t = ax.set_title(title, loc="left", fontsize=10)
    ceiling = ax.axhline(mask, color=PALETTE["grey"], lw=0.9, ls="--", zorder=1)
    ceiling_label = ax.text(0.99, mask, "", transform=ax.get_yaxis_transform(), ha="right",
                            va="bottom", fontsize=7)
    arts = VMIDArtists(ax, live, dead, old, labels, t, ceiling, ceiling_label)
    update_vmid_chart(arts, order, ids, alive, old_ids, mask, title, top)
    return arts


def update_vmid_chart(arts: VMIDArtists, order: np.ndarray, ids: np.ndarray, alive: np.ndarray,
                      old_ids: np.ndarray, mask: int, title: str = "", top: int | None = None) -> None:
    """Show another allocation history in an already drawn chart (``top``: see :func:`vmid_chart`)."""
    # one release: ticks up to its largest VM ID; several: powers of 16 (each release's largest
    # ID is the dashed line)
    ticks = vmid_ticks(mask) if top is None else [0] + [16 ** k for k in range(1, 8) if 16 ** k <= top + 1]
    top = mask if top is None else top
    if top < mask:
        raise ValueError(f"top={top} is below the release's largest VM ID {mask}: valid range {mask}..")
    order = np.asarray(order, dtype=float)
    ids = np.asarray(ids, dtype=float)
    alive = np.asarray(alive, dtype=bool)
    old_ids = np.asarray(old_ids, dtype=float)
    arts.live.set_data(order[alive], ids[alive])
    arts.dead.set_data(order[~alive], ids[~alive])
    old_x = -np.arange(old_ids.size, 0, -1, dtype=float)
    arts.old.set_data(old_x, old_ids)
    # label slots: the first _OLD_LABELS for long-lived VMs, the rest for new ones, so that a
    # change of one group leaves the other's labels as they were (nothing to redraw there)
    shown = vmid_labelled(ids)
    slots = ([*zip(old_x, old_ids)][:_OLD_LABELS] + [None] * max(_OLD_LABELS - old_ids.size, 0)
             + [pt if keep else None for pt, keep in zip(zip(order, ids), shown)])
    for t, pt in zip(arts.labels, slots + [None] * len(arts.labels)):
        if pt is not None:
            t.xy = pt
            t.set_text(f"{int(pt[1]):,}")
        t.set_visible(pt is not None)
    arts.ax.set_xlim(*vmid_xlim(order.size, old_ids.size))
    # the y axis ends just above the largest VM ID it shows (room for the labels only)
    arts.ax.set_ylim(0, (top + 1) * _VMID_HEADROOM)
    arts.ax.set_yticks(ticks, [f"{v:,}" for v in ticks])
    if arts.ceiling is not None:
        arts.ceiling.set_ydata([mask, mask])
        arts.ceiling_label.set_y(mask)
        arts.ceiling_label.set_text(f"largest VM ID: {mask:,} (0x{mask:X})")
    arts.title.set_text(title)


def vmid_labelled(ids: np.ndarray) -> np.ndarray:
    """Which new VMs' IDs the chart writes out: all of them up to 16 VMs; beyond that the first
    and last VM of every run of consecutive IDs (where the counter wrapped or skipped IDs in use),
    which keeps 40 VMs readable.  The readout lists every ID.

    >>> vmid_labelled(np.array([5, 6, 7])).tolist()
    [True, True, True]
    >>> ids = np.r_[1048573:1048576, 4:21]  # 3 IDs before the wrap, 17 after
    >>> [int(i) for i in ids[vmid_labelled(ids)]]
    [1048573, 1048575, 4, 20]
    """
    ids = np.asarray(ids)
    if ids.size <= _ALL_LABELS:
        return np.ones(ids.size, dtype=bool)
    step = np.diff(ids) != 1
    return np.r_[True, step] | np.r_[step, True]


def vmid_xlim(new: int, old: int) -> tuple[float, float]:
    """x limits of the VM-ID chart for ``new`` new VMs and ``old`` long-lived ones.

    The limits move in steps (multiples of 10 new VMs, 4 long-lived VMs) so that a slider step
    rarely changes them: an unchanged axis lets the explorer redraw only the points.

    >>> vmid_xlim(8, 3), vmid_xlim(10, 0), vmid_xlim(11, 5)
    ((-5.0, 11.5), (-5.0, 11.5), (-9.0, 21.5))
    """
    right = max(-(-new // 10) * 10, 10)
    left = max(-(-old // 4) * 4, 4)
    return -left - 1.0, right + 1.5


# ---- static figures ------------------------------------------------------------------------

def _fig_releases() -> Figure:
    fig = new_figure(10.0, 6.6)
    axes = fig.subplots(3, 1)
    for ax, k in zip(axes, ("6.2", "6.3", "6.19")):
        t = encode(1, 300, k)
        r = t.kernel
        gatag_bits(t, ax, title=(
            f"Linux {k} ({r.range_name}): {t.vcpu_field} bits {t.vcpu_bits - 1}:0, vm_id bits "
            f"31:{t.vcpu_bits}; VM 1, vCPU 300 -> {t.tag_hex} -> decoded vCPU {t.decoded_vcpu}"))
    return fig


def _fig_splits() -> Figure:
    fig = new_figure(10.0, 4.0)
    splits_chart(fig.add_subplot())
    return fig


def _fig_aliasing() -> Figure:
    fig = new_figure(9.0, 4.2)
    aliasing_chart(aliases(512, "6.2"), fig.add_subplot())
    return fig


def _fig_tradeoff() -> Figure:
    fig = new_figure(9.0, 4.6)
    tradeoff_chart(fig.add_subplot())
    return fig


def _fig_vmid() -> Figure:
    from ..vmid import VMIDAllocator

    r = release("6.19")
    a = VMIDAllocator(r, next_vm_id=r.gatag_vm_id_mask - 3, wrapped=False, live=(1, 2, 3))
    ids = []
    for _ in range(8):
        a, v = a.create()
        ids.append(v)
    fig = new_figure(9.0, 4.2)
    vmid_chart(fig.add_subplot(), np.arange(1, 9), np.array(ids), np.ones(8, bool),
               np.array([1, 2, 3]), r.gatag_vm_id_mask,
               title="v6.19 (20-bit VM IDs): counter near 0xFFFFF, VMs 1-3 still alive: "
                     "after the wrap, 0 and the live IDs are skipped")
    return fig


def static_figures() -> dict:
    """Static figures of this topic: name -> (make_figure, alt text)."""
    return {
        "gatag_releases": (
            _fig_releases,
            "The GATag of VM 1, vCPU 300 on Linux 6.2, 6.3 and 6.19: the vCPU field grows from "
            "8 to 9 to 12 bits and the VM-ID field shrinks from 24 to 23 to 20 bits; on 6.2 the "
            "tag is 0x0000012C and decodes to vCPU 44, on 6.3 it is 0x0000032C.",
        ),
        "gatag_splits": (
            _fig_splits,
            "Horizontal bars, one per Linux release range, splitting the 32 GATag bits into the "
            "vCPU field and the VM-ID field: 8/24 up to 6.2, 9/23 from 6.3 to 6.18, 12/20 on 6.19; "
            "the field holds vcpu_id before 6.17 and vcpu_idx from 6.17.",
        ),
        "gatag_aliasing_62": (
            _fig_aliasing,
            "For a 512-vCPU VM on Linux 6.2: vCPUs 0 to 255 are woken correctly (on the diagonal) "
            "while a GA-log wakeup for vCPU 256 + k reaches vCPU k, a second sawtooth in vermillion.",
        ),
        "gatag_tradeoff": (
            _fig_tradeoff,
            "Log-scale chart of the GATag trade-off: as the vCPU field widens from 4 to 16 bits, "
            "the vCPU numbers per VM double per bit while the VM IDs halve; dashed lines at 8, 9 "
            "and 12 bits mark the splits Linux used.",
        ),
        "vmid_wrap": (
            _fig_vmid,
            "VM IDs handed out on Linux 6.19 when the counter is near its 20-bit top and VMs 1 to "
            "3 are still alive: new VMs get 1048573, 1048574, 1048575, then the counter wraps, "
            "skips 0 and the live IDs 1 to 3, and continues with 4, 5, 6, 7, 8.",
        ),
    }
