"""The explorer base class: one persistent figure, controls, a readout and an error box.

Every explorer owns exactly one figure, created once.  A change of any control runs
``_update()``, which recomputes the model and updates the figure's existing artists in place
(``set_data`` / ``set_text`` / ``draw_idle``) - never a new figure per event.  ``set(**params)``
is the programmatic way in, used by tests, the reset button and the notebooks' self-checks.  An
exception inside an update is shown in the widget's error box instead of disappearing into a log.
"""

from __future__ import annotations

import html
import warnings
from typing import Any

import ipywidgets as W
from ipympl.backend_nbagg import Canvas, FigureManager

from ..plots._style import new_figure

__all__ = ["Explorer"]

_figure_numbers = iter(range(10_000, 1_000_000))


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
        self.canvas = Canvas(self.figure)
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
        self._background = None
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

    def reset(self) -> "Explorer":
        """Back to the default settings."""
        return self.set(**self._defaults)

    def _ipython_display_(self) -> None:  # pragma: no cover - exercised in notebooks
        from IPython.display import display

        display(self.widget)

    # ---- internals ---------------------------------------------------------------------
    def _check_value(self, name: str, value: Any) -> None:
        w = self.controls[name]
        if hasattr(w, "options") and not isinstance(w, W.SelectMultiple):
            values = [o[1] if isinstance(o, tuple) else o for o in w.options]
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
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
            self._draw_dynamic()

    def _draw_dynamic(self) -> None:
        for a in self.dynamic:
            self.figure.draw_artist(a)

    def _present(self) -> None:
        """Show the updated artists: blit them if possible, else draw the whole figure."""
        if not self._frontend:
            # nothing shows the canvas (tests, nbclient): let whoever shows it ask for a draw
            self.canvas.draw_idle()
            return
        if self.dynamic and self._background is not None and not self._needs_full:
            self.canvas.restore_region(self._background)
            self._draw_dynamic()
            self.canvas.blit(self.figure.bbox)
        else:
            self._needs_full = False
            self.canvas.draw()  # draws, caches the background and sends the picture
