"""Draw any :class:`~avicviz.bitfield.Layout` as a coloured bit field, and update it in place.

Bits run right (bit 0) to left (highest bit), as in the AMD manual.  Layouts wider than
``row_bits`` are drawn in several rows, highest bits on top.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from matplotlib.axes import Axes
from matplotlib.path import Path
from matplotlib.collections import LineCollection, PatchCollection
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from ..bitfield import Layout
from ._style import PALETTE, field_colour
from .glyphs import GlyphText, glyph_path

__all__ = ["BitDigits", "BitFieldArtists", "bitfield", "update_bitfield"]


@functools.cache
def _digit_marker(digit: str) -> Path:
    """The glyph of ``digit`` as a marker made of straight segments only.

    A glyph's outline has curves, whose extents matplotlib solves for on every draw; a polygon
    version looks the same at marker size and draws several times faster.
    """
    verts, codes = glyph_path(digit, "DejaVu Sans")
    verts = verts - (verts.min(axis=0) + verts.max(axis=0)) / 2  # centred, as markers are
    return Path(verts, codes)


class BitDigits:
    """The 0 or 1 written in each bit cell, drawn as two marker collections.

    One artist per digit value instead of one text per bit: a 64-bit field redraws in a
    fraction of the time, which keeps the explorers' blits fast.  ``text(b)`` reads bit ``b``
    back from the artists' data, as a test or a reader of the figure would.
    """

    def __init__(self, ax: Axes, centres: np.ndarray, fontsize: float, shown: bool = True) -> None:
        self.centres = np.asarray(centres, dtype=float)
        self.shown = np.full(len(self.centres), bool(shown))
        size = (0.72 * fontsize) ** 2  # a digit's height is about 0.72 of the font size
        kw = dict(s=size, c=PALETTE["black"], linewidths=0, zorder=3)
        empty = np.empty((0, 2))
        self.ones = ax.scatter(empty[:, 0], empty[:, 1], marker=_digit_marker("1"), **kw)
        self.zeros = ax.scatter(empty[:, 0], empty[:, 1], marker=_digit_marker("0"), **kw)

    @property
    def artists(self) -> list:
        """The two collections (for an explorer's list of changing artists)."""
        return [self.ones, self.zeros]

    def show(self, value: int) -> None:
        """Write ``value``'s bits into the cells (bit b at ``centres[b]``)."""
        n = len(self.centres)
        bits = np.array([(value >> b) & 1 for b in range(n)], dtype=bool)
        self.ones.set_offsets(self.centres[self.shown & bits])
        self.zeros.set_offsets(self.centres[self.shown & ~bits])

    def text(self, b: int) -> str:
        """What bit ``b``'s cell shows: "1", "0", or "" if its digit is hidden."""
        c = self.centres[b]
        for digit, coll in (("1", self.ones), ("0", self.zeros)):
            offs = np.asarray(coll.get_offsets())
            if coll.get_visible() and len(offs) and np.any(np.all(np.isclose(offs, c), axis=1)):
                return digit
        return ""

    def set_visible(self, on: bool) -> None:
        for a in self.artists:
            a.set_visible(on)

    def set_alpha(self, alpha: float) -> None:
        for a in self.artists:
            a.set_alpha(alpha)


@dataclass
class BitFieldArtists:
    """The artists of one drawn bit field (kept by widgets to update in place)."""

    layout: Layout
    row_bits: int
    fields: PatchCollection
    digits: "BitDigits"         # the 0/1 in every cell
    values: dict[str, GlyphText]  # one per named field: its value in hex
    labels: list[Text]
    value_text: GlyphText


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
    values: dict[str, GlyphText] = {}
    leaders = []
    for (f, i, pieces), level in zip(placed, levels):
        colour = PALETTE["light"] if f.reserved else field_colour(f.name, i)
        for lo, hi in pieces:
            x_hi, y = _pos(hi, width, row_bits, pitch)
            rects.append(Rectangle((x_hi, y), hi - lo + 1, 1))
            colours.append(colour)
        name = "rsvd" if f.reserved else f.name
        # a field split over rows: every lower piece is labelled too, with its own bits
        for lo, hi in pieces[:-1]:
            x_hi, y = _pos(hi, width, row_bits, pitch)
            labels.append(ax.text(x_hi + (hi - lo + 1) / 2, y + 1.15, f"{name}, continued\n[{hi}:{lo}]",
                                  ha="center", va="bottom", fontsize=7 if hi - lo < 5 else 8, clip_on=False))
        lo, hi = pieces[-1]
        x_hi, y = _pos(hi, width, row_bits, pitch)
        cx = x_hi + (hi - lo + 1) / 2
        if level:
            ly = y + 1.1 + (level - 1) * _LEVEL + 0.8
            leaders.append([(cx, y + 1.0), (cx, ly)])
            labels.append(ax.text(cx - 0.1, ly, f"{name} [{f.bits}]", ha="left", va="bottom",
                                  fontsize=7, clip_on=False))
        else:
            labels.append(ax.text(cx, y + 1.15, f"{name}\n[{f.bits}]", ha="center", va="bottom",
                                  fontsize=7 if (hi - lo + 1) < 6 else 8, clip_on=False))
        if not f.reserved:
            values[f.name] = GlyphText(ax, cx, y - 0.25, "", ha="center", va="top", fontsize=8,
                                       weight="bold")
    if leaders:
        ax.add_collection(LineCollection(leaders, colors=PALETTE["black"], linewidths=0.6))
    pc = PatchCollection(rects, facecolors=colours, edgecolors="white", linewidths=0.5)
    ax.add_collection(pc)
    centres = np.array([_pos(b, width, row_bits, pitch) for b in range(width)]) + 0.5
    digits = BitDigits(ax, centres, 6 if row_bits > 40 else 8, shown=show_digits)
    rows = (width + row_bits - 1) // row_bits
    ax.set_xlim(-0.5, row_bits + 0.5)
    top = 3.0 + top_level * _LEVEL + (0.9 if top_level else 0.0)
    ax.set_ylim(-(rows - 1) * pitch - 1.6, top)
    ax.set_axis_off()
    value_text = GlyphText(ax, row_bits, top - 0.1, "", ha="right", va="top", fontsize=9)
    if title:
        ax.set_title(title, loc="left", fontsize=10)
    arts = BitFieldArtists(layout, row_bits, pc, digits, values, labels, value_text)
    update_bitfield(arts, value)
    return arts


def update_bitfield(arts: BitFieldArtists, value: int) -> None:
    """Show ``value`` in an already drawn bit field (texts change; nothing is re-created)."""
    lay = arts.layout
    fields = lay.unpack(value)  # validates the range
    arts.digits.show(value)
    for name, t in arts.values.items():
        t.set_text(_fmt_field(lay[name].width, fields[name]))
    hexdigits = (lay.width + 3) // 4
    arts.value_text.set_text(f"{lay.name} = 0x{value:0{hexdigits}X}")
