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

import html
import re
from typing import Any

import ipywidgets as W
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from ..plots._style import new_figure
from .controls import row
from .picture import Picture, encode_png

__all__ = ["Explorer", "option_values"]

#: Dots per inch of a picture on a 1x screen (a 2x screen gets twice as many).
DPI = 100


def option_values(w: Any) -> list[Any] | None:
    """The values a choice control (dropdown, radio buttons, toggles) can take, or None for a
    slider, a number box or a checkbox."""
    if hasattr(w, "options") and w.options is not None and not hasattr(w, "min") \
            and not isinstance(w, W.SelectMultiple):
        return [o[1] if isinstance(o, tuple) else o for o in w.options]
    return None


def plain_text(markup: str) -> str:
    """A readout's HTML as the words a reader sees (tags dropped, lines joined).

    >>> plain_text("<b>max index</b> 0x1FF<br>entries: 4 &amp; more")
    'max index 0x1FF. entries: 4 & more'
    """
    text = re.sub(r"<br\s*/?>|</(?:p|li|tr|div)>", ". ", markup)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"\s*\.(\s*\.)+", ".", re.sub(r"\s+([.,:;])", r"\1", text)).strip(" .") \
        if text else ""


class Explorer:
    """Base class.  Subclasses set ``controls`` (name -> widget) and implement ``_draw`` (called
    once, creates artists) and ``_update`` (moves them).  ``model`` holds the latest model object.

    ``_draw`` lists in ``self.dynamic`` the artists that ``_update`` changes: they are drawn on
    top of a kept picture of everything else.  An update that changes anything else (axis
    limits, the grid's shape, a legend) calls ``self.relayout()`` to have the whole figure drawn
    again.
    """

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
        self.readout = W.HTML(layout=W.Layout(min_height="2.5em"))
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
        self._background = None
        self._needs_full = True
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
        return W.VBox([row(*self.controls.values(), self.reset_button), self.picture,
                       self.readout, self.error])

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

    def relayout(self) -> None:
        """Ask for a full redraw after this update (something outside ``dynamic`` changed)."""
        self._needs_full = True

    def render(self) -> np.ndarray:
        """The picture for the current settings, as RGBA pixels (rows, columns, 4)."""
        if self._stale_model:
            self._safe_update()
        if self._needs_full or self._background is None:
            self._needs_full = False
            self.canvas.draw()  # everything but the dynamic artists
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        else:
            self.canvas.restore_region(self._background)
        for a in self.dynamic:
            self.figure.draw_artist(a)
        self.pictures += 1
        self._stale_picture = False
        return np.asarray(self.canvas.buffer_rgba())

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
            self._present()

    def _safe_update(self, reraise: bool = False) -> None:
        self._stale_model = False
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
            self.picture.alt = self.alt_text()
        self._stale_picture = True

    def _present(self) -> None:
        """Send the picture if a browser shows it and has painted the previous one."""
        if self._stale_picture and self.picture.has_view and not self.picture.busy:
            self.picture.show(self.render())

    def _on_view(self, ratio: float) -> None:
        """A browser shows the picture: render at its pixel ratio and send it whole."""
        if self.figure.dpi != DPI * ratio:
            self.figure.set_dpi(DPI * ratio)
            self.canvas = FigureCanvasAgg(self.figure)
        self._needs_full = True
        self.picture.show(self.render(), full=True)

    def _on_painted(self) -> None:
        """The last picture is on screen: draw what changed since (the latest values only)."""
        if self._stale_model:
            self._safe_update()
        self._present()
