"""The explorer base class: one persistent figure, controls, a readout and an error box.

Every explorer owns exactly one figure, created once.  A change of any control runs
``_update()``, which recomputes the model and updates the figure's existing artists in place
(``set_data`` / ``set_text`` / ``draw_idle``) - never a new figure per event.  ``set(**params)``
is the programmatic way in, used by tests, the reset button and the notebooks' self-checks.  An
exception inside an update is shown in the widget's error box instead of disappearing into a log.
"""

from __future__ import annotations

import html
import struct
import warnings
from functools import lru_cache
from math import cos, radians, sin
from types import MethodType
from typing import Any

import ipywidgets as W
import numpy as np
from ipympl.backend_nbagg import Canvas, FigureManager
from matplotlib import rcParams
from matplotlib.backends.backend_agg import get_hinting_flag
from matplotlib.collections import Collection
from matplotlib.colors import to_rgba
from matplotlib.font_manager import fontManager, get_font
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox
from zlib_ng import zlib_ng

from ..plots._style import new_figure

__all__ = ["Explorer", "option_values", "png_rgba"]

_figure_numbers = iter(range(10_000, 1_000_000))


class _Canvas(Canvas):
    """ipympl's canvas, encoding the pictures it sends for speed rather than size.

    ipympl sends, after each draw or blit, a PNG holding the pixels that changed (a "diff"
    image; unchanged pixels transparent-black) or the whole picture.  This canvas sends the same
    pictures (the protocol is unchanged) but makes them faster: after an explorer's blit it
    compares old and new pixels only inside the box the blit painted (``_changed``), it keeps
    its buffers between pictures instead of allocating megabytes per change, and it encodes the
    PNG with :func:`png_rgba` (zlib-ng at its fastest level) instead of Pillow's zlib.
    """

    #: (row0, row1, col0, col1) outside which the picture did not change since the last one sent
    _changed = None
    #: PNG rows (a filter byte, then the RGBA pixels) of the picture being sent, kept between pictures
    _rows: np.ndarray | None = None
    #: the part of ``_rows`` the last diff wrote (everything else is zero)
    _written: tuple[int, int, int, int] | None = None

    def _row_buffer(self, h: int, w: int) -> np.ndarray:
        if self._rows is None or self._rows.shape != (h, 1 + 4 * w):
            self._rows = np.zeros((h, 1 + 4 * w), dtype=np.uint8)
            self._written = None
        elif self._written is not None:
            r0, r1, c0, c1 = self._written
            self._rows[r0:r1, 1 + 4 * c0:1 + 4 * c1] = 0
            self._written = None
        return self._rows

    def get_diff_image(self):
        if not self._png_is_old:
            return None
        rgba = np.asarray(self.get_renderer().buffer_rgba())
        h, w = rgba.shape[:2]
        pixels = rgba.view(np.uint32).squeeze(2)
        box, self._changed = self._changed, None
        # a diff cannot carry transparency: any transparent pixel means a full picture (only
        # the changed box can have gained one since the last check)
        alpha = rgba[box[0]:box[1], box[2]:box[3], 3] if box is not None else rgba[:, :, 3]
        same_size = pixels.shape == self._last_buff.shape
        whole = self._force_full or not same_size or bool((alpha != 255).any())
        self.set_image_mode("full" if whole else "diff")
        rows = self._row_buffer(h, w)
        if whole:
            rows[:, 1:] = rgba.reshape(h, 4 * w)
            self._written = (0, h, 0, w)
            if same_size:
                np.copyto(self._last_buff, pixels)
            else:
                self._last_buff = pixels.copy()
        else:
            # an explorer's blit says where pixels may have changed: compare only there
            r0, r1, c0, c1 = box if box is not None else (0, h, 0, w)
            new, last = pixels[r0:r1, c0:c1], self._last_buff[r0:r1, c0:c1]
            rows[r0:r1, 1 + 4 * c0:1 + 4 * c1] = np.where(new != last, new, 0).view(np.uint8).reshape(r1 - r0, -1)
            self._written = (r0, r1, c0, c1)
            last[...] = new
        self._force_full = False
        self._png_is_old = False
        return png_rgba(rows)

    def get_renderer(self):
        renderer = super().get_renderer()
        if renderer.__dict__.get("draw_text") is None:  # a new renderer (new size or dpi)
            renderer.draw_text = MethodType(_draw_text_cached, renderer)
        return renderer


@lru_cache(maxsize=4096)
def _text_bitmap(s: str, fonts: tuple, size: float, dpi: float, antialiased: bool,
                 hinting: int, hinting_factor: int, kerning_factor: int
                 ) -> tuple[np.ndarray, float, float, float]:
    """One line of text rasterised by FreeType as Agg does it, and its offsets (pixels).

    The key holds everything the bitmap depends on, including the rcParams ``get_font`` reads.
    """
    font = get_font(fonts, hinting_factor)
    font.clear()
    font.set_size(size, dpi)
    font.set_text(s, 0, flags=hinting)
    font.draw_glyphs_to_bitmap(antialiased=antialiased)
    xo, yo = font.get_bitmap_offset()
    bitmap = np.array(font.get_image())
    return bitmap, font.get_descent() / 64.0, xo / 64.0, yo / 64.0


def _draw_text_cached(self: Any, gc: Any, x: float, y: float, s: str, prop: Any, angle: float,
                      ismath: Any = False, mtext: Any = None) -> None:
    """``RendererAgg.draw_text`` (matplotlib 3.8-3.10), remembering each line's bitmap.

    Rasterising a line of text (FreeType layout and glyph drawing) is the largest cost of an
    explorer's update, and most lines an update draws were drawn before: texts redrawn because
    they overlap a changed artist, and values a slider returns to.  Placing and rotating the
    bitmap is done as matplotlib does; the result is pixel-identical (tests check that).
    """
    if ismath:
        return type(self).draw_text(self, gc, x, y, s, prop, angle, ismath, mtext)
    bitmap, d, xo, yo = _text_bitmap(s, tuple(fontManager._find_fonts_by_props(prop)),
                                     prop.get_size_in_points(), self.dpi,
                                     bool(gc.get_antialiased()), get_hinting_flag(),
                                     rcParams["text.hinting_factor"], rcParams["text.kerning_factor"])
    xd = d * sin(radians(angle))
    yd = d * cos(radians(angle))
    self._renderer.draw_text_image(bitmap, round(x + xo + xd), round(y + yo + yd) + 1, angle, gc)


def png_rgba(rows: np.ndarray) -> bytes:
    """A PNG file of an 8-bit RGBA picture given as PNG rows: ``rows[i, 0]`` is row i's filter
    type (0, none) and ``rows[i, 1:]`` its pixels, 4 bytes each (as ``buffer_rgba()`` holds them).

    Compressed with zlib-ng at level 1: about 5x faster than zlib for a figure, and 10x on the
    mostly empty pictures a blit sends.

    >>> import io; from PIL import Image
    >>> rows = np.zeros((2, 1 + 4 * 3), np.uint8); rows[1, 1:5] = (255, 0, 0, 255)
    >>> Image.open(io.BytesIO(png_rgba(rows))).getpixel((0, 1))
    (255, 0, 0, 255)
    """
    h, n = rows.shape
    if rows.dtype != np.uint8 or (n - 1) % 4 or not rows.flags.c_contiguous:
        raise ValueError(f"rows must be C-contiguous uint8 of shape (height, 1 + 4*width), got "
                         f"{rows.dtype} {rows.shape}")
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib_ng.crc32(data, zlib_ng.crc32(kind))))
    z = zlib_ng.compressobj(1)
    idat = z.compress(memoryview(rows).cast("B")) + z.flush()
    header = struct.pack(">IIBBBBB", (n - 1) // 4, h, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _extent(a: Any, renderer: Any) -> tuple[float, float, float, float] | None:
    """Where an artist draws, in display pixels (None if it draws nothing or cannot say)."""
    if not a.get_visible():
        return None
    if isinstance(a, Collection) and (not len(a.get_paths()) or not np.asarray(a.get_offsets()).size):
        return None  # an empty collection (a scatter of no points) draws nothing
    try:
        bb = _line_extent(a) if isinstance(a, Line2D) else None
        if bb is None:
            bb = a.get_window_extent(renderer)
    except Exception:  # an artist that cannot tell: treat as covering the figure
        bb = a.figure.bbox
    if isinstance(a, Text) and a.get_bbox_patch() is not None and a.get_text():
        # a text's box (bbox=dict(...)) is drawn around it but not part of its extent
        a.update_bbox_position_size(renderer)
        bb = Bbox.union([bb, a.get_bbox_patch().get_window_extent(renderer)])
    if isinstance(a, Annotation) and a.arrow_patch is not None:
        bb = Bbox.union([bb, a.arrow_patch.get_window_extent(renderer)])
    if isinstance(a, (Line2D, Collection)):
        # a line's extent runs through the middle of its stroke (and ends where its caps begin);
        # a marker's edge reaches beyond the marker size
        lw = np.max(a.get_linewidth(), initial=0.0)
        if isinstance(a, Line2D):
            lw += a.get_markeredgewidth()
        bb = bb.padded(lw * a.figure.dpi / 72.0 / 2 + 1)
    if not np.all(np.isfinite(bb.extents)) and isinstance(a, Collection):
        bb = _offsets_extent(a)
    if not np.all(np.isfinite(bb.extents)) or bb.width < 0 or bb.height < 0:
        bb = a.figure.bbox
    return tuple(float(v) for v in bb.extents)


#: how matplotlib spells "no line style" / "no marker"
_NONE = (None, "None", "none", "", " ")


def _has_markers(a: Line2D) -> bool:
    return a.get_marker() not in _NONE


def _line_extent(a: Line2D) -> Bbox | None:
    """A line's window extent from its data's extremes: on axes whose display x depends only on
    data x and display y only on data y, each monotonically (linear, log, symlog scales), the box
    of the transformed points is the box of the transformed extremes.  Transforming two corners
    instead of every point saves milliseconds on 4096-point lines.  None: ask matplotlib."""
    t = a.get_transform()
    if not t.is_separable:
        return None
    xy = np.asarray(a.get_xydata(), dtype=float)
    xy = xy[np.isfinite(xy).all(axis=1)]
    if not len(xy):
        return Bbox([[0, 0], [0, 0]])  # as matplotlib says of a line with no points
    corners = t.transform(np.array([xy.min(axis=0), xy.max(axis=0)]))
    if not np.isfinite(corners).all():
        return None
    bb = Bbox.from_extents(*corners.min(axis=0), *corners.max(axis=0))
    if _has_markers(a):  # as Line2D.get_window_extent
        bb = bb.padded(a.get_markersize() / 72.0 * a.figure.dpi * 0.5)
    return bb


def _offsets_extent(a: Collection) -> Bbox:
    """Extent of a collection whose window extent matplotlib cannot give: a scatter's offsets
    in display pixels padded by the largest marker, or the union of a patch collection's paths."""
    sizes = np.asarray(getattr(a, "get_sizes", list)())
    if not sizes.size:  # patches in data coordinates (PatchCollection): their own extents
        paths = a.get_paths()
        if not paths:
            return Bbox.null()
        t = a.get_transform()
        return Bbox.union([p.get_extents(t) for p in paths])
    offs = np.asarray(a.get_offsets(), dtype=float)
    if not len(offs):
        return Bbox.null()
    pts = a.get_offset_transform().transform(offs)
    pad = np.sqrt(sizes.max()) * a.figure.dpi / 72.0 / 2 + 2  # marker size is in points²
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return Bbox([[x0 - pad, y0 - pad], [x1 + pad, y1 + pad]])


def _marker_points(a: Any) -> tuple[frozenset, float] | None:
    """For a visible line drawn as markers only (no line between them): where its markers are,
    in whole display pixels, and how far a marker reaches from its centre.  None otherwise."""
    if not (isinstance(a, Line2D) and a.get_visible() and a.get_linestyle() in _NONE
            and _has_markers(a)):
        return None
    xy = a.get_transform().transform(np.asarray(a.get_xydata(), dtype=float))
    pts = frozenset(map(tuple, np.round(xy[np.isfinite(xy).all(axis=1)], 1).tolist()))
    reach = (a.get_markersize() + a.get_markeredgewidth()) * a.figure.dpi / 72.0 / 2 + 2
    return pts, reach


def _signature(a: Any) -> Any:
    """What a dynamic artist looks like now, cheaply (no text layout, no path clipping); a
    change means it must be redrawn.

    Texts, collections, images, lines and rectangles are compared by content and appearance;
    any other artist always counts as changed.
    """
    if not a.get_visible():
        return ("hidden",)
    if isinstance(a, Text):
        patch = a.get_bbox_patch()
        sig = ("text", a.get_text(), a.get_unitless_position(), to_rgba(a.get_color(), a.get_alpha()),
               a.get_fontsize(), a.get_fontweight(), a.get_fontfamily()[0] if a.get_fontfamily() else "",
               a.get_rotation(), a.get_ha(), a.get_va(), a.get_zorder(),
               None if patch is None else (to_rgba(patch.get_facecolor()), to_rgba(patch.get_edgecolor()),
                                           patch.get_linewidth()))
        if isinstance(a, Annotation):
            ap = a.arrow_patch
            sig += (tuple(np.ravel(a.xy)), tuple(np.ravel(a.xyann)),
                    None if ap is None else (to_rgba(ap.get_edgecolor()), to_rgba(ap.get_facecolor()),
                                             ap.get_linewidth(), ap.get_visible()))
        return sig
    if isinstance(a, Collection):
        arr = a.get_array()
        return ("collection", _digest(a.get_offsets()), _digest(a.get_facecolor()),
                _digest(a.get_edgecolor()), _digest(getattr(a, "get_sizes", list)()), a.get_alpha(),
                None if arr is None else (_digest(arr), a.get_clim()), len(a.get_paths()))
    if isinstance(a, AxesImage):
        return ("image", _digest(a.get_array()), tuple(a.get_extent()), a.get_clim(), a.get_alpha())
    if isinstance(a, Line2D):
        return ("line", (_digest(a.get_xdata(orig=True)), _digest(a.get_ydata(orig=True))),
                to_rgba(a.get_color(), a.get_alpha()),
                a.get_linestyle(), a.get_linewidth(), a.get_marker(), a.get_markersize(),
                to_rgba(a.get_markerfacecolor()), to_rgba(a.get_markeredgecolor()),
                a.get_markeredgewidth())
    if isinstance(a, Rectangle):
        return ("rect", a.get_bbox().bounds, to_rgba(a.get_facecolor()), to_rgba(a.get_edgecolor()),
                a.get_linewidth(), a.get_hatch(), a.get_alpha())
    # anything else (legends, tables, ...): its children may change without telling it, so it
    # always counts as changed
    return ("other", object())


def _digest(x: Any) -> tuple:
    a = np.asarray(x)
    return (a.shape, str(a.dtype), hash(np.ascontiguousarray(a).tobytes()))


def _rows_cols(ext: tuple, h: int, w: int, pad: int) -> tuple[int, int, int, int]:
    """Display extent (y upwards) -> (row0, row1, col0, col1) of the pixel buffer, padded."""
    x0, y0, x1, y1 = ext
    return (max(h - int(np.ceil(y1)) - pad, 0), min(h - int(y0) + pad, h),
            max(int(x0) - pad, 0), min(int(np.ceil(x1)) + pad, w))


def _overlap(a: tuple, b: tuple) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def option_values(w: Any) -> list[Any] | None:
    """The values a choice control (dropdown, radio buttons, toggles) can take, or None for a
    slider, a number box or a checkbox."""
    if hasattr(w, "options") and w.options is not None and not hasattr(w, "min") \
            and not isinstance(w, W.SelectMultiple):
        return [o[1] if isinstance(o, tuple) else o for o in w.options]
    return None


class Explorer:
    """Base class.  Subclasses set ``controls`` (name -> widget) and implement ``_draw`` (called
    once, creates artists) and ``_update`` (moves them).  ``model`` holds the latest model object.

    Fast path (blitting): ``_draw`` may list in ``self.dynamic`` the artists that ``_update``
    changes.  They are then drawn on top of a cached picture of everything else, so a change
    re-renders only them.  An update that changes anything else (axis limits, the grid's shape,
    a legend) calls ``self.relayout()`` to have the whole figure drawn again.
    """

    #: Figure size in inches.
    figsize: tuple[float, float] = (8.0, 3.0)
    title: str = ""

    def __init__(self, **params: Any) -> None:
        self.controls: dict[str, W.ValueWidget] = self._make_controls()
        self._defaults = {k: w.value for k, w in self.controls.items()}
        self.figure = new_figure(*self.figsize)
        self.canvas = _Canvas(self.figure)
        with warnings.catch_warnings():
            # ipympl's hidden toolbar passes its canvas on to traitlets, which warns about it
            # (ipympl 0.9-0.10 with traitlets 5); harmless, and not ours to fix.
            warnings.filterwarnings("ignore", category=DeprecationWarning,
                                    message=r"Passing unrecognized arguments to super\(Toolbar\)")
            self._manager = FigureManager(self.canvas, next(_figure_numbers))
        self.canvas.header_visible = False
        self.canvas.toolbar_visible = False
        self.canvas.resizable = False
        self.canvas.footer_visible = False
        self.readout = W.HTML(layout=W.Layout(min_height="2.5em"))
        self.error = W.HTML(layout=W.Layout(min_height="0"))
        self.reset_button = W.Button(description="Reset", tooltip="back to the default settings",
                                     layout=W.Layout(width="6em"))
        self.reset_button.on_click(lambda _b: self.reset())
        self.model: Any = None
        self.last_error: Exception | None = None
        self.updates = 0  # how many times the figure was updated (for tests and benchmarks)
        self._muted = False
        self.dynamic: list[Any] = []
        self._bg_pixels: np.ndarray | None = None
        self._seen: dict[int, Any] = {}
        self._needs_full = True
        self._draw()
        for a in self.dynamic:
            a.set_animated(True)
        self.canvas.mpl_connect("draw_event", self._on_draw)
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.widget = self._layout()
        if params:
            self.set(**params)
        else:
            self._safe_update(reraise=True)

    # ---- to override -------------------------------------------------------------------
    def _make_controls(self) -> dict[str, W.ValueWidget]:
        raise NotImplementedError

    def _draw(self) -> None:
        raise NotImplementedError

    def _update(self) -> None:
        raise NotImplementedError

    def _layout(self) -> W.Widget:
        box = W.HBox(list(self.controls.values()) + [self.reset_button],
                     layout=W.Layout(flex_flow="row wrap"))
        return W.VBox([box, self.canvas, self.readout, self.error])

    # ---- public ------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """Current value of every control."""
        return {k: w.value for k, w in self.controls.items()}

    def set(self, **params: Any) -> "Explorer":
        """Set controls by name (all at once, one redraw) and return self.

        Unknown names and values a control cannot take raise ValueError naming the parameter.
        """
        for k, v in params.items():
            if k not in self.controls:
                raise ValueError(f"{k!r} is not a control of {type(self).__name__}: "
                                 f"valid names {', '.join(self.controls)}")
            self._check_value(k, v)
        self._muted = True
        try:
            for k, v in params.items():
                self.controls[k].value = v
        finally:
            self._muted = False
        self._safe_update(reraise=True)
        return self

    def relayout(self) -> None:
        """Ask for a full redraw after this update (something outside ``dynamic`` changed)."""
        self._needs_full = True

    def savefig(self, fname: Any, **kwargs: Any) -> None:
        """Save the figure as it looks now (``Figure.savefig`` arguments).

        Use this rather than ``explorer.figure.savefig``: the artists a control changes are
        drawn separately (blitted), and matplotlib leaves such artists out of a saved file.
        """
        for a in self.dynamic:
            a.set_animated(False)
        try:
            self.figure.savefig(fname, **kwargs)
        finally:
            for a in self.dynamic:
                a.set_animated(True)

    def reset(self) -> "Explorer":
        """Back to the default settings."""
        return self.set(**self._defaults)

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in notebooks
        from IPython.display import display

        display(self.widget)

    # ---- internals ---------------------------------------------------------------------
    def _check_value(self, name: str, value: Any) -> None:
        w = self.controls[name]
        values = option_values(w)
        if values is not None:
            if value not in values:
                raise ValueError(f"{name}={value!r} is not an option: valid values "
                                 + ", ".join(map(str, values)))
        elif hasattr(w, "min") and hasattr(w, "max"):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not w.min <= value <= w.max:
                raise ValueError(f"{name}={value!r} is out of range: valid range {w.min}..{w.max}")

    def _on_change(self, _change: dict) -> None:
        if not self._muted:
            self._safe_update()

    def _safe_update(self, reraise: bool = False) -> None:
        try:
            self._update()
        except Exception as e:  # shown in the widget: a callback's error must not vanish
            self.error.value = (
                "<div style='color:#D55E00'><b>This setting hit a bug in avicviz:</b> "
                + html.escape(f"{type(e).__name__}: {e}") + "</div>"
            )
            self.last_error = e
            if reraise:
                raise
        else:
            self.error.value = ""
            self.updates += 1
            self._present()

    # ---- drawing -----------------------------------------------------------------------
    @property
    def _frontend(self) -> bool:
        """True once a browser shows the canvas (ipympl stops syncing the data URL then)."""
        return not self.canvas.syncing_data_url

    def _on_draw(self, event: Any) -> None:
        # every full draw (ours or one the browser asked for) refreshes the cached background
        if self.dynamic and not self.canvas.is_saving():
            self._needs_full = False
            renderer = self.canvas.get_renderer()
            self._bg_pixels = np.asarray(renderer.buffer_rgba()).copy()
            self._draw_dynamic(self.dynamic)
            self._seen = {id(a): (_signature(a), _extent(a, renderer), _marker_points(a))
                          for a in self.dynamic}

    def _size(self) -> tuple[int, int]:
        """The figure's size in pixels now (rows, columns): a resize or a new device pixel
        ratio makes the cached background useless until the next full draw."""
        w, h = self.figure.bbox.size
        return int(h), int(w)  # as Agg sizes its buffer: 4.6 in at 100 dpi is 459.99... -> 459 rows

    def _draw_dynamic(self, artists: list[Any]) -> None:
        for a in artists:
            self.figure.draw_artist(a)

    def _blit_changes(self) -> bool:
        """Redraw only where dynamic artists changed.

        Texts are by far the slowest artists to draw, and most of an explorer's texts do not
        change on a given step.  Where an artist changed (its old and new place), the cached
        background is restored and every dynamic artist overlapping that place is drawn again;
        anything those artists paint outside the changed places is put back as it was.  The
        result equals drawing every dynamic artist on the background (the tests check that).
        Returns False when no dynamic artist changed (nothing painted, nothing to send).
        """
        renderer = self.canvas.get_renderer()
        seen = self._seen
        dirty = []
        for a in self.dynamic:
            sig = _signature(a)
            old = seen.get(id(a))
            if old is not None and old[0] == sig:
                continue
            ext = _extent(a, renderer)
            pts = _marker_points(a)
            if pts is not None and old is not None and old[2] is not None and sig[2:] == old[0][2:]:
                # only some markers of a marker-only line came, went or moved: just their places
                pad = pts[1]
                dirty += [(x - pad, y - pad, x + pad, y + pad) for x, y in pts[0] ^ old[2][0]]
            else:
                dirty += [e for e in (ext, old[1] if old else None) if e is not None]
            seen[id(a)] = (sig, ext, pts)
        if not dirty:
            return False
        buf = np.asarray(renderer.buffer_rgba())
        h, w = buf.shape[:2]
        rects = [_rows_cols(e, h, w, 3) for e in dirty]
        places = {id(a): _rows_cols(seen[id(a)][1], h, w, 1) for a in self.dynamic
                  if seen[id(a)][1] is not None}
        touched = [a for a in self.dynamic
                   if id(a) in places and any(_overlap(places[id(a)], r) for r in rects)]
        spots = [_rows_cols(seen[id(a)][1], h, w, 3) for a in touched]
        # only pixels inside the touched places can differ from the last picture sent
        allr = rects + spots
        box = (min(r[0] for r in allr), max(r[1] for r in allr),
               min(r[2] for r in allr), max(r[3] for r in allr))
        # one 32-bit word per pixel: 4x fewer elements for numpy to move than RGBA bytes
        px, bg = buf.view(np.uint32)[:, :, 0], self._bg_pixels.view(np.uint32)[:, :, 0]
        # which pixels of the box are in a changed place (box-relative, no full-figure arrays)
        mask = np.zeros((box[1] - box[0], box[3] - box[2]), dtype=bool)
        for r0, r1, c0, c1 in rects:
            mask[r0 - box[0]:r1 - box[0], c0 - box[2]:c1 - box[2]] = True
        # what the touched artists' places hold outside the changed places (to put back after)
        keep = []
        for r0, r1, c0, c1 in spots:
            outside = ~mask[r0 - box[0]:r1 - box[0], c0 - box[2]:c1 - box[2]]
            if outside.any():
                keep.append(((r0, r1, c0, c1), px[r0:r1, c0:c1].copy(), outside))
        for r0, r1, c0, c1 in rects:
            px[r0:r1, c0:c1] = bg[r0:r1, c0:c1]
        self._draw_dynamic(touched)
        # put back what the redrawn artists painted outside the changed places
        for (r0, r1, c0, c1), old, outside in keep:
            np.copyto(px[r0:r1, c0:c1], old, where=outside)
        self.canvas._changed = box
        return True

    def _present(self) -> None:
        """Show the updated artists: blit them if possible, else draw the whole figure."""
        if not self._frontend:
            # nothing shows the canvas (tests, nbclient): let whoever shows it ask for a draw
            self.canvas.draw_idle()
            return
        if (self.dynamic and not self._needs_full and self._bg_pixels is not None
                and self._bg_pixels.shape[:2] == self._size()):
            if self._blit_changes():  # nothing changed: no picture to send
                self.canvas.blit(self.figure.bbox)
        else:
            self._needs_full = False
            self.canvas.draw()  # draws, caches the background and sends the picture
