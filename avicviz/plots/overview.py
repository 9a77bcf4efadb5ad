"""One diagram of every AVIC piece and how an interrupt travels between them.

Two paths share the same target: an IPI from a sending vCPU (through the logical and physical
APIC ID tables) and a device interrupt (through the IOMMU's IRTE).  Both set an IRR bit in the
target's vAPIC backing page, then either ring the doorbell of the pCPU running the target or,
when the target is not running, hand over to KVM so it can wake it.
"""

from __future__ import annotations

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from ._style import PALETTE, new_figure

__all__ = ["BOXES", "ARROWS", "overview", "static_figures"]

#: name -> (centre x, centre y, text, colour).  Coordinates in a 12 x 8.6 canvas.
BOXES = {
    "vcpu": (1.6, 7.3, "sending vCPU\n(guest writes the ICR)", PALETTE["orange"]),
    "logical": (6.2, 7.3, "logical APIC ID table\n(per VM, xAVIC only, u32 entries)", PALETTE["purple"]),
    "physical": (10.8, 7.3, "physical APIC ID table\n(per VM, u64 entry per APIC ID:\n"
                            "host APIC ID, backing page,\nIsRunning, Valid)", PALETTE["green"]),
    "backing": (6.2, 4.3, "target's vAPIC backing page\n(4 KiB per vCPU; IRR at 0x200)", PALETTE["sky"]),
    "doorbell": (10.8, 4.3, "doorbell MSR 0xC001_011B\npCPU running the target\nre-reads IRR: no VM exit",
                 PALETTE["green"]),
    "device": (1.6, 4.3, "device\n(MSI / MSI-X)", PALETTE["grey"]),
    "irte": (1.6, 1.3, "IOMMU IRTE, GA mode (128 bits)\nvector, backing page, IsRun,\nGALogIntr, 32-bit GATag",
             PALETTE["yellow"]),
    "galog": (6.2, 1.3, "GA log (IOMMU ring)\nentries carry the GATag", PALETTE["yellow"]),
    "kvm": (10.8, 1.3, "KVM: GA-log handler /\nAVIC_INCOMPLETE_IPI exit\nwakes or kicks the vCPU",
            PALETTE["vermillion"]),
}

#: (from, to, label, connection style, dashed?, label position or None for the midpoint,
#:  start/end override or None for the box edges facing each other)
ARROWS = [
    ("vcpu", "logical", "logical\ndestination\n(xAVIC)", "arc3,rad=0", False, None, None),
    ("logical", "physical", "guest\nphysical\nAPIC ID", "arc3,rad=0", False, None, None),
    ("vcpu", "physical", "physical destination: index = guest APIC ID", "arc3,rad=-0.12", False,
     (6.2, 8.55), ((1.6, 8.05), (10.8, 8.05))),
    ("physical", "backing", "Valid: set the vector's\nIRR bit", "arc3,rad=0", False, None, None),
    ("physical", "doorbell", "IsRunning = 1:\nring host APIC ID", "arc3,rad=0", False, None, None),
    ("physical", "kvm", "IsRunning = 0:\n#VMEXIT\nAVIC_INCOMPLETE_IPI", "arc3,rad=-0.3", False,
     (13.2, 4.3), ((12.3, 7.0), (12.3, 1.6))),
    ("device", "irte", "interrupt\nremapping", "arc3,rad=0", False, None, None),
    ("irte", "backing", "GuestMode:\nset IRR", "arc3,rad=0", False, None, None),
    ("irte", "galog", "IsRun = 0 and\nGALogIntr = 1:\nlog the GATag", "arc3,rad=0", False, None, None),
    ("galog", "kvm", "GA-log interrupt:\ndecode GATag\n-> VM ID + vCPU", "arc3,rad=0", False, None, None),
    ("kvm", "backing", "woken vCPU's next\nVMRUN picks up IRR", "arc3,rad=0.0", True, None, None),
]

_W, _H = 3.0, 1.45


def _edge(name: str, toward: str) -> tuple[float, float]:
    """Point on the border of box ``name`` facing box ``toward``."""
    x, y = BOXES[name][:2]
    tx, ty = BOXES[toward][:2]
    dx, dy = tx - x, ty - y
    if dx == 0 and dy == 0:
        return x, y
    sx = (_W / 2) / abs(dx) if dx else float("inf")
    sy = (_H / 2) / abs(dy) if dy else float("inf")
    s = min(sx, sy)
    return x + dx * s, y + dy * s


def overview(ax: Axes) -> dict:
    """Draw the AVIC pieces as labelled boxes joined by labelled arrows; returns the artists."""
    boxes, texts, arrows = {}, {}, []
    for name, (x, y, text, colour) in BOXES.items():
        p = FancyBboxPatch((x - _W / 2, y - _H / 2), _W, _H, boxstyle="round,pad=0.05,rounding_size=0.15",
                           facecolor=colour, alpha=0.35, edgecolor=colour, linewidth=1.5)
        ax.add_patch(p)
        boxes[name] = p
        texts[name] = ax.text(x, y, text, ha="center", va="center", fontsize=8.5)
    for a, b, label, style, dashed, at, ends in ARROWS:
        start, end = ends if ends else (_edge(a, b), _edge(b, a))
        ann = ax.annotate("", xy=end, xytext=start,
                          arrowprops=dict(arrowstyle="-|>", color=PALETTE["black"], lw=1.2,
                                          connectionstyle=style, linestyle="--" if dashed else "-",
                                          shrinkA=2, shrinkB=2))
        mx, my = at if at else ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        lab = ax.text(mx, my, label, ha="center", va="center", fontsize=7.5,
                      bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor="none", alpha=0.9))
        arrows.append((ann, lab))
    ax.set_xlim(-0.1, 14.1)  # room right of the boxes for the IsRunning = 0 label
    ax.set_ylim(0.4, 9.35)
    ax.set_axis_off()
    ax.set_title("AVIC: the pieces an interrupt passes through (IPI on top, device interrupt below)",
                 loc="left", fontsize=10)
    return {"boxes": boxes, "texts": texts, "arrows": arrows}


def _fig_overview() -> Figure:
    fig = new_figure(11.0, 7.0)
    overview(fig.add_subplot())
    return fig


def static_figures() -> dict:
    """Static figures of this topic: name -> (make_figure, alt text)."""
    return {
        "avic_overview": (
            _fig_overview,
            "Diagram of AVIC: a sending vCPU's IPI goes through the logical APIC ID table (xAVIC "
            "only) to the physical APIC ID table, which sets the IRR bit in the target's vAPIC "
            "backing page and rings the doorbell if IsRunning is 1, or exits to KVM "
            "(AVIC_INCOMPLETE_IPI) if not; a device interrupt goes through the IOMMU IRTE in GA "
            "mode, which sets IRR and either rings the doorbell or writes the GATag into the GA "
            "log, from which KVM decodes the VM ID and vCPU and wakes it.",
        ),
    }
