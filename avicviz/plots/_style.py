"""Shared look: a colour-blind-safe palette (Okabe-Ito) and small helpers used by every plot."""

from __future__ import annotations

import re
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.image import AxesImage
from matplotlib.transforms import Affine2D, Bbox, IdentityTransform, TransformedBbox

__all__ = ["spread_labels", "PALETTE", "TEXT_COLOURS", "text_colour", "FIELD_COLOURS", "STATE_COLOURS", "PATH_COLOURS", "RELEASE_COLOURS",
           "field_colour", "new_figure", "CellImage", "cell_image"]

#: Okabe-Ito colours, safe for the common colour-vision deficiencies.
PALETTE = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#BBBBBB",
    "light": "#EEEEEE",
}

#: Text colours for HTML on a white page: the palette's vermillion and green darkened to a
#: contrast of at least 4.5:1 (WCAG AA for body text; the palette's own are 3.9:1 and 3.4:1).
TEXT_COLOURS = {"red": "#B34700", "green": "#00785A"}


def text_colour(colour: str) -> str:
    """The colour to write text in for a palette colour: its darker shade if it has one.

    >>> text_colour(PALETTE["vermillion"]), text_colour(PALETTE["green"]), text_colour("#000000")
    ('#B34700', '#00785A', '#000000')
    """
    shades = {PALETTE["vermillion"]: TEXT_COLOURS["red"], PALETTE["green"]: TEXT_COLOURS["green"]}
    return shades.get(colour.upper(), colour)

#: Colours for bit fields, by field name (fields not listed cycle through CYCLE).
FIELD_COLOURS = {
    "vcpu_id": PALETTE["orange"],
    "vcpu_idx": PALETTE["orange"],
    "vm_id": PALETTE["sky"],
    "host_apic_id": PALETTE["green"],
    "backing_page": PALETTE["sky"],
    "is_running": PALETTE["vermillion"],
    "valid": PALETTE["blue"],
    "reserved": PALETTE["light"],
    "ga_tag": PALETTE["orange"],
    "max_index": PALETTE["green"],
}
_CYCLE = [PALETTE[k] for k in ("blue", "orange", "green", "purple", "sky", "vermillion", "yellow")]

#: Physical-table entry states (codes of PhysicalTable.state()).
STATE_COLOURS = {
    0: PALETTE["light"],      # empty
    1: PALETTE["sky"],        # valid, not running
    2: PALETTE["green"],      # valid and running
    3: PALETTE["vermillion"], # beyond the max index
}
STATE_LABELS = {0: "empty", 1: "valid, not running", 2: "valid + IsRunning", 3: "beyond max index"}

#: IPI paths (avicviz.vm.IPI_PATHS) -> colour.
PATH_COLOURS = {
    "accelerated": PALETTE["green"],
    "target_not_running": PALETTE["yellow"],
    "invalid_target": PALETTE["orange"],
    "invalid_target_dropped": PALETTE["purple"],
    "emulated": PALETTE["vermillion"],
    "not_created": PALETTE["grey"],
    "send_exits": PALETTE["sky"],
}

#: One colour per modelled release range, oldest first (index with the range's position).
RELEASE_COLOURS = [PALETTE[k] for k in
                   ("grey", "purple", "yellow", "vermillion", "orange", "sky", "blue", "green", "black")]


def field_colour(name: str, i: int = 0) -> str:
    """Colour of a bit field by name, falling back to a cycle position."""
    if name.startswith("rsvd") or name == "reserved":
        return PALETTE["light"]
    return FIELD_COLOURS.get(name, _CYCLE[i % len(_CYCLE)])


def new_figure(width: float = 8.0, height: float = 3.0) -> Figure:
    """A figure not registered with pyplot (works under any backend, closes nothing)."""
    return Figure(figsize=(width, height), layout="constrained")


def colour_cells(codes: np.ndarray, colours: list[str]) -> np.ndarray:
    """RGBA bytes for an array of small integer codes: cell ``i`` gets ``colours[codes[i]]``.

    Images of codes are drawn from these colours directly: matplotlib then resamples bytes
    instead of normalising and colour-mapping every screen pixel, about 3x faster per redraw.

    >>> colour_cells(np.array([[0, 1]]), ["#000000", "#E69F00"]).tolist()
    [[[0, 0, 0, 255], [230, 159, 0, 255]]]
    """
    table = np.round(to_rgba_array(colours) * 255).astype(np.uint8)
    codes = np.asarray(codes)
    if codes.size and not (0 <= codes.min() and codes.max() < len(table)):
        raise ValueError(f"codes must lie in 0..{len(table) - 1}, got {codes.min()}..{codes.max()}")
    return table[codes]


#: matplotlib releases whose nearest-neighbour resampling CellImage reproduces pixel for pixel
#: (checked: 3.11.0, 3.11.2; 3.8, 3.9 and 3.10 place cell edges differently).  On older releases
#: CellImage leaves the drawing to matplotlib.
CELL_IMAGE_FAST = tuple(int(x) for x in re.findall(r"\d+", matplotlib.__version__)[:2]) >= (3, 11)


class CellImage(AxesImage):
    """An image of coloured cells (RGBA bytes, see :func:`colour_cells`) scaled up to the screen by
    picking, for every screen pixel, the cell under its centre (nearest neighbour), in bytes.

    matplotlib's own resampling converts the screen-sized picture to floats and back (for
    premultiplied alpha), several milliseconds for a grid the width of a figure; cells are opaque
    and need none of that.  Anything else (a float, masked or translucent image, a non-affine or
    rotated transform, an unclipped image, an unsampled backend, a matplotlib older than 3.11) is
    drawn by matplotlib as usual.
    Public API only: ``make_image`` is the documented hook that draws an image, and
    ``tests/test_colours.py`` checks the pixels against ``imshow`` on every matplotlib tested.
    """

    def make_image(self, renderer, magnification=1.0, unsampled=False):
        A = self.get_array()
        trans = self.get_transform()
        if (not CELL_IMAGE_FAST or unsampled or A is None or np.ma.is_masked(A) or A.dtype != np.uint8 or A.ndim != 3
                or A.shape[2] != 4 or self.get_alpha() is not None or not trans.is_affine
                or not self.get_clip_on()):
            return super().make_image(renderer, magnification, unsampled)
        x1, x2, y1, y2 = self.get_extent()
        bbox = Bbox(np.array([[x1, y1], [x2, y2]]))
        clipped = Bbox.intersection(TransformedBbox(bbox, trans), self.get_clip_box() or self.axes.bbox)
        if clipped is None:
            return None, 0, 0, None
        e = clipped.extents * magnification  # rounded to whole pixels as matplotlib does
        x0, y0 = np.floor(e[0] + 0.5), np.ceil(e[1] - 0.5 - 1e-8)
        x1, y1 = np.floor(e[2] + 0.5 + 1e-8), np.ceil(e[3] - 0.5)
        w, h = int(x1 - x0), int(y1 - y0)
        if w <= 0 or h <= 0:
            return None, 0, 0, None
        t0 = (Affine2D().translate(0, -A.shape[0]).scale(1, -1) if self.origin == "upper"
              else IdentityTransform())
        t = (t0 + Affine2D().scale(bbox.width / A.shape[1], bbox.height / A.shape[0])
             .translate(bbox.x0, bbox.y0) + trans
             + Affine2D().scale(magnification).translate(-x0, -y0))
        m = t.get_matrix()
        if m[0, 1] != 0 or m[1, 0] != 0:  # rotated or skewed: not a grid of screen columns and rows
            return super().make_image(renderer, magnification, unsampled)
        # the cell under each screen pixel's centre; -1 where no cell is
        cols = np.floor((np.arange(w) + 0.5 - m[0, 2]) / m[0, 0]).astype(np.intp)
        rows = np.floor((np.arange(h) + 0.5 - m[1, 2]) / m[1, 1]).astype(np.intp)
        cols[(cols < 0) | (cols >= A.shape[1])] = -1
        rows[(rows < 0) | (rows >= A.shape[0])] = -1
        # one 32-bit word per cell; the extra last row and column are "no cell" (transparent)
        cells = np.zeros((A.shape[0] + 1, A.shape[1] + 1), np.uint32)
        cells[:-1, :-1] = np.ascontiguousarray(np.ma.getdata(A)).view(np.uint32)[..., 0]
        out = cells.take(rows, axis=0).take(cols, axis=1).view(np.uint8).reshape(h, w, 4)
        return out, x0 / magnification, y0 / magnification, t


def cell_image(ax: Axes, rgba: np.ndarray, **kwargs) -> CellImage:
    """``ax.imshow(rgba, interpolation="nearest", aspect="auto", **kwargs)`` as a
    :class:`CellImage` (``kwargs``: ``extent``, ``origin``)."""
    im = CellImage(ax, interpolation="nearest", **kwargs)
    ax.set_aspect("auto")
    im.set_data(rgba)
    im.set_clip_path(ax.patch)
    im.set_extent(im.get_extent())
    ax.add_image(im)
    return im


def spread_labels(ys: Sequence[float], gap: float, lo: float, hi: float) -> np.ndarray:
    """Heights for labels wanted at ``ys``, at least ``gap`` apart and inside ``lo..hi``, each
    as near its wish as that allows: labels that would overlap are moved apart as a group,
    centred on their wishes; a group that would leave ``lo..hi`` is pushed back inside.  Labels
    wanted at the same height keep their order (the first one given lowest).

    >>> spread_labels([0.5, 0.5, 0.1], gap=0.1, lo=0.0, hi=1.0).round(3).tolist()
    [0.45, 0.55, 0.1]
    >>> spread_labels([0.95, 0.99], gap=0.1, lo=0.0, hi=1.0).round(3).tolist()
    [0.9, 1.0]
    """
    wish = np.asarray(ys, dtype=float)
    if not gap >= 0:
        raise ValueError(f"gap={gap!r} is not a distance >= 0")
    if not (len(wish) - 1) * gap <= hi - lo:
        raise ValueError(f"{len(wish)} labels {gap} apart do not fit in {lo}..{hi}")
    groups: list[list] = []  # [lowest height, label indices in order, sum of their wishes]
    for i in np.argsort(wish, kind="stable"):
        groups.append([wish[i], [int(i)], wish[i]])
        while True:
            g = groups[-1]
            n = len(g[1])
            g[0] = min(max(g[2] / n - (n - 1) * gap / 2, lo), hi - (n - 1) * gap)
            if len(groups) < 2 or groups[-2][0] + len(groups[-2][1]) * gap <= g[0]:
                break
            below = groups.pop(-2)
            g[1], g[2] = below[1] + g[1], below[2] + g[2]
    out = np.empty(len(wish))
    for bottom, members, _ in groups:
        out[members] = bottom + gap * np.arange(len(members))
    return out
