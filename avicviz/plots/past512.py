"""Past 512 vCPUs: how every vCPU's IPIs travel, release by release, and what that costs.

Three views, each a pure drawing function plus an ``update_*`` helper that moves the same
artists:

* :func:`vm_paths`: one image of a VM's vCPUs (cells = APIC IDs 0..4095, 128 per row, 512 per
  table page), coloured by the IPI path of :data:`avicviz.vm.IPI_PATHS`, with the max index
  drawn as a boundary and a title that says whether the VM starts and why AVIC is off;
* :func:`sweep_chart`: the share of IPIs that need no VM exit as the vCPU count sweeps
  1..4096, one line per modelled release range, plus the never-merged "partial AVIC" what-if
  from the Feb 2023 LKML thread as a dashed, labelled hypothetical;
* :func:`cost_chart`: expected cycles per IPI from ASSUMED per-path costs.  No AVIC latency has
  been published; the defaults borrow Intel's IPIv cover-letter numbers and say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.transforms import offset_copy

from ..cost import ASSUMED_COSTS, COST_SOURCE, expected_cost, report_cost
from ..releases import release, release_ranges
from ..vm import IPI_PATHS, Sweep, VMReport, simulate, sweep
from ._style import (PALETTE, PATH_COLOURS, RELEASE_COLOURS, cell_image, colour_cells, new_figure,
                     spread_labels)

__all__ = [
    "GRID_COLUMNS", "GRID_ROWS", "NO_VCPU", "PATH_LABELS", "ASSUMED_COSTS", "COST_SOURCE",
    "WHATIF_LABEL", "CODE_COLOURS", "VMPathArtists", "legend_entries", "path_grid", "vm_title", "vm_paths", "update_vm_paths", "show_codes",
    "SweepArtists", "all_sweeps", "sweep_fraction", "sweep_summary", "sweep_chart", "update_sweep_chart",
    "CostArtists", "cost_title", "sweep_title", "expected_cost", "report_cost", "cost_chart", "update_cost_chart", "cost_axis_top",
    "static_figures",
]

#: The per-VM image: 128 APIC IDs per row, 32 rows = 4096 ids; 4 rows = one 4 KiB table page.
GRID_COLUMNS = 128
GRID_ROWS = 32
#: Image code of an APIC ID no vCPU has (after the IPI_PATHS codes).
NO_VCPU = len(IPI_PATHS)

#: Legend text per path (kernel names where there is one).
PATH_LABELS = {
    "accelerated": "accelerated: IRR + doorbell, no exit",
    "target_not_running": "AVIC_INCOMPLETE_IPI, TARGET_NOT_RUNNING: KVM kicks",
    "invalid_target": "AVIC_INCOMPLETE_IPI, INVALID_TARGET: KVM emulates",
    "invalid_target_dropped": "INVALID_TARGET exit, not emulated (< v6.3)",
    "emulated": "AVIC off or inhibited: KVM emulates the APIC",
    "not_created": "VM does not start",
    "send_exits": "hybrid AVIC: the send exits",
}

#: Legend text of the what-if line.
WHATIF_LABEL = "what-if, not in any kernel: partial AVIC"

_WHATIF_COLOUR = "#555555"
_SHADE = PALETTE["yellow"]  # highlighted panel: 12% of Okabe-Ito yellow over white
_CODE = {p: i for i, p in enumerate(IPI_PATHS)}


# ---- (a) one VM ----------------------------------------------------------------------------

@dataclass
class VMPathArtists:
    """Artists of :func:`vm_paths`."""

    image: AxesImage
    boundary: Line2D     # the max index: APIC IDs after it are beyond the table
    boundary_label: Text
    legend: Legend | None
    title: Text
    pages: list[Line2D]  # white lines between table pages (drawn over the image)
    #: the code drawn for every APIC ID (see :func:`path_grid`); the image shows their colours
    codes: np.ndarray = field(default_factory=lambda: np.zeros((0, GRID_COLUMNS), np.int8))


def show_codes(arts: VMPathArtists, codes: np.ndarray) -> None:
    """Draw ``codes`` (a :func:`path_grid` array) in the image of ``arts``."""
    arts.image.set_data(colour_cells(codes, CODE_COLOURS))
    arts.codes = codes


def path_grid(report: VMReport) -> np.ndarray:
    """The IPI path code of every APIC ID 0..4095 as a GRID_ROWS x GRID_COLUMNS array.

    Codes index :data:`avicviz.vm.IPI_PATHS`; :data:`NO_VCPU` marks ids no vCPU has (topology
    holes, ids past the last vCPU).  APIC IDs above 4095 are not drawn.

    >>> g = path_grid(simulate(600, kernel="6.17"))
    >>> g.shape, IPI_PATHS[g[0, 0]], int(g[4, 87]), int(g[4, 88]) == NO_VCPU
    ((32, 128), 'emulated', 4, True)
    """
    codes = np.full(GRID_ROWS * GRID_COLUMNS, NO_VCPU, dtype=np.int8)
    ids = report.apic_ids
    shown = ids < codes.size
    codes[ids[shown]] = report.ipi_path[shown]
    return codes.reshape(GRID_ROWS, GRID_COLUMNS)


def vm_title(report: VMReport) -> str:
    """One-line verdict: size, release, CPU, guest mode, starts or not, AVIC on or why not.

    >>> vm_title(simulate(600, kernel="6.17"))
    '600 vCPUs on v6.17 (CPU x2avic, x2APIC guest): starts; AVIC INHIBITED by APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG'
    >>> vm_title(simulate(600, kernel="6.3"))
    '600 vCPUs on v6.3 (CPU x2avic, x2APIC guest): DOES NOT START (vCPU #512 fails)'
    """
    head = (f"{report.vcpus} vCPUs on {report.kernel.name} (CPU {report.cpu}, "
            f"{'x2APIC' if report.guest_apic == 'x2apic' else 'xAPIC'} guest"
            + (", partial-AVIC WHAT-IF" if report.policy == "partial-avic" else "") + ")")
    if not report.starts:
        return f"{head}: DOES NOT START (vCPU #{report.failing_vcpu} fails)"
    if not report.avic_enabled:
        return f"{head}: starts; AVIC OFF (kvm_amd avic=0)"
    if report.hybrid:
        return f"{head}: starts; hybrid AVIC (delivery accelerated, the sender's x2APIC writes exit)"
    if report.avic_active:
        return f"{head}: starts; AVIC active"
    return f"{head}: starts; AVIC INHIBITED by {', '.join(report.inhibit_reasons)}"


def legend_entries(report: VMReport) -> list[tuple[str, int]]:
    """(label, count) per image colour, in code order: vCPUs per IPI path, then unused APIC IDs
    below the highest one (topology holes).

    >>> legend_entries(simulate(topology="sockets=3,cores=160"))[-1]
    ('no vCPU with this APIC ID (ids below the highest)', 192)
    """
    counts = report.path_counts()
    out = [(PATH_LABELS[p], counts[p]) for p in IPI_PATHS]
    holes = int(min(report.max_apic_id + 1, GRID_ROWS * GRID_COLUMNS) - (report.apic_ids < 4096).sum())
    out.append(("no vCPU with this APIC ID (ids below the highest)", holes))
    return out


#: Colour of each image code (IPI_PATHS order, then NO_VCPU).
CODE_COLOURS = [PATH_COLOURS[p] for p in IPI_PATHS] + [PALETTE["light"]]


def _boundary_xy(max_index: int) -> tuple[list[float], list[float]]:
    """Outline between APIC ID ``max_index`` and the next one, in image coordinates."""
    last = GRID_ROWS * GRID_COLUMNS - 1
    if max_index >= last:
        y = GRID_ROWS - 0.5
        return [-0.5, GRID_COLUMNS - 0.5], [y, y]
    r, c = divmod(max_index, GRID_COLUMNS)
    if c == GRID_COLUMNS - 1:
        return [-0.5, GRID_COLUMNS - 0.5], [r + 0.5, r + 0.5]
    return ([-0.5, c + 0.5, c + 0.5, GRID_COLUMNS - 0.5], [r + 0.5, r + 0.5, r - 0.5, r - 0.5])


def vm_paths(report: VMReport, ax: Axes, legend: bool = True, title: str | None = None) -> VMPathArtists:
    """Draw every vCPU of ``report`` as one cell coloured by its IPI path; returns the artists.

    ``legend=False`` leaves the legend out (explorers show it as HTML, which redraws faster).
    ``title`` is a fixed title instead of :func:`vm_title` (explorers say the verdict in their
    readout: a sentence re-rendered on every change is slow, see :func:`update_vm_paths`).
    """
    codes = path_grid(report)
    image = cell_image(ax, colour_cells(codes, CODE_COLOURS))
    pages = [ax.axhline(page * 4 - 0.5, color="white", lw=1.2)
             for page in range(1, GRID_ROWS * GRID_COLUMNS // 512)]
    ax.set_yticks([p * 4 - 0.5 for p in range(8)],
                  [f"{p * 512} (page {p})" for p in range(8)], fontsize=7)
    ax.set_xticks([-0.5, 31.5, 63.5, 95.5], ["+0", "+32", "+64", "+96"], fontsize=7)
    ax.set_xlabel("APIC ID = row start + column (128 ids a row; 512 ids = one 4 KiB table page)",
                  fontsize=8, loc="left")
    boundary, = ax.plot([], [], color=PALETTE["black"], lw=2)
    boundary_label = ax.text(1.0, -0.07, "", transform=ax.transAxes, ha="right", va="top",
                             fontsize=8, color=PALETTE["black"], fontweight="bold")
    handles = [Patch(facecolor=PATH_COLOURS[p], label=PATH_LABELS[p]) for p in IPI_PATHS]
    handles.append(Patch(facecolor=PALETTE["light"], edgecolor=PALETTE["grey"], label="no vCPU with this APIC ID"))
    leg = None
    if legend:
        leg = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                        frameon=False, title="IPI to this vCPU (count)", title_fontsize=8)
    title_text = ax.set_title(title or "", loc="left", fontsize=9)
    arts = VMPathArtists(image, boundary, boundary_label, leg, title_text, pages, codes)
    update_vm_paths(arts, report, title=title is None)
    return arts


def update_vm_paths(arts: VMPathArtists, report: VMReport, title: bool = True) -> None:
    """Show another VM in the same artists; ``title=False`` leaves the title as it is."""
    show_codes(arts, path_grid(report))
    if report.max_index is None:  # kvm_amd avic=0: no physical APIC ID table at all
        arts.boundary.set_data([], [])
        arts.boundary_label.set_text("AVIC off (avic=0): no physical APIC ID table")
    else:
        arts.boundary.set_data(*_boundary_xy(report.max_index))
        arts.boundary_label.set_text(f"black line: max index 0x{report.max_index:X} "
                                     f"({report.table_pages} table page{'s' if report.table_pages > 1 else ''})")
    if arts.legend is not None:
        texts = arts.legend.get_texts()
        for i, (label, n) in enumerate(legend_entries(report)):
            texts[i].set_text(f"{label} ({n})")
    if title:
        arts.title.set_text(vm_title(report))


# ---- (b) the sweep over vCPU counts --------------------------------------------------------

@dataclass
class SweepArtists:
    """Artists of :func:`sweep_chart`: one small panel per release range, side by side."""

    axes: list[Axes]
    lines: list[Line2D]       # one per release range
    whatifs: list[Line2D]     # the dashed what-if line of each panel (hidden when off)
    ends: list[Text]          # per panel: where the VM stops starting / AVIC stops
    title: Text
    counts: np.ndarray
    shades: list[Rectangle] = field(default_factory=list)  # per panel: tint of the highlighted one
    panel_titles: list[Text] = field(default_factory=list)  # per panel: its release range


def all_sweeps(cpu: str = "x2avic", guest_apic: str = "x2apic", policy: str = "kernel",
               max_vcpus: int = 4096) -> list[Sweep]:
    """:func:`avicviz.vm.sweep` for every modelled release range (each up to its vCPU-ID limit).

    >>> [s.kernel.name for s in all_sweeps()][:3], int(all_sweeps()[0].counts[-1])
    (['v4.7', 'v4.8', 'v4.9'], 1023)
    """
    return [sweep(r, cpu, guest_apic, max_vcpus=min(max_vcpus, r.vcpu_id_limit()), policy=policy)
            for r in release_ranges()]


def sweep_fraction(s: Sweep, max_vcpus: int = 4096) -> np.ndarray:
    """Share of IPIs (uniformly random target) needing no VM exit, for counts 1..max_vcpus.

    NaN where the VM does not start (so the line stops there), 0 where AVIC is inhibited.

    >>> f = sweep_fraction(sweep("6.17")); float(f[511]), float(f[512])
    (1.0, 0.0)
    >>> f = sweep_fraction(sweep("6.3")); float(f[511]), bool(np.isnan(f[512]))
    (1.0, True)
    """
    out = np.full(max_vcpus, np.nan)
    n = min(max_vcpus, s.counts.size)
    frac = s.accelerated_fraction[:n].astype(float)
    out[:n] = np.where(s.starts[:n], frac, np.nan)
    return out


def sweep_summary(s: Sweep) -> str:
    """Short text: the largest VM that starts, and the largest with AVIC fully on.

    >>> sweep_summary(sweep("6.3"))
    'starts up to 512; all IPIs accelerated up to 512'
    >>> sweep_summary(sweep("6.17"))
    'starts up to 1024; all IPIs accelerated up to 512'
    """
    starts = np.flatnonzero(s.starts)
    full = np.flatnonzero(s.starts & (s.accelerated == s.counts))
    a = f"starts up to {int(s.counts[starts[-1]])}" if starts.size else "never starts"
    if not full.size:
        return a + "; no IPI accelerated"
    return a + f"; all IPIs accelerated up to {int(s.counts[full[-1]])}"


def _panel_grid(n: int) -> tuple[int, int]:
    cols = 3
    return (n + cols - 1) // cols, cols


def sweep_chart(sweeps: Sequence[Sweep], fig: Figure, whatifs: Sequence[Sweep] | None = None,
                highlight: str | None = None, max_vcpus: int = 4096,
                summaries: bool = True, title: str | None = None) -> SweepArtists:
    """Small multiples, one panel per release range: share of IPIs with no VM exit vs vCPU count.

    ``whatifs`` (one per release, policy "partial-avic") adds the dashed what-if line to each
    panel.  ``summaries=False`` leaves out each panel's text (explorers show a table instead,
    which redraws faster); ``title`` is a fixed title instead of :func:`sweep_title`.  Draws into
    ``fig`` (which should be empty).
    """
    counts = np.arange(1, max_vcpus + 1)
    rows, cols = _panel_grid(len(sweeps))
    grid = fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False)
    axes, lines, whatifs_l, ends, shades, panel_titles = [], [], [], [], [], []
    for i, s in enumerate(sweeps):
        ax = grid[i // cols][i % cols]
        line, = ax.plot(counts, np.full(max_vcpus, np.nan), color=RELEASE_COLOURS[i % len(RELEASE_COLOURS)],
                        lw=2.4, label="Linux (kernel rule)")
        w, = ax.plot(counts, np.full(max_vcpus, np.nan), color=_WHATIF_COLOUR, lw=1.6,
                     ls=(0, (3, 2)), label=WHATIF_LABEL)
        for x in (256, 512):
            ax.axvline(x, color=PALETTE["grey"], lw=0.7, ls=":")
        panel_titles.append(ax.set_title(s.kernel.range_name, loc="left", fontsize=9,
                                         color=PALETTE["black"]))
        # the highlight tints the whole panel: a translucent patch over it, so that changing the
        # highlighted release changes two patches, not the axes' background (a full redraw)
        shades.append(ax.add_patch(Rectangle((0, 0), 1, 1, transform=ax.transAxes, facecolor=_SHADE,
                                             alpha=0.12, lw=0, zorder=0.5, visible=False)))
        ends.append(ax.text(0.03, 0.4, "", transform=ax.transAxes, ha="left", va="center", fontsize=7,
                            visible=summaries))
        ax.set_xscale("log", base=2)
        ax.set_xlim(1, max_vcpus)
        ax.set_ylim(-0.05, 1.08)
        ax.grid(alpha=0.3)
        axes.append(ax)
        lines.append(line)
        whatifs_l.append(w)
    for j in range(len(sweeps), rows * cols):
        grid[j // cols][j % cols].set_axis_off()
    for ax in grid[-1]:
        ax.set_xticks([1, 8, 64, 512, 4096], ["1", "8", "64", "512", "4096"])
    for r in range(rows):
        grid[r][0].set_ylabel("no-exit share", fontsize=8)
    # the x label sits under the middle panel of the bottom row, so the legend can go below it
    grid[-1][cols // 2].set_xlabel("vCPUs in the VM (APIC IDs 0..n-1); a line that ends = the VM "
                                   "no longer starts", fontsize=9)
    # one legend for the figure, below the panels: inside a panel it would hide lines at 0 or 1
    fig.legend(handles=[Line2D([], [], color=PALETTE["grey"], lw=2.4,
                               label="Linux (kernel rule); one colour per release"),
                        Line2D([], [], color=_WHATIF_COLOUR, lw=1.6, ls=(0, (3, 2)), label=WHATIF_LABEL)],
               loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    title_text = fig.suptitle(title or "", fontsize=10, x=0.01, ha="left")
    arts = SweepArtists(axes, lines, whatifs_l, ends, title_text, counts, shades, panel_titles)
    update_sweep_chart(arts, sweeps, whatifs, highlight, title=title is None)
    return arts


def sweep_title(sweeps: Sequence[Sweep], whatifs: Sequence[Sweep] | None = None) -> str:
    """The sweep chart's two-line title: CPU, guest mode, what is shown, what is assumed.

    >>> print(sweep_title(all_sweeps()))
    CPU x2avic, x2APIC guest: share of IPIs to a random vCPU that need no VM exit
    assumed: kvm_amd avic=1, KVM_MAX_VCPUS: each release's default
    """
    s0 = sweeps[0]
    what = "; dashed: " + WHATIF_LABEL if whatifs is not None else ""
    kmax = ("KVM_MAX_VCPUS: each release's default" if s0.kvm_max_vcpus_default
            else f"KVM_MAX_VCPUS {s0.kvm_max_vcpus}")
    avic = {"on": "avic=1", "off": "avic=0", "default": "avic: each release's default"}[s0.avic_requested]
    return (f"CPU {s0.cpu}, {'x2APIC' if s0.guest_apic == 'x2apic' else 'xAPIC'} guest: "
            f"share of IPIs to a random vCPU that need no VM exit{what}\n"
            f"assumed: kvm_amd {avic}, {kmax}")


def update_sweep_chart(arts: SweepArtists, sweeps: Sequence[Sweep],
                       whatifs: Sequence[Sweep] | None = None, highlight: str | None = None,
                       title: bool = True, bold: bool = True) -> None:
    """New sweeps (one per panel), optional what-if sweeps, optional highlighted release.

    ``title=False`` leaves the title as it is; ``bold=False`` leaves the panels' titles as they
    are (an explorer marks the highlighted one itself, see ``SweepExplorer``)."""
    n = arts.counts.size
    hi = release(highlight).range_name if highlight else None
    for i, s in enumerate(sweeps):
        line = arts.lines[i]
        line.set_ydata(sweep_fraction(s, n))
        on = hi is None or s.kernel.range_name == hi
        line.set_alpha(1.0 if on else 0.35)
        line.set_linewidth(3.2 if hi is not None and on else 2.4)
        if bold:
            arts.panel_titles[i].set_fontweight("bold" if hi is not None and on else "normal")
        arts.shades[i].set_visible(hi is not None and on)
        w = arts.whatifs[i]
        if whatifs is None:
            w.set_ydata(np.full(n, np.nan))
            w.set_visible(False)
        else:
            w.set_ydata(sweep_fraction(whatifs[i], n))
            w.set_visible(True)
        arts.ends[i].set_text(sweep_summary(s).replace("; ", "\n"))
    if title:
        arts.title.set_text(sweep_title(sweeps, whatifs))


# ---- (c) cost ------------------------------------------------------------------------------

@dataclass
class CostArtists:
    """Artists of :func:`cost_chart`."""

    line: Line2D
    whatif: Line2D
    marker: Line2D
    levels: dict[str, Line2D]
    level_texts: dict[str, Text]
    title: Text
    counts: np.ndarray
    marker_text: Text | None = None  # the marked VM's size and expected cost, beside the marker


#: The level labels sit right of the chart, at their costs' heights (outside the area the lines
#: draw in, so a change that moves a line leaves them alone), at least this far apart (points).
_LEVEL_GAP_PT = 12.0
#: Top of the legend under them, in points above the x axis (three rows at 7 points, 35 points
#: tall, 3.5 points above the axis): the labels stay above it.
_LEGEND_PT = 40.0
_LEVEL_NAMES = {"accelerated": "accelerated IPI", "incomplete_ipi": "incomplete-IPI exit",
                "emulated": "emulated IPI"}


def cost_title(s: Sweep) -> str:
    """The cost chart's first title line: release, CPU, KVM_MAX_VCPUS (the second is
    :data:`COST_SOURCE`).

    >>> cost_title(sweep("6.17"))[:49]
    'Expected IPI latency on v6.17, CPU x2avic (IPIs t'
    """
    return (f"Expected IPI latency on {s.kernel.range_name}, CPU {s.cpu} (IPIs to a "
            f"random vCPU; {s.kvm_max_vcpus_text})")


def cost_chart(s: Sweep, ax: Axes, costs: Mapping[str, float] | None = None,
               whatif: Sweep | None = None, vcpus: int = 600, max_vcpus: int = 4096,
               title: str | None = None) -> CostArtists:
    """Expected cycles per IPI vs vCPU count on one release, from ASSUMED per-path costs.

    ``title`` is a fixed title instead of :func:`cost_title` and :data:`COST_SOURCE`."""
    counts = np.arange(1, max_vcpus + 1)
    # fixed legend labels (the release and CPU are in the title): the legend never changes
    line, = ax.plot(counts, np.full(max_vcpus, np.nan), color=PALETTE["blue"], lw=2.2,
                    label="Linux (kernel rule)")
    whatif_line, = ax.plot(counts, np.full(max_vcpus, np.nan), color=_WHATIF_COLOUR, lw=1.6,
                           ls=(0, (4, 2.5)), label=WHATIF_LABEL)
    marker, = ax.plot([], [], "o", color=PALETTE["vermillion"], ms=8, zorder=10,
                      label="the VM of the vCPUs slider")
    marker_text = ax.annotate("", (1, 0), xytext=(0, 9), textcoords="offset points", ha="center",
                              va="bottom", fontsize=8, color=PALETTE["vermillion"], zorder=11,
                              annotation_clip=False)
    levels, level_texts = {}, {}
    beside = offset_copy(ax.transAxes, fig=ax.figure, x=8, units="points")
    colours = {"accelerated": PALETTE["green"], "incomplete_ipi": PALETTE["orange"],
               "emulated": PALETTE["vermillion"]}
    for k in ("accelerated", "incomplete_ipi", "emulated"):
        levels[k] = ax.axhline(0, color=colours[k], lw=0.9, ls=":")
        level_texts[k] = ax.text(1.0, 0, "", color=colours[k], fontsize=7, va="center",
                                 transform=beside, clip_on=False, in_layout=False)
    ax.set_xscale("log", base=2)
    ax.set_xlim(1, max_vcpus)
    ax.set_xticks([1, 8, 64, 512, 4096], ["1", "8", "64", "512", "4096"])
    ax.set_xlabel("vCPUs in the VM (APIC IDs 0..n-1)")
    ax.set_ylabel("expected cycles per IPI (ASSUMED costs)")
    ax.grid(alpha=0.3)
    ax.legend(handles=[line, whatif_line, marker], loc="lower left", bbox_to_anchor=(1.01, 0.0),
              fontsize=7, frameon=False)
    title_text = ax.set_title(title or "", loc="left", fontsize=9)
    arts = CostArtists(line, whatif_line, marker, levels, level_texts, title_text, counts, marker_text)
    update_cost_chart(arts, s, costs, whatif, vcpus, title=title is None)
    return arts


def cost_axis_top(top: float) -> float:
    """Top of the cost chart's y axis for a largest cost ``top``: at least 10% above it, on a
    round value (1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten), so that the axis (and
    its ticks) stays put while a cost slider moves a little.

    >>> cost_axis_top(4338), cost_axis_top(4339), cost_axis_top(3645), cost_axis_top(20000)
    (5000.0, 5000.0, 5000.0, 25000.0)
    """
    if not top > 0:
        raise ValueError(f"top={top!r} is not a positive cost")
    need = top * 1.1
    scale = 10.0 ** np.floor(np.log10(need))
    return float(next(m * scale for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * scale >= need))


def update_cost_chart(arts: CostArtists, s: Sweep, costs: Mapping[str, float] | None = None,
                      whatif: Sweep | None = None, vcpus: int = 600, title: bool = True) -> None:
    """New release / costs / what-if / marked vCPU count, in the same artists (``title=False``
    leaves the title as it is)."""
    c = dict(ASSUMED_COSTS)
    c.update(costs or {})
    n = arts.counts.size
    y = expected_cost(s, c["accelerated"], c["incomplete_ipi"], c["emulated"], n)
    arts.line.set_ydata(y)
    if whatif is None:
        arts.whatif.set_ydata(np.full(n, np.nan))
        arts.whatif.set_visible(False)
    else:
        arts.whatif.set_ydata(expected_cost(whatif, c["accelerated"], c["incomplete_ipi"], c["emulated"], n))
        arts.whatif.set_visible(True)
    v = int(vcpus)
    yv = y[v - 1] if 1 <= v <= n else np.nan
    arts.marker.set_data([v], [yv])
    if arts.marker_text is not None:
        # where the VM does not start there is no dot: the text sits on the axis instead
        arts.marker_text.xy = (min(max(v, 1), n), 0.0 if np.isnan(yv) else yv)
        arts.marker_text.set_text(f"{v} vCPUs: " + ("VM does not start" if np.isnan(yv)
                                                     else f"{yv:.0f} cycles/IPI"))
        # near the right edge the text extends to the left of the marker
        arts.marker_text.set_horizontalalignment("right" if v > n / 4 else "left")
    ax = arts.line.axes
    top = cost_axis_top(max(c.values()))
    # label heights as fractions of the axes (the same at any dpi), apart by a label's height
    tall = ax.get_position().height * ax.figure.get_figheight() * 72.0
    gap = _LEVEL_GAP_PT / tall
    heights = spread_labels([c[k] / top for k in arts.levels], gap, _LEGEND_PT / tall + gap / 2, 1.0)
    # on whole points: a label moves only when its place changes by a point or more (a group of
    # labels moves by a third of a cost change; the labels are drawn again only when they move)
    heights = np.round(heights * tall) / tall
    for (k, line), y in zip(arts.levels.items(), heights):
        line.set_ydata([c[k], c[k]])
        arts.level_texts[k].set_position((1.0, y))
        arts.level_texts[k].set_text(f"{_LEVEL_NAMES[k]}: {c[k]:.0f}")
    ax.set_ylim(0, top)
    if title:
        arts.title.set_text(f"{cost_title(s)}\n{COST_SOURCE}")


# ---- static figures ------------------------------------------------------------------------

def _fig_vm(kernel: str, cpu: str = "x2avic") -> Callable[[], Figure]:
    def make() -> Figure:
        fig = new_figure(11.5, 4.6)
        vm_paths(simulate(600, kernel=kernel, cpu=cpu), fig.add_subplot())
        return fig
    return make


def _fig_topology() -> Figure:
    fig = new_figure(11.5, 4.6)
    vm_paths(simulate(topology="sockets=3,cores=160,threads=1", kernel="6.17"), fig.add_subplot())
    return fig


def _fig_sweep() -> Figure:
    fig = new_figure(11.0, 6.4)
    sweep_chart(all_sweeps(), fig, whatifs=all_sweeps(policy="partial-avic"))
    return fig


def _fig_cost() -> Figure:
    fig = new_figure(11.0, 4.4)
    cost_chart(sweep("6.17"), fig.add_subplot(), whatif=sweep("6.17", policy="partial-avic"), vcpus=600)
    return fig


def static_figures() -> dict[str, tuple[Callable[[], Figure], str]]:
    """Static figures of notebook 03 (name -> (draw, alt text))."""
    return {
        "past512_vm_600_63": (
            _fig_vm("6.3"),
            "Grid of APIC IDs 0 to 4095 for a 600-vCPU VM on Linux 6.3 with an x2AVIC CPU: every "
            "cell is grey because KVM_CREATE_VCPU fails for vCPU 512, so the VM does not start; "
            "a black line marks the max index 0x1FF after the first 512 ids."),
        "past512_vm_600_617": (
            _fig_vm("6.17"),
            "Grid of APIC IDs for a 600-vCPU VM on Linux 6.17: the VM starts, but all 600 cells "
            "are red because APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG turns AVIC off for the "
            "whole VM and KVM emulates every IPI."),
        "past512_vm_600_619_ext": (
            _fig_vm("6.19", "x2avic-ext"),
            "Grid of APIC IDs for a 600-vCPU VM on Linux 6.19 with an X2AVIC_EXT CPU: all 600 "
            "cells are green (accelerated), the max index is 0xFFF and the table spans 8 pages."),
        "past512_topology_480": (
            _fig_topology,
            "Grid of APIC IDs for QEMU -smp 480,sockets=3,cores=160 on Linux 6.17: each socket "
            "starts at a multiple of 256, leaving holes, so the highest APIC ID is 671, past the "
            "512-entry table, and AVIC is inhibited for all 480 vCPUs."),
        "past512_sweep": (
            _fig_sweep,
            "Line chart of the share of IPIs needing no VM exit versus vCPU count from 1 to 4096 "
            "on an x2AVIC CPU with kvm_amd avic=1 and each release's default KVM_MAX_VCPUS, one "
            "panel per Linux release range: lines end where the VM stops starting (255 or 512 "
            "vCPUs, or 1024 = KVM_MAX_VCPUS) or drop to zero past 512 on 6.17 and later; up to "
            "5.6 the x2APIC guest runs xAPIC (share 1), on 5.7 to 5.19 AVIC is inhibited (share "
            "0); a dashed what-if line for partial AVIC falls slowly as 512 over n."),
        "past512_cost": (
            _fig_cost,
            "Line chart of expected cycles per IPI versus vCPU count on Linux 6.17 with assumed "
            "costs borrowed from Intel IPIv numbers (3645 accelerated, 4338 with an exit): flat "
            "at 3645 up to 512 vCPUs, then a jump to 4338 when AVIC is inhibited, ending at 1024 "
            "vCPUs (the default KVM_MAX_VCPUS); the dashed partial-AVIC what-if rises gradually "
            "instead."),
    }
