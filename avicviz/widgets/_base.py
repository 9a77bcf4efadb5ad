"""The explorer base class: one persistent figure, controls, a readout and an error box.

Every explorer owns exactly one figure, created once.  A change of any control runs
``_update()``, which recomputes the model and updates the figure's existing artists in place
(``set_data`` / ``set_text``) - never a new figure per event.  ``set(**params)`` is the
programmatic way in, used by tests, the reset button and the notebooks' self-checks.  An
exception inside an update is shown in the widget's error box instead of disappearing into a log.

Pictures are drawn with matplotlib's documented blitting: a full draw of the figure without the
artists listed in ``dynamic`` is kept (``copy_from_bbox``), and each change restores it
(``restore_region``) and draws only those artists (``draw_artist``).  :class:`Picture` sends the
pixels that changed to the browser and says when they are painted; values that arrive before
that are merged, and only the latest is drawn.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections import Counter
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets as T
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import Collection
from matplotlib.colors import to_rgba
from matplotlib.image import AxesImage
from matplotlib.layout_engine import PlaceHolderLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox, IdentityTransform

from ..plots._style import TEXT_COLOURS, new_figure
from .controls import row
from .picture import Picture, encode_png

__all__ = ["Explorer", "Readout", "option_values"]

#: Dots per inch of a picture shown at its full size on a 1x screen (a 2x screen gets twice as
#: many; a narrower output area fewer: see :meth:`Explorer.view_dpi`).
DPI = 100


def option_values(w: Any) -> list[Any] | None:
    """The values a choice control (dropdown, radio buttons, toggles) can take, or None for a
    slider, a number box or a checkbox."""
    if hasattr(w, "options") and w.options is not None and not hasattr(w, "min") \
            and not isinstance(w, W.SelectMultiple):
        return [o[1] if isinstance(o, tuple) else o for o in w.options]
    return None


class Readout(T.HasTraits):
    """The HTML under an explorer's picture (``value``).  It is not a widget of its own: the
    :class:`Picture` sends it with the picture it describes, so a change of a slider costs one
    message to the browser, and the words and the pixels change together.

    >>> r = Readout(); r.value = "<b>vCPU 7</b>"; r.value
    '<b>vCPU 7</b>'
    """

    value = T.Unicode("")


def plain_text(markup: str) -> str:
    """A readout's HTML as the words a reader sees: tags dropped, lines joined into sentences.

    >>> plain_text("<b>max index</b> 0x1FF<br>entries: <b>4</b>: &amp; more; v6.17..v6.18")
    'max index 0x1FF. entries: 4: & more; v6.17..v6.18'
    """
    text = re.sub(r"<br\s*/?>|</?(?:p|li|tr|div|ol|ul|table)\b[^>]*>", "\n", markup)
    text = re.sub(r"</t[dh]>", " ", text)  # table cells side by side
    text = html.unescape(re.sub(r"<[^>]+>", "", text))
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    return " ".join(line if line[-1] in ".:;!?" or i == len(lines) - 1 else line + "."
                    for i, line in enumerate(lines))


def _union(boxes: list) -> tuple[int, int, int, int] | None:
    """The smallest box (row0, row1, col0, col1) holding every box given (None entries skipped).

    >>> _union([(0, 2, 5, 6), None, (1, 4, 0, 1)]), _union([None])
    ((0, 4, 0, 6), None)
    """
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    return (min(b[0] for b in boxes), max(b[1] for b in boxes),
            min(b[2] for b in boxes), max(b[3] for b in boxes))


def _digest(x: Any) -> tuple:
    a = np.asarray(x)
    return (a.shape, a.dtype.str, hash(np.ascontiguousarray(a).tobytes()))


def _look(a: Any) -> tuple | None:
    """What an artist looks like, from public getters: equal looks draw equal pixels.  None for
    kinds this does not know (they always count as changed).

    A look is (kind, points, the rest): ``points`` are a line's data (None for other artists),
    so that a markers-only line whose points alone changed can be told apart (see
    ``Explorer._changed_places``)."""
    common = (type(a).__name__, a.get_visible(), a.get_zorder(), a.get_alpha())
    points = None
    if isinstance(a, Text):
        patch = a.get_bbox_patch()
        key = (a.get_text(), tuple(np.ravel(a.get_unitless_position())),
               to_rgba(a.get_color()), hash(a.get_fontproperties()), a.get_rotation(),
               a.get_horizontalalignment(), a.get_verticalalignment(),
               None if patch is None else (to_rgba(patch.get_facecolor()), to_rgba(patch.get_edgecolor()),
                                           patch.get_linewidth(), str(patch.get_boxstyle())))
        if isinstance(a, Annotation):
            ap = a.arrow_patch
            key += (tuple(np.ravel(a.xy)), None if ap is None else (
                ap.get_visible(), to_rgba(ap.get_edgecolor()), to_rgba(ap.get_facecolor()), ap.get_linewidth()))
    elif isinstance(a, Line2D):
        points = (_digest(a.get_xdata(orig=True)), _digest(a.get_ydata(orig=True)))
        key = (to_rgba(a.get_color()), a.get_linestyle(), a.get_linewidth(), a.get_marker(), a.get_markersize(),
               to_rgba(a.get_markerfacecolor()), to_rgba(a.get_markeredgecolor()), a.get_markeredgewidth())
    elif isinstance(a, Collection):
        arr = a.get_array()
        key = (_digest(a.get_offsets()), _digest(a.get_facecolor()), _digest(a.get_edgecolor()),
               _digest(a.get_linewidth()), _digest(getattr(a, "get_sizes", list)()), len(a.get_paths()),
               None if arr is None else (_digest(arr), a.get_clim()))
    elif isinstance(a, AxesImage):
        key = (_digest(a.get_array()), tuple(a.get_extent()), a.get_clim())
    elif isinstance(a, PathPatch):  # a GlyphText among them: its outline, where it is drawn
        key = (_digest(a.get_path().vertices), tuple(a.get_transform().get_matrix().ravel()),
               to_rgba(a.get_facecolor()), to_rgba(a.get_edgecolor()), a.get_linewidth())
    elif isinstance(a, Rectangle):
        key = (a.get_bbox().bounds, to_rgba(a.get_facecolor()), to_rgba(a.get_edgecolor()),
               a.get_linewidth(), a.get_hatch())
    else:
        return None
    return common, points, key


def _clusters(boxes: list) -> list[tuple[int, int, int, int]]:
    """Boxes (row0, row1, col0, col1) merged until no two overlap (None entries skipped).

    >>> _clusters([(0, 2, 0, 2), (1, 3, 1, 3), (10, 12, 10, 12), None])
    [(0, 3, 0, 3), (10, 12, 10, 12)]
    """
    out: list[tuple[int, int, int, int]] = []
    for b in boxes:
        if b is None:
            continue
        while True:
            hit = next((o for o in out if _overlaps(o, b)), None)
            if hit is None:
                break
            out.remove(hit)
            b = _union([hit, b])
        out.append(b)
    return sorted(out)


def _marker_extent(a: Any, dpi: float) -> Bbox | None:
    """Where a scatter's markers paint, in pixels (None for other artists).  matplotlib gives a
    scatter whose markers sit at data points an empty extent, which would mean "anywhere"."""
    if not (isinstance(a, Collection) and isinstance(a.get_transform(), IdentityTransform)
            and hasattr(a, "get_sizes") and len(a.get_sizes()) and len(a.get_offsets()) and a.get_paths()):
        return None
    pts = a.get_offset_transform().transform(np.asarray(a.get_offsets(), float))
    reach = (max(np.abs(p.vertices).max() for p in a.get_paths())
             * np.sqrt(np.max(a.get_sizes())) * dpi / 72.0)
    (x0, y0), (x1, y1) = pts.min(axis=0), pts.max(axis=0)
    return Bbox.from_extents(x0 - reach, y0 - reach, x1 + reach, y1 + reach)


def _markers(a: Any) -> tuple[tuple[tuple[float, float], ...], float] | None:
    """For a line that draws only markers, all of one look: where its markers sit (pixels) and
    how far each reaches (the box around a marker is its centre +- that).  None for other
    artists.  Such a line's pixels depend only on which markers it has, not on their order
    (markers of one colour blend the same either way), so a change of its points repaints only
    around the markers added or removed."""
    if not (isinstance(a, Line2D) and a.get_linestyle() in ("None", "none", "", " ")
            and a.get_marker() not in (None, "None", "none", "", " ") and a.get_markevery() is None):
        return None
    xy = a.get_transform().transform(np.asarray(a.get_xydata(), float))
    xy = xy[np.isfinite(xy).all(axis=1)]
    reach = (a.get_markersize() / 2 + a.get_markeredgewidth()) * a.figure.dpi / 72.0 + 3
    return tuple(map(tuple, xy.tolist())), reach


def _moved(old: tuple, new: tuple) -> list[tuple[float, float]]:
    """The markers in one of two lists and not the other (counting repeats).

    >>> _moved(((1, 1), (2, 2), (2, 2)), ((2, 2), (3, 3)))
    [(1, 1), (2, 2), (3, 3)]
    """
    a, b = Counter(old), Counter(new)
    return sorted(((a - b) + (b - a)).elements())


def _overlaps(a: tuple | None, b: tuple) -> bool:
    return a is not None and a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


class Explorer:
    """Base class.  Subclasses set ``controls`` (name -> widget) and implement ``_draw`` (called
    once, creates artists) and ``_update`` (moves them).  ``model`` holds the latest model object.

    ``_draw`` lists in ``self.dynamic`` the artists that ``_update`` changes: they are drawn on
    top of a kept picture of everything else.  An update that changes anything else (axis
    limits, the grid's shape, a legend) calls ``self.relayout()`` to have the whole figure drawn
    again; ``self.relayout(key)`` says that everything outside ``dynamic`` is then a function of
    ``key`` (the page count, the bit layout shown), so a kept picture drawn for the same key is
    reused instead of a full draw (the last ``KEPT_BACKGROUNDS`` keys are kept).
    """

    #: How many pictures of the figure without its dynamic artists are kept, one per relayout key.
    KEPT_BACKGROUNDS = 4

    #: Figure size in inches.
    figsize: tuple[float, float] = (8.0, 3.0)
    title: str = ""

    def __init__(self, **params: Any) -> None:
        self.controls: dict[str, W.ValueWidget] = self._make_controls()
        self._defaults = {k: w.value for k, w in self.controls.items()}
        self.figure = new_figure(*self.figsize)
        self.figure.set_dpi(DPI)
        self.canvas = FigureCanvasAgg(self.figure)
        self.picture = Picture(on_view=self._on_view, on_painted=self._on_painted)
        self.readout = Readout()
        self.error = W.HTML(layout=W.Layout(min_height="0"))
        self.reset_button = W.Button(description="Reset", tooltip="back to the default settings",
                                     layout=W.Layout(width="6em"))
        self.reset_button.on_click(lambda _b: self.reset())
        self.model: Any = None
        self.last_error: Exception | None = None
        self.updates = 0   # how many times the model and artists were updated
        self.pictures = 0  # how many pictures were drawn
        self._muted = False
        self._stale_model = False    # controls changed since the last update
        self._stale_picture = True   # artists changed since the last picture
        self._present_pending = False  # a picture is due once the kernel has answered
        self._background: np.ndarray | None = None  # the figure without its dynamic artists
        self._layout_key: Any = None  # what that picture is a function of (None: not known)
        self._backgrounds: dict[tuple, np.ndarray] = {}  # (key, dpi) -> a kept background
        self._places: dict[int, tuple[int, int, int, int] | None] = {}  # where each was drawn
        self._looks: dict[int, tuple | None] = {}  # how each dynamic artist looked when drawn
        self._marks: dict[int, tuple | None] = {}  # a markers-only line's markers when drawn
        self._needs_full = True
        self.boxes: list[tuple[int, int, int, int]] | None = None  # where the last render drew
        # where renders drew since the last picture sent (None: a full draw, compare everything)
        self._unsent: list[tuple[int, int, int, int]] | None = None
        self.dynamic: list[Any] = []
        self._draw()
        for a in self.dynamic:
            a.set_animated(True)
        for w in self.controls.values():
            w.observe(self._on_change, names="value")
        self.widget = self._layout()
        self.widget.add_class("avicviz-explorer")
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
        return W.VBox([row(*self.controls.values(), self.reset_button), self.picture, self.error])

    # ---- public ------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """Current value of every control."""
        return {k: w.value for k, w in self.controls.items()}

    def set(self, **params: Any) -> "Explorer":
        """Set controls by name (all at once, one update) and return self.

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
        self._present()
        return self

    def relayout(self, key: Any = None) -> None:
        """Ask for a full redraw after this update (something outside ``dynamic`` changed).

        ``key`` (hashable): what the figure outside ``dynamic`` now depends on, and nothing else
        does; a background kept from an earlier draw with the same key is painted instead of
        drawing the figure again.  None: not known, always draw.
        """
        self._needs_full = True
        self._layout_key = key

    def render(self) -> np.ndarray:
        """The picture for the current settings, as RGBA pixels (rows, columns, 4).

        After a full draw, only the dynamic artists that changed since they were last drawn
        (matplotlib marks them ``stale``) are drawn again, inside boxes that hold their old and
        new places (overlapping places share a box); the dynamic artists overlapping a box are
        drawn again with them, and nothing outside the boxes changes.  ``self.boxes`` lists the
        boxes (None after a full draw).  The tests check that this equals a full draw.
        """
        if self._stale_model:
            self._safe_update()
        if self._needs_full or self._background is None:
            self._needs_full = False
            self.boxes = self._unsent = None
            self._background = self._draw_background()
            buf = np.asarray(self.canvas.buffer_rgba())
            self._redraw(self.dynamic)
        else:
            buf = np.asarray(self.canvas.buffer_rgba())
            looks = {id(a): _look(a) for a in self.dynamic if a.stale}  # once per render
            changed = [a for a in self.dynamic if id(a) in looks
                       and (looks[id(a)] is None or self._looks.get(id(a)) != looks[id(a)])]
            new_places = {id(a): self._place(a) for a in changed}  # where they will be drawn
            places = {**self._places, **new_places}  # an unchanged artist stays where it was
            boxes = _clusters([e for a in changed for e in self._changed_places(a, looks[id(a)],
                                                                                 new_places[id(a)])])
            if boxes:
                # in their order (what is on top stays on top), once each; a changed artist
                # that is now hidden is "drawn" too, so that its new look and place are noted
                redraw = [a for a in self.dynamic if id(a) in new_places
                          or any(_overlaps(places.get(id(a)), b) for b in boxes)]
                # they paint inside their places: keep what is there outside the boxes
                q0, q1, p0, p1 = _union(boxes + [places.get(id(a)) for a in redraw])
                outside = buf[q0:q1, p0:p1].copy()
                for r0, r1, c0, c1 in boxes:
                    buf[r0:r1, c0:c1] = self._background[r0:r1, c0:c1]
                self._redraw(redraw, places, looks)
                inside = [buf[r0:r1, c0:c1].copy() for r0, r1, c0, c1 in boxes]
                buf[q0:q1, p0:p1] = outside  # what the artists drew outside the boxes is undone
                for (r0, r1, c0, c1), part in zip(boxes, inside):
                    buf[r0:r1, c0:c1] = part
            self.boxes = boxes
            if self._unsent is not None:
                self._unsent += boxes
        self.pictures += 1
        self._stale_picture = False
        return buf

    def _draw_background(self) -> np.ndarray:
        """Everything but the dynamic artists, in the canvas and as a copy: kept from an earlier
        draw for the same layout key and pixel ratio where there is one, else drawn."""
        key = None if self._layout_key is None else (self._layout_key, self.figure.dpi)
        if key is not None and not _layout_fixed(self.figure):
            key = None  # a draw would move the axes (a layout engine runs): nothing to reuse
        kept = self._backgrounds.pop(key, None) if key is not None else None
        # get_renderer(): a canvas made for a new pixel ratio has drawn nothing yet
        buf = np.asarray(self.canvas.get_renderer().buffer_rgba()) if kept is not None else None
        if buf is not None and buf.shape == kept.shape:
            buf[...] = kept
            for ax in self.figure.axes:  # as a draw does: an axes with a fixed aspect fits its box
                ax.apply_aspect()
        else:
            self.canvas.draw()
            kept = np.asarray(self.canvas.buffer_rgba()).copy()
        if key is not None:  # the newest last; the oldest goes first
            self._backgrounds[key] = kept
            while len(self._backgrounds) > self.KEPT_BACKGROUNDS:
                del self._backgrounds[next(iter(self._backgrounds))]
        return kept

    def _changed_places(self, a: Any, look: tuple | None, place: tuple | None) -> list:
        """Where the pixels of a changed artist may differ from the last picture: its old and
        new places; for a markers-only line whose look changed only in its points, the places
        of the markers added or removed."""
        old, new = self._marks.get(id(a)), _markers(a)
        before = self._looks.get(id(a))
        if (old is None or new is None or look is None or before is None or old[1] != new[1]
                or (before[0], before[2]) != (look[0], look[2])):  # more than its points changed
            return [self._places.get(id(a)), place]
        h, w = self._background.shape[:2]
        r = new[1]
        boxes = [(max(int(h - y - r), 0), min(int(np.ceil(h - y + r)), h),
                  max(int(x - r), 0), min(int(np.ceil(x + r)), w)) for x, y in _moved(old[0], new[0])]
        return [b for b in boxes if b[0] < b[1] and b[2] < b[3]]

    def _place(self, a: Any) -> tuple[int, int, int, int] | None:
        """Where an artist paints now: (row0, row1, col0, col1) of the picture, padded."""
        if not a.get_visible():
            return None
        renderer = self.canvas.get_renderer()
        try:
            bb = _marker_extent(a, self.figure.dpi) or a.get_window_extent(renderer)
            if isinstance(a, Text) and a.get_bbox_patch() is not None:
                a.update_bbox_position_size(renderer)
                bb = Bbox.union([bb, a.get_bbox_patch().get_window_extent(renderer)])
            if isinstance(a, Annotation) and a.arrow_patch is not None:
                bb = Bbox.union([bb, a.arrow_patch.get_window_extent(renderer)])
        except Exception:  # an artist that cannot say: anywhere
            bb = self.figure.bbox
        if not np.all(np.isfinite(bb.extents)):
            if isinstance(a, Line2D) and not np.isfinite(np.asarray(a.get_xydata(), float)).all(axis=1).any():
                return None  # no point to draw (a marker at NaN): nothing is painted
            bb = self.figure.bbox
        if bb.width <= 0 and bb.height <= 0 and not (isinstance(a, Text) and a.get_text()):
            return None
        lw = np.max(getattr(a, "get_linewidth", lambda: 0)(), initial=0.0)
        pad = int(np.ceil(lw * self.figure.dpi / 72.0)) + 3
        h, w = self._background.shape[:2]
        x0, y0, x1, y1 = bb.extents
        r0, r1 = max(int(h - y1) - pad, 0), min(int(np.ceil(h - y0)) + pad, h)
        c0, c1 = max(int(x0) - pad, 0), min(int(np.ceil(x1)) + pad, w)
        return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else None

    def _redraw(self, artists: list[Any], places: dict[int, Any] | None = None,
                looks: dict[int, tuple | None] | None = None) -> None:
        """Draw ``artists`` and note where each went and how it looked (``places``, ``looks``:
        already known; finding a text's place means laying it out, a large part of an update).

        Only artists whose look changed are drawn again on an update: explorers set every
        dynamic artist on every change, and drawing (text above all, with matplotlib 3.11) is
        the slowest part of a picture."""
        places, looks = places or {}, looks or {}
        for a in artists:
            self.figure.draw_artist(a)  # draws it and clears its ``stale`` mark
            self._places[id(a)] = places[id(a)] if id(a) in places else self._place(a)
            self._looks[id(a)] = looks[id(a)] if id(a) in looks else _look(a)
            self._marks[id(a)] = _markers(a)

    def png(self) -> bytes:
        """The picture for the current settings as PNG bytes."""
        return encode_png(self.render())

    def alt_text(self) -> str:
        """The picture in words: the explorer's title and its readout as plain text."""
        words = plain_text(self.readout.value)
        head = self.title or type(self).__name__
        return f"{head}: {words}" if words else head

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
            self._needs_full = True

    def reset(self) -> "Explorer":
        """Back to the default settings."""
        return self.set(**self._defaults)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """Live widget where widgets run; elsewhere (a static book, nbconvert) its picture,
        with the picture in words as the plain-text form."""
        data = self.widget._repr_mimebundle_(include=include, exclude=exclude) or {}
        data = dict(data)
        data["image/png"] = self.png()
        data["text/plain"] = self.alt_text()
        return data

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
        if self._muted:
            return
        self._stale_model = True
        if not self.picture.busy:  # else: the next "painted" draws the latest values
            self._safe_update()
            self._present_soon()

    def _safe_update(self, reraise: bool = False) -> None:
        self._stale_model = False
        try:
            self._update()
        except Exception as e:  # shown in the widget: a callback's error must not vanish
            self.error.value = (
                f"<div style='color:{TEXT_COLOURS['red']}'><b>This setting hit a bug in avicviz:</b> "
                + html.escape(f"{type(e).__name__}: {e}") + "</div>"
            )
            self.last_error = e
            if reraise:
                raise
        else:
            self.error.value = ""
            self.updates += 1
            self.picture.alt = self.alt_text()
        self._stale_picture = True

    def _present(self) -> None:
        """Send the picture if a browser shows it and has painted the previous one."""
        if self._stale_picture and self.picture.has_view and not self.picture.busy:
            rgba = self.render()
            self.picture.readout = self.readout.value
            self.picture.show(rgba, boxes=_clusters(self._unsent) if self._unsent is not None else None)
            self._unsent = []

    def _present_soon(self) -> None:
        """Send the picture once the message that changed the controls is answered.

        A browser's message (a slider's new value, a "painted" answer) is one request to the
        kernel: "busy", the handler, "idle".  Drawing after the handler, on the kernel's event
        loop, lets "idle" go out at once: the slider may send its next value while this picture is
        drawn, and JupyterLab gets "busy" and "idle" together instead of a picture's time apart
        (each status change costs its toolbar a layout).  Values that arrive before the loop
        turns are merged: one picture, of the latest.

        Only a change made inside a task of the running loop is deferred: a kernel handles each
        message in one.  Anywhere else (plain Python, the tests, a loop that is set but not
        running this code, as Playwright's sync API leaves its own between calls) the picture is
        sent at once, since nothing may ever turn that loop for us.
        """
        if not (self._stale_picture and self.picture.has_view) or self._present_pending:
            return
        loop = _loop_running_this_task()
        if loop is None:
            self._present()
            return
        self._present_pending = True
        loop.call_soon(self._present_now)

    def _present_now(self) -> None:
        self._present_pending = False
        self._present()

    def view_dpi(self) -> float:
        """The resolution at which the browser's view shows the figure at its own size: ``DPI``
        times the screen's pixel ratio, lowered where the output area is narrower than the
        figure (down to a third), so that the browser never scales the picture.

        >>> from avicviz.widgets import GATagExplorer
        >>> ex = GATagExplorer()              # 10 inches wide: 1000 CSS pixels at full size
        >>> ex.picture.ratio, ex.picture.width = 2.0, 800.0
        >>> ex.view_dpi()                     # 800 CSS pixels on a 2x screen: 1600 pixels
        160.0
        """
        natural = float(self.figure.get_figwidth()) * DPI
        width = self.picture.width
        scale = 1.0 if width is None or width >= natural else max(width / natural, 1 / 3)
        return DPI * self.picture.ratio * scale

    def _on_view(self, new: bool) -> None:
        """A browser shows the picture (``new``) or its size changed: render at the resolution
        it is shown at and send it whole (a size change: only if that resolution changed)."""
        dpi = self.view_dpi()
        if not new and dpi == self.figure.dpi:
            return
        if self.figure.dpi != dpi:
            self.figure.set_dpi(dpi)
            self.canvas = FigureCanvasAgg(self.figure)
        self._needs_full = True
        rgba = self.render()
        self.picture.readout = self.readout.value
        self.picture.show(rgba, full=True)
        self._unsent = []

    def _on_painted(self) -> None:
        """The last picture is on screen: draw what changed since (the latest values only)."""
        if self._stale_model:
            self._safe_update()
        self._present_soon()


def _layout_fixed(figure) -> bool:
    """True if drawing the figure leaves its axes where they are (no layout engine runs, no axes
    locator): then a picture of it depends only on its artists' state, not on a draw's layout."""
    engine = figure.get_layout_engine()
    return ((engine is None or isinstance(engine, PlaceHolderLayoutEngine))
            and all(ax.get_axes_locator() is None for ax in figure.axes))


def _loop_running_this_task() -> asyncio.AbstractEventLoop | None:
    """The event loop whose task is running this code, or None (no loop, or no task of it)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return None
    return loop if asyncio.current_task(loop) is not None else None

