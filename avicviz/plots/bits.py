"""Draw any :class:`~avicviz.bitfield.Layout` as a coloured bit field, and update it in place.

Bits run right (bit 0) to left (highest bit), as in the AMD manual.  Layouts wider than
``row_bits`` are drawn in several rows, highest bits on top.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from ..bitfield import Layout
from ._style import PALETTE, field_colour

__all__ = ["BitFieldArtists", "bitfield", "update_bitfield"]


@dataclass
class BitFieldArtists:
    """The artists of one drawn bit field (kept by widgets to update in place)."""

    layout: Layout
    row_bits: int
    fields: PatchCollection
    digits: list[Text]          # one per bit, index = bit number
    values: dict[str, Text]     # one per named field: its value in hex
    labels: list[Text]
    value_text: Text


#: Narrow fields (fewer cells than this) get their label on a staggered level with a leader.
_NARROW = 5
_LEVEL = 0.8   # height of one label level, in cell heights


def _pos(bit: int, width: int, row_bits: int, pitch: float = 3.0) -> tuple[float, float]:
    """x of the bit's cell (left edge) and y of its row (top row 0)."""
    rows = (width + row_bits - 1) // row_bits
    row_from_bottom = bit // row_bits
    row = rows - 1 - row_from_bottom
    x = row_bits - 1 - (bit % row_bits)
    return float(x), float(-row * pitch)


def _fmt_field(width: int, v: int) -> str:
    if width == 1:
        return str(v)
    digits = (width + 3) // 4
    return f"0x{v:0{digits}X}" if width > 4 else f"{v}"


def bitfield(layout: Layout, value: int, ax: Axes, *, row_bits: int | None = None,
             title: str | None = None, show_digits: bool = True) -> BitFieldArtists:
    """Draw ``layout`` holding ``value`` onto ``ax``; returns the artists.

    Each field is a coloured band labelled with its name and bit range; the field's current
    value is written under it and every bit's 0/1 inside its cell.
    """
    width = layout.width
    row_bits = row_bits or min(width, 64)
    segs = layout.segments()
    # split every field into its per-row pieces first: narrow labels need the row layout
    placed = []  # (field, index, pieces)
    for i, f in enumerate(segs):
        bit, pieces = f.lsb, []
        while bit <= f.msb:
            row_end = min(f.msb, (bit // row_bits + 1) * row_bits - 1)
            pieces.append((bit, row_end))
            bit = row_end + 1
        placed.append((f, i, pieces))
    # narrow fields next to each other climb one label level each (lowest bit lowest), and
    # their labels run rightwards, above the shorter leaders of the lower bits: no crossings
    levels: list[int] = []
    run = 0
    for f, _i, pieces in placed:
        lo, hi = pieces[-1]
        if hi - lo + 1 < _NARROW:
            levels.append(1 + run)
            run += 1
        else:
            levels.append(0)
            run = 0
    top_level = max(levels, default=0)
    pitch = 3.0 + top_level * _LEVEL
    rects, colours = [], []
    labels: list[Text] = []
    values: dict[str, Text] = {}
    leaders = []
    for (f, i, pieces), level in zip(placed, levels):
        colour = PALETTE["light"] if f.reserved else field_colour(f.name, i)
        for lo, hi in pieces:
            x_hi, y = _pos(hi, width, row_bits, pitch)
            rects.append(Rectangle((x_hi, y), hi - lo + 1, 1))
            colours.append(colour)
        lo, hi = pieces[-1]
        x_hi, y = _pos(hi, width, row_bits, pitch)
        cx = x_hi + (hi - lo + 1) / 2
        name = "rsvd" if f.reserved else f.name
        if level:
            ly = y + 1.1 + (level - 1) * _LEVEL + 0.8
            leaders.append([(cx, y + 1.0), (cx, ly)])
            labels.append(ax.text(cx - 0.1, ly, f"{name} [{f.bits}]", ha="left", va="bottom",
                                  fontsize=7, clip_on=False))
        else:
            labels.append(ax.text(cx, y + 1.15, f"{name}\n[{f.bits}]", ha="center", va="bottom",
                                  fontsize=7 if (hi - lo + 1) < 6 else 8, clip_on=False))
        if not f.reserved:
            values[f.name] = ax.text(cx, y - 0.25, "", ha="center", va="top", fontsize=8,
                                     family="monospace", fontweight="bold")
    if leaders:
        ax.add_collection(LineCollection(leaders, colors=PALETTE["black"], linewidths=0.6))
    pc = PatchCollection(rects, facecolors=colours, edgecolors="white", linewidths=0.5)
    ax.add_collection(pc)
    digits = []
    for b in range(width):
        x, y = _pos(b, width, row_bits, pitch)
        digits.append(ax.text(x + 0.5, y + 0.5, "", ha="center", va="center",
                              fontsize=6 if row_bits > 40 else 8, family="monospace",
                              visible=show_digits))
    rows = (width + row_bits - 1) // row_bits
    ax.set_xlim(-0.5, row_bits + 0.5)
    top = 3.0 + top_level * _LEVEL + (0.9 if top_level else 0.0)
    ax.set_ylim(-(rows - 1) * pitch - 1.6, top)
    ax.set_axis_off()
    value_text = ax.text(row_bits, top - 0.1, "", ha="right", va="top", fontsize=9,
                         family="monospace")
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    arts = BitFieldArtists(layout, row_bits, pc, digits, values, labels, value_text)
    update_bitfield(arts, value)
    return arts


def update_bitfield(arts: BitFieldArtists, value: int) -> None:
    """Show ``value`` in an already drawn bit field (texts change; nothing is re-created)."""
    lay = arts.layout
    fields = lay.unpack(value)  # validates the range
    for b, t in enumerate(arts.digits):
        t.set_text("1" if (value >> b) & 1 else "0")
    for name, t in arts.values.items():
        t.set_text(_fmt_field(lay[name].width, fields[name]))
    hexdigits = (lay.width + 3) // 4
    arts.value_text.set_text(f"{lay.name} = 0x{value:0{hexdigits}X}")
