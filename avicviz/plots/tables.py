"""The physical APIC ID table as one coloured grid, its 64-bit entry, and the max index per release.

One 4 KiB page holds 512 eight-byte entries; the grid draws each page as 16 rows of 32 entries,
pages stacked top to bottom (v6.19 tables on X2AVIC_EXT CPUs have up to 8 pages).  Entry ``i``
sits in row ``i // 32``, column ``i % 32``.  The whole table is ONE image (a :class:`CellImage`), so an
8-page table costs no more artists than a 1-page one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from ..bitfield import Layout
from ..layouts import ENTRIES_PER_PAGE, physical_entry_layout
from ..releases import release, release_ranges
from ..tables import HW_MAX_INDEX, PhysicalTable, encode_entry, physical_table
from ._style import PALETTE, STATE_COLOURS, STATE_LABELS, cell_image, colour_cells, new_figure
from .bits import BitFieldArtists, bitfield, update_bitfield

__all__ = [
    "COLUMNS",
    "ROWS_PER_PAGE",
    "PhysicalGridArtists",
    "physical_grid",
    "update_physical_grid",
    "boundary_xy",
    "SwitchableBitField",
    "max_index_chart",
    "running_mask",
    "DEFAULT_RUNNING_PERCENT",
    "static_figures",
]

#: Entries per grid row, and rows per 4 KiB page (32 x 16 = 512).
COLUMNS = 32
ROWS_PER_PAGE = ENTRIES_PER_PAGE // COLUMNS

_STATE_COLOURS = [STATE_COLOURS[k] for k in sorted(STATE_COLOURS)]


@dataclass
class PhysicalGridArtists:
    """The artists of a drawn physical table (updated in place by :func:`update_physical_grid`)."""

    ax: Axes
    image: AxesImage
    boundary: Line2D        # staircase just after the max index
    page_lines: LineCollection
    title: Text
    legend: object
    #: the state of every entry as drawn: rows x 32 (0 empty, 1 valid, 2 + IsRunning, 3 beyond
    #: the max index); the image shows their colours
    states: np.ndarray = field(default_factory=lambda: np.zeros((0, COLUMNS), np.int8))


def _grid(table: PhysicalTable) -> np.ndarray:
    return table.state().reshape(-1, COLUMNS)


def boundary_xy(max_index: int, size: int) -> tuple[list[float], list[float]]:
    """Polyline separating entries ``<= max_index`` from the rest, in grid coordinates.

    >>> boundary_xy(511, 512)
    ([0.0, 32.0], [16.0, 16.0])
    >>> boundary_xy(254, 512)
    ([0.0, 31.0, 31.0, 32.0], [8.0, 8.0, 7.0, 7.0])
    """
    first = max_index + 1
    if first >= size:
        rows = size / COLUMNS
        return [0.0, float(COLUMNS)], [rows, rows]
    r, c = divmod(first, COLUMNS)
    if c == 0:
        return [0.0, float(COLUMNS)], [float(r), float(r)]
    return [0.0, float(c), float(c), float(COLUMNS)], [float(r + 1), float(r + 1), float(r), float(r)]


def _page_segments(pages: int) -> list[list[tuple[float, float]]]:
    return [[(0.0, p * ROWS_PER_PAGE), (float(COLUMNS), p * ROWS_PER_PAGE)] for p in range(1, pages)]


def _title(table: PhysicalTable) -> str:
    st = table.state()
    used = int((st > 0).sum())
    return (f"{table.kernel.name}: physical APIC ID table, {table.pages} page"
            f"{'s' if table.pages > 1 else ''} = {table.entries.size} entries, "
            f"max index {table.max_index} (0x{table.max_index:X}), {used} valid")


def physical_grid(table: PhysicalTable, ax: Axes, *, legend: bool = True,
                  title: str | None = None) -> PhysicalGridArtists:
    """Draw ``table`` as one image: a cell per entry, coloured by its state.

    ``title`` is a fixed title instead of one that describes ``table`` (explorers give those
    numbers in their readout; see :func:`update_physical_grid`).

    Colours: empty, valid, valid + IsRunning, and valid but beyond the max index (the hardware
    treats those as invalid targets).  A black staircase marks where the max index ends.
    """
    grid = _grid(table)
    rows = grid.shape[0]
    im = cell_image(ax, colour_cells(grid, _STATE_COLOURS), extent=(0, COLUMNS, rows, 0))
    bx, by = boundary_xy(table.max_index, table.entries.size)
    (line,) = ax.plot(bx, by, color=PALETTE["black"], lw=2.0, solid_joinstyle="miter",
                      label="max index ends here")
    pl = LineCollection(_page_segments(table.pages), colors=PALETTE["black"], linewidths=0.6,
                        linestyles="dashed")
    ax.add_collection(pl)
    ax.set_xlabel("column: entry index mod 32")
    ax.set_ylabel("entry index at row start")
    ax.set_xticks([0, 8, 16, 24, 31.5], ["0", "8", "16", "24", "31"])
    title_text = ax.set_title(_title(table) if title is None else title, loc="left", fontsize=10)
    leg = None
    if legend:
        handles = [Patch(facecolor=STATE_COLOURS[k], edgecolor="grey", label=STATE_LABELS[k])
                   for k in sorted(STATE_COLOURS)]
        handles.append(Line2D([], [], color=PALETTE["black"], lw=2, label="end of max index"))
        leg = ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                        fontsize=8, frameon=False)
    arts = PhysicalGridArtists(ax, im, line, pl, title_text, leg, grid)
    _set_limits(arts, rows)
    return arts


def _set_limits(arts: PhysicalGridArtists, rows: int) -> None:
    ax = arts.ax
    ax.set_xlim(0, COLUMNS)
    ax.set_ylim(rows, 0)
    step = ROWS_PER_PAGE if rows <= 2 * ROWS_PER_PAGE else 2 * ROWS_PER_PAGE
    if rows <= ROWS_PER_PAGE:
        step = 4
    ticks = list(range(0, rows, step))
    ax.set_yticks([t + 0.5 for t in ticks], [str(t * COLUMNS) for t in ticks])


def update_physical_grid(arts: PhysicalGridArtists, table: PhysicalTable, title: bool = True) -> None:
    """Show ``table`` in an already drawn grid (the page count may change); ``title=False``
    leaves the title as it is."""
    grid = _grid(table)
    rows = grid.shape[0]
    old_rows = arts.states.shape[0]
    arts.image.set_data(colour_cells(grid, _STATE_COLOURS))
    arts.states = grid
    if rows != old_rows:
        arts.image.set_extent((0, COLUMNS, rows, 0))
        _set_limits(arts, rows)
    arts.page_lines.set_segments(_page_segments(table.pages))
    arts.boundary.set_data(*boundary_xy(table.max_index, table.entries.size))
    if title:
        arts.title.set_text(_title(table))


class SwitchableBitField:
    """Bit fields whose layout changes between releases, drawn once per layout on stacked axes.

    The figure keeps one axes per distinct layout in the same place; :meth:`show` makes the one
    for the requested layout visible and updates its texts.  Nothing is re-created.
    """

    def __init__(self, figure: Figure, spec, layouts: list[Layout], value_for: dict,
                 **bitfield_kwargs) -> None:
        self.axes = {}
        self.artists: dict[Layout, BitFieldArtists] = {}
        for lay in layouts:
            if lay in self.artists:
                continue
            ax = figure.add_subplot(spec, label=f"bits-{len(self.axes)}")
            self.axes[lay] = ax
            self.artists[lay] = bitfield(lay, value_for.get(lay, 0), ax, **bitfield_kwargs)
            ax.set_visible(False)
        self.current: Layout | None = None
        #: True if the last :meth:`show` switched to another layout (the figure needs a full draw).
        self.switched = False

    def texts(self) -> list[Text]:
        """Every text :meth:`show` may change, in every layout (for an explorer's blitting)."""
        out: list[Text] = []
        for a in self.artists.values():
            out += [*a.digits.artists, *a.values.values(), a.value_text]
        return out

    def show(self, layout: Layout | None, value: int = 0) -> BitFieldArtists | None:
        """Make ``layout`` the visible one and show ``value`` in it (None: show no layout)."""
        if layout is not None and layout not in self.artists:
            raise ValueError(f"layout {layout.name!r} was not drawn")
        self.switched = layout is not self.current
        if self.switched:
            for lay, ax in self.axes.items():
                on = lay == layout
                ax.set_visible(on)
                # hidden layouts' texts must not be drawn either (a blit draws texts one by one)
                a = self.artists[lay]
                a.digits.set_visible(on)
                for t in [*a.values.values(), a.value_text]:
                    t.set_visible(on)
            self.current = layout
        if layout is None:
            return None
        arts = self.artists[layout]
        update_bitfield(arts, value)
        return arts


def max_index_chart(ax: Axes) -> dict:
    """Bars: the max index KVM programs per release range, xAVIC / x2AVIC / x2AVIC with X2AVIC_EXT.

    Dashed lines are the hardware's VMRUN limits (255, 511, 4095): a larger max index makes
    VMRUN fail with VMEXIT_INVALID.  The y axis is logarithmic (base 2).
    """
    rs = release_ranges()
    x = np.arange(len(rs))
    series = [
        ("xAVIC (xAPIC guest)", [r.xavic_max_index for r in rs], PALETTE["sky"]),
        ("x2AVIC (x2APIC guest)", [r.x2avic_max_index or 0 for r in rs], PALETTE["orange"]),
        ("x2AVIC + X2AVIC_EXT", [r.x2avic_ext_max_index or 0 for r in rs], PALETTE["green"]),
    ]
    w = 0.27
    bars = []
    for k, (label, vals, colour) in enumerate(series):
        xs = x + (k - 1) * w
        b = ax.bar(xs, [v if v else np.nan for v in vals], w, color=colour, label=label,
                   edgecolor="white")
        bars.append(b)
        for xi, v in zip(xs, vals):
            if v:
                ax.text(xi, v * 1.08, str(v), ha="center", va="bottom", fontsize=7, rotation=90)
    for mode, lim in HW_MAX_INDEX.items():
        ax.axhline(lim, color=PALETTE["black"], lw=0.8, ls="--")
        # the label sits just above its line, never on it
        # the label sits just above its line, never on it
        ax.text(len(rs) - 0.45, lim * 1.06, f"VMRUN limit {mode}: {lim}", va="bottom", fontsize=7)
    ax.set_yscale("log", base=2)
    ax.set_ylim(128, 16384)
    ax.set_xticks(x, [r.range_name.replace("..", "..\n") for r in rs], fontsize=7)
    ax.set_ylabel("max index (log scale)")
    ax.set_xlim(-0.6, len(rs) + 1.6)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    ax.set_title("AVIC_PHYSICAL_MAX_INDEX that KVM programs, per Linux release", loc="left",
                 fontsize=10)
    return {"bars": bars}


# ---- static figures ------------------------------------------------------------------------

def running_mask(n: int, percent: int) -> np.ndarray:
    """``percent`` % of ``n`` vCPUs marked running, spread evenly (vCPU i runs when the running
    count steps up at i).  Deterministic, so tests and notebooks can state exact counts.  The
    table explorer and the static table figures share it, so both halt the same vCPUs.

    >>> running_mask(4, 75).tolist(), int(running_mask(300, 75).sum())
    ([False, True, True, True], 225)
    """
    i = np.arange(n)
    return ((i + 1) * percent) // 100 > (i * percent) // 100


#: The share of running vCPUs that the table explorer starts with and the static figures show.
DEFAULT_RUNNING_PERCENT = 75


def _fig_table(vcpus: int, cpu: str, height: float) -> Figure:
    fig = new_figure(9.0, height)
    t = physical_table(range(vcpus), "6.19", cpu, "x2apic", running=running_mask(vcpus, DEFAULT_RUNNING_PERCENT))
    physical_grid(t, fig.add_subplot())
    return fig


def _fig_table_512() -> Figure:
    return _fig_table(300, "x2avic", 4.2)


def _fig_table_8pages() -> Figure:
    return _fig_table(1500, "x2avic-ext", 6.0)


def _fig_entry() -> Figure:
    fig = new_figure(10.0, 3.4)
    ax = fig.add_subplot()
    lay = physical_entry_layout("6.19")
    bitfield(lay, encode_entry(7, 0x1_2345_6000, True, True, "6.19"), ax, row_bits=32,
             title="v6.19 physical APIC ID table entry: host APIC ID 7, backing page 0x123456000, "
                   "IsRunning 1, Valid 1")
    return fig


def _fig_max_index() -> Figure:
    fig = new_figure(10.0, 4.2)
    max_index_chart(fig.add_subplot())
    return fig


def static_figures() -> dict:
    """Static figures of this topic: name -> (make_figure, alt text)."""
    return {
        "physical_table_512": (
            _fig_table_512,
            "The physical APIC ID table of a 300-vCPU x2APIC guest on Linux 6.19 without "
            "X2AVIC_EXT: one 4 KiB page drawn as 16 rows of 32 entries; entries 0 to 299 are valid, "
            "three in four with IsRunning set, entries 300 to 511 are empty, and the max index "
            "511 is the last cell.",
        ),
        "physical_table_8pages": (
            _fig_table_8pages,
            "The physical APIC ID table of a 1500-vCPU x2APIC guest on Linux 6.19 with X2AVIC_EXT: "
            "eight 4 KiB pages stacked, 4096 entries, the first 1500 valid, max index 4095.",
        ),
        "physical_entry": (
            _fig_entry,
            "The 64 bits of a physical APIC ID table entry on Linux 6.19: host APIC ID in bits "
            "11:0, backing page address in bits 51:12, reserved bits 60:52 and 61, IsRunning in "
            "bit 62 and Valid in bit 63.",
        ),
        "max_index_by_release": (
            _fig_max_index,
            "Bar chart of the max index KVM programs per Linux release range: 255 for xAVIC up "
            "to 5.19 and 254 from 6.0, 511 for x2AVIC from 6.0, and 4095 with X2AVIC_EXT on 6.19, "
            "with the hardware VMRUN limits 255, 511 and 4095 as dashed lines.",
        ),
    }
