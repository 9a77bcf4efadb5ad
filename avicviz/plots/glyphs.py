"""Text drawn as the outlines of its glyphs: for the numbers that change on every slider step.

matplotlib 3.11 lays a :class:`~matplotlib.text.Text` out and renders it glyph by glyph through
FreeType on every draw, about 2 ms for the 18 characters of "GATag = 0x0000012C" on this project's
machines; an explorer step that changes two such numbers spends most of its time there.  The same
characters as one filled path (each glyph's outline, made of straight segments, cached per
character) draw in a few hundredths of a millisecond and look the same at these sizes.

Only monospace fonts: every character advances the pen by the same width, so placing glyphs one
after another loses no kerning.  The hex values in the bit fields are monospace anyway, so that
their digits line up.
"""

from __future__ import annotations

import functools

import numpy as np
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties, findfont
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from matplotlib.textpath import TextPath, text_to_path
from matplotlib.transforms import Affine2D, ScaledTranslation

__all__ = ["GlyphText", "glyph_path"]


def _font(weight: str) -> FontProperties:
    return FontProperties(family="monospace", weight=weight, size=1)


@functools.cache
def glyph_path(char: str, family: str = "monospace", weight: str = "normal") -> tuple[np.ndarray, np.ndarray]:
    """The outline of one character at a font size of 1 (pen at the origin, on the baseline), as
    vertices and path codes of straight segments only (curves cost matplotlib far more to fill).

    >>> verts, codes = glyph_path("0")
    >>> bool(codes[0] == Path.MOVETO and codes[-1] == Path.CLOSEPOLY), bool(0 < verts[:, 0].max() < 1)
    (True, True)
    >>> glyph_path(" ")[0].shape
    (0, 2)
    """
    prop = FontProperties(family=family, weight=weight, size=1)
    verts, codes = [np.empty((0, 2))], [np.empty(0, dtype=Path.code_type)]
    if char.isspace():  # nothing to fill (and TextPath cannot make an empty path)
        return verts[0], codes[0]
    for poly in TextPath((0, 0), char, size=1, prop=prop).to_polygons(closed_only=True):
        verts.append(np.asarray(poly, float))
        c = np.full(len(poly), Path.LINETO, dtype=Path.code_type)
        c[0], c[-1] = Path.MOVETO, Path.CLOSEPOLY
        codes.append(c)
    return np.concatenate(verts), np.concatenate(codes)


@functools.cache
def _metrics(weight: str) -> tuple[float, float, float]:
    """(advance, ascent of a line, descent of a line) at a font size of 1, as matplotlib's Text
    measures a line (its height and descent are those of "lp")."""
    prop = _font(weight)
    one = text_to_path.get_text_width_height_descent("0", prop, ismath=False)[0]
    two = text_to_path.get_text_width_height_descent("00", prop, ismath=False)[0]
    _w, h, d = text_to_path.get_text_width_height_descent("lp", prop, ismath=False)
    return two - one, h - d, d


class GlyphText(PathPatch):
    """One line of monospace text at ``(x, y)`` in data coordinates, drawn as one filled path.

    Offers the part of :class:`~matplotlib.text.Text`'s interface the plots use: ``get_text``,
    ``set_text``, ``get_position``, ``set_position``, ``set_x``, ``set_y``, ``set_color``, plus every artist's
    ``set_visible``.  ``ha`` (left, center, right) and ``va`` (baseline, top, bottom, center)
    align it as a Text would be aligned.

    >>> from avicviz.plots._style import new_figure
    >>> ax = new_figure(2, 1).add_subplot()
    >>> t = GlyphText(ax, 0.5, 0.5, "0x2C", fontsize=8, weight="bold", ha="center", va="top")
    >>> t.get_text(), t.get_position()
    ('0x2C', (0.5, 0.5))
    >>> t.set_text("0x12D"); t.get_text()
    '0x12D'
    """

    _ALIGN_X = {"left": 0.0, "center": 0.5, "right": 1.0}

    def __init__(self, ax: Axes, x: float, y: float, text: str = "", *, fontsize: float,
                 weight: str = "normal", ha: str = "left", va: str = "baseline",
                 color: str = "black", zorder: float = 3, clip_on: bool = False) -> None:
        if ha not in self._ALIGN_X:
            raise ValueError(f"ha={ha!r}: valid values {', '.join(self._ALIGN_X)}")
        if va not in ("baseline", "top", "bottom", "center"):
            raise ValueError(f"va={va!r}: valid values baseline, top, bottom, center")
        findfont(_font(weight))  # a missing font is an error here, not at the first draw
        super().__init__(Path(np.empty((0, 2))), facecolor=color, edgecolor="none", linewidth=0,
                         zorder=zorder, snap=False)
        self._ax = ax
        self._size, self._weight, self._ha, self._va = fontsize, weight, ha, va
        self._text = None
        ax.add_artist(self)
        self.set_clip_on(clip_on)
        self.set_position((x, y))
        self.set_text(text)

    def get_text(self) -> str:
        return self._text

    def set_text(self, text: str) -> None:
        text = str(text)
        if text == self._text:
            return
        self._text = text
        advance, ascent, descent = _metrics(self._weight)
        dx = -self._ALIGN_X[self._ha] * advance * len(text)
        dy = {"baseline": 0.0, "top": -ascent, "bottom": descent,
              "center": (descent - ascent) / 2}[self._va]
        verts, codes = [np.empty((0, 2))], [np.empty(0, dtype=Path.code_type)]
        for i, ch in enumerate(text):
            v, c = glyph_path(ch, "monospace", self._weight)
            verts.append(v + (dx + i * advance, dy))
            codes.append(c)
        self.set_path(Path(np.concatenate(verts), np.concatenate(codes)))
        self.stale = True

    def get_position(self) -> tuple[float, float]:
        return self._xy

    def set_position(self, xy: tuple[float, float]) -> None:
        self._xy = (float(xy[0]), float(xy[1]))
        # em units -> points -> pixels, then to the data point's place on the figure
        self.set_transform(Affine2D().scale(self._size / 72.0) + self._ax.figure.dpi_scale_trans
                           + ScaledTranslation(*self._xy, self._ax.transData))
        self.stale = True

    def set_x(self, x: float) -> None:
        self.set_position((x, self._xy[1]))

    def set_y(self, y: float) -> None:
        self.set_position((self._xy[0], y))

    def set_color(self, color) -> None:
        self.set_facecolor(color)
