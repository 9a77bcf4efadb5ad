"""Interactivity benchmark: how long from a control change to a finished picture.

Run with ``make bench`` (or ``python benchmarks/run.py --help``).  For every explorer in
:mod:`avicviz.widgets` and for two settings (its defaults, and every control at its extreme),
it times one change of one control at a time, the way a learner drags a slider:

* **avicviz** - ``explorer.set(...)``: model update, artists changed in place, the picture
  blitted with matplotlib's public API, and the PNG of the changed box that the explorer's
  picture widget sends to the browser;
* **reused figure, full redraw** - the common pattern of clearing the figure and drawing every
  artist again (``figure.clear()`` + the explorer's own drawing code) before the same render;
* **new figure per change** - the ``interactive_output`` pattern: a brand-new figure, all
  artists created, rendered to PNG.

The baselines run the explorer's own drawing code on the same data, so the ratio isolates the
update strategy.  The script also measures ``import avicviz``, the headless execution of the
notebook suite and (when Chromium is available) in a real browser: the latency from a key press
on a slider to changed canvas pixels, and mouse drags of each demo's first slider (pictures per
second during the drag, how much the drag itself slows, the last picture after release), beside
ipympl's ``draw_idle`` on the same one-bar figure.  Everything goes to ``benchmarks/results.md``.

The benchmark never fails: a missing browser or a failing part is reported in the table.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")

#: Targets from the interactivity budget (milliseconds / seconds).
TARGET_MEDIAN_MS = 16.0
TARGET_P95_MS = 33.0
TARGET_BROWSER_MS = 50.0
TARGET_BROWSER_P95_MS = 100.0
TARGET_DRAG_FPS = 20.0
TARGET_DRAG_SLOWDOWN = 1.30
TARGET_RELEASE_MS = 150.0
TARGET_IMPORT_MS = 100.0
TARGET_SUITE_S = 60.0


# ---- statistics --------------------------------------------------------------------------
def summarise(samples_s: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of ``samples_s`` (seconds), in milliseconds.

    >>> summarise([0.001, 0.002, 0.003])
    (2.0, 2.9)
    """
    if not samples_s:
        raise ValueError("samples_s is empty: need at least one timing")
    ms = sorted(s * 1000.0 for s in samples_s)
    med = statistics.median(ms)
    if len(ms) == 1:
        return round(med, 3), round(ms[0], 3)
    # linear interpolation between closest ranks (numpy's default)
    pos = 0.95 * (len(ms) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(ms) - 1)
    p95 = ms[lo] + (ms[hi] - ms[lo]) * (pos - lo)
    return round(med, 3), round(p95, 3)


# ---- which changes to time ---------------------------------------------------------------
def extreme_settings(explorer: Any) -> dict[str, Any]:
    """Every control at its extreme: sliders at max, choices at their last option.

    Sliders' maximum is where the work is largest (4096 vCPUs, 8 table pages); a release menu
    goes to its newest release (the oldest ones have no GATag at all: nothing to draw).
    """
    from avicviz.releases import parse_version
    from avicviz.widgets._base import option_values

    out = {}
    for name, w in explorer.controls.items():
        opts = option_values(w)
        if opts is not None and name == "kernel":
            out[name] = max(opts, key=parse_version)
        elif opts is not None:
            out[name] = opts[-1]
        elif hasattr(w, "max"):
            out[name] = w.max
        elif isinstance(w.value, bool):
            out[name] = True
    return out


def neighbour(explorer: Any, name: str, value: Any) -> Any | None:
    """The value one step away from ``value`` for control ``name`` (None if it has one value)."""
    from avicviz.widgets._base import option_values

    w = explorer.controls[name]
    opts = option_values(w)
    if opts is not None:
        if len(opts) < 2:
            return None
        i = opts.index(value)
        return opts[i - 1] if i > 0 else opts[1]
    if isinstance(value, bool):
        return not value
    if hasattr(w, "max"):
        step = getattr(w, "step", 1) or 1
        if value + step <= w.max:
            return type(value)(value + step)
        if value - step >= w.min:
            return type(value)(value - step)
        return None
    return None


def change_plan(explorer: Any, base: dict[str, Any], rounds: int) -> list[dict[str, Any]]:
    """A sequence of single-control changes around ``base`` (each control stepped to its
    neighbour and back), repeated ``rounds`` times."""
    steps: list[dict[str, Any]] = []
    for _ in range(rounds):
        for name in explorer.controls:
            v = base.get(name, explorer.controls[name].value)
            n = neighbour(explorer, name, v)
            if n is None:
                continue
            steps.append({name: n})
            steps.append({name: v})
    return steps


# ---- timing one explorer -----------------------------------------------------------------
@dataclass
class Row:
    explorer: str
    setting: str
    changes: int
    ours: tuple[float, float]
    full_redraw: tuple[float, float]
    new_figure: tuple[float, float]
    errors: list[str] = field(default_factory=list)
    sent_kb: float = 0.0  # median size of the PNG sent per change

    @property
    def meets(self) -> bool:
        return _meets(self.ours)


def _meets(t: tuple[float, float]) -> bool:
    return t[0] <= TARGET_MEDIAN_MS and t[1] <= TARGET_P95_MS


def _png(fig: Any) -> bytes:
    """Render ``fig`` to PNG bytes, as the inline backend does for a new figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()


def _time(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _attach(explorer: Any) -> list[int]:
    """Make the explorer behave as when a browser shows it and paints every picture at once:
    each change then renders and sends a PNG, so the timing includes what the browser needs.
    Returns the list that collects the size of every PNG sent."""
    sizes: list[int] = []
    pic = explorer.picture

    def send(content: dict, buffers: list | None = None) -> None:
        sizes.append(sum(map(len, buffers)) if buffers else 0)
        pic._message(pic, {"type": "painted", "seq": content["seq"]}, [])

    pic.send = send
    pic._message(pic, {"type": "hello", "ratio": 1}, [])  # the first picture, as a page opens
    return sizes


def bench_explorer(cls: type, setting: str, rounds: int, baseline_rounds: int) -> Row:
    """Time single-control changes of ``cls`` at ``setting`` ("default" or "extreme").

    Each timing runs from the control change to the PNG bytes sent to the browser.
    """
    import numpy as np

    from avicviz.plots._style import new_figure

    ours_ex = cls()
    base = dict(ours_ex.params)
    if setting == "extreme":
        base.update(extreme_settings(ours_ex))
    ours_ex.set(**base)
    sizes = _attach(ours_ex)
    plan = change_plan(ours_ex, base, rounds)
    for step in plan[:2]:  # warm caches (fonts, text layout) before timing
        ours_ex.set(**step)
    sizes.clear()
    ours = [_time(lambda: ours_ex.set(**step)) for step in plan]
    from avicviz.widgets.picture import encode_png

    # Baselines: a second instance whose figure is rebuilt from scratch on every change,
    # with the same drawing code and the same data but no blitting.
    ref = cls()
    ref.set(**base)
    ref._muted = True  # baselines change controls without triggering in-place updates
    bplan = change_plan(ref, base, baseline_rounds)

    def rebuild(fig: Any) -> None:
        ref.figure = fig
        ref._draw()
        for a in ref.dynamic:
            a.set_animated(False)
        ref.dynamic = []
        ref._update()

    def full_redraw(step: dict[str, Any]) -> None:
        for k, v in step.items():
            ref.controls[k].value = v
        ref.figure.clear()
        rebuild(ref.figure)
        ref.canvas.draw()
        encode_png(np.asarray(ref.canvas.buffer_rgba()))  # the whole picture goes to the browser

    canvas = ref.canvas

    def new_fig(step: dict[str, Any]) -> None:
        for k, v in step.items():
            ref.controls[k].value = v
        rebuild(new_figure(*ref.figsize))
        _png(ref.figure)

    with warnings.catch_warnings():
        # clearing a figure with log axes makes matplotlib warn about limits it then fixes
        warnings.simplefilter("ignore", UserWarning)
        redraws = [_time(lambda: full_redraw(s)) for s in bplan]
        ref.figure = canvas.figure
        news = [_time(lambda: new_fig(s)) for s in bplan]
    errors = [f"{type(ours_ex.last_error).__name__}: {ours_ex.last_error}"] if ours_ex.last_error else []
    return Row(cls.__name__, setting, len(plan), summarise(ours), summarise(redraws),
               summarise(news), errors, statistics.median(sizes) / 1024 if sizes else 0.0)


def explorer_classes(only: list[str] | None = None) -> list[type]:
    """Every explorer class that :mod:`avicviz.widgets` lists and that exists."""
    import avicviz.widgets as w

    out = []
    for name, mod in sorted(w._WHERE.items()):
        if name in ("Explorer", "Check", "check") or (only and name not in only):
            continue
        try:
            m = importlib.import_module(f"avicviz.widgets.{mod}")
        except ModuleNotFoundError:
            continue
        if hasattr(m, name):
            out.append(getattr(m, name))
    return out


# ---- whole-program measurements ----------------------------------------------------------
def import_time(repeats: int = 7) -> tuple[float, float]:
    """Median and p95 (ms) of ``import avicviz`` in a fresh interpreter."""
    code = "import time; t=time.perf_counter(); import avicviz; print(time.perf_counter()-t)"
    samples = []
    for _ in range(repeats):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        samples.append(float(out.stdout.strip()))
    return summarise(samples)


def suite_time(notebooks: list[Path]) -> tuple[float, list[str]]:
    """Seconds to execute every notebook headless, one after another, as the tests do."""
    import nbformat
    from nbclient import NotebookClient

    problems = []
    t0 = time.perf_counter()
    for p in notebooks:
        nb = nbformat.read(p, as_version=4)
        try:
            NotebookClient(nb, timeout=180, kernel_name="python3",
                           resources={"metadata": {"path": str(p.parent)}}).execute()
        except Exception as e:  # reported, the benchmark never fails
            problems.append(f"{p.name}: {type(e).__name__}")
    return time.perf_counter() - t0, problems


#: Code run in the lesson's kernel before the key presses: it times every explorer update there
#: (wall clock and CPU), so the browser latency can be split into the kernel's part and the rest.
_KERNEL_PROBE = """
import json as _json, time as _time
from avicviz.widgets import _base as _avb
_avicviz_probe = []
if not hasattr(_avb.Explorer, "_unprobed_change"):
    _avb.Explorer._unprobed_change = _avb.Explorer._on_change
    def _probed_change(self, change):
        w, c = _time.perf_counter(), _time.process_time()
        try:
            return _avb.Explorer._unprobed_change(self, change)
        finally:
            _avicviz_probe.append(((_time.perf_counter() - w) * 1e3, (_time.process_time() - c) * 1e3))
    _avb.Explorer._on_change = _probed_change
"""

#: A notebook the browser measurement writes next to the lessons: trivial figures (one bar whose
#: length follows a slider): an avicviz Explorer and the common ipympl pattern (``set_xdata`` +
#: ``draw_idle``); and a slider connected to nothing, the reference for how long a drag takes
#: when no picture changes.
_FLOOR_CELLS = (
    """%matplotlib widget
import ipywidgets as W
from avicviz.widgets._base import Explorer

class Bar(Explorer):
    figsize = (6.0, 2.0)

    def _make_controls(self):
        return {"n": W.IntSlider(value=5, min=0, max=100)}

    def _draw(self):
        ax = self.figure.add_subplot()
        ax.set_xlim(0, 100)
        ax.set_ylim(0, 1)
        self.bar, = ax.plot([0, 5], [0.5, 0.5], lw=8)
        self.dynamic = [self.bar]

    def _update(self):
        self.bar.set_xdata([0, self.params["n"]])

Bar()""",
    """import matplotlib.pyplot as plt
plt.ioff()
fig, ax = plt.subplots(figsize=(6, 2))
ax.set_xlim(0, 100)
ax.set_ylim(0, 1)
line, = ax.plot([0, 5], [0.5, 0.5], lw=8)
slider = W.IntSlider(value=5, min=0, max=100)

def on_change(change):
    line.set_xdata([0, change["new"]])
    fig.canvas.draw_idle()

slider.observe(on_change, names="value")
fig.canvas.header_visible = False
W.VBox([slider, fig.canvas])""",
    """import ipywidgets as W
W.IntSlider(value=5, min=0, max=100, description="idle")""",
)
FLOOR_CASES = ("floor: a one-bar avicviz Explorer (the kernel does almost nothing)",
               "baseline: the same bar with ipympl set_xdata + draw_idle")


def _write_floor_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}})
    nb.cells = [nbformat.v4.new_code_cell(c) for c in _FLOOR_CELLS]
    nbformat.write(nb, path)


def _presses(harness: Any, page: Any, slider: Any, canvas: Any, repeats: int) -> list[float]:
    """Key press -> changed pixels (ms) for ``repeats`` presses after two warm-up presses."""
    samples = []
    for i in range(repeats + 2):
        key = "ArrowRight" if i % 2 == 0 else "ArrowLeft"
        ms = harness.key_to_pixels_ms(page, slider, canvas, key=key)
        if i >= 2 and ms is not None:
            samples.append(ms)
    return samples


#: (lesson, explorer) pairs whose first slider the browser measurement moves.
BROWSER_CASES = (("02_gatag.ipynb", "GATagExplorer"), ("03_past_512.ipynb", "Past512Explorer"))


#: Where each case of the floor notebook draws: (figure selector, index among those figures).
_FLOOR_FIGURES = ((".avicviz-picture", 0), (".jupyter-matplotlib", 0))


@dataclass
class DragRow:
    where: str
    name: str
    fps: float | None
    duration_ms: float | None
    release_ms: float | None
    note: str = ""
    idle_ms: float | None = None  # the same drag of a slider connected to nothing
    shown_fps: float | None = None  # answers per second the learner saw: a new picture or readout
    #: the same drag of the same slider in the same page with the page's explorers muted (the
    #: kernel takes the values, the figure does not change): issue 9's reference, where measured
    still_ms: float | None = None
    #: each live drag's duration over that of the still drag just before it, median: this
    #: shared machine's speed drifts within a minute, and neighbours see about the same speed
    still_ratio: float | None = None

    @property
    def idle_slowdown(self) -> float | None:
        if self.duration_ms is None or not self.idle_ms:
            return None
        return self.duration_ms / self.idle_ms

    @property
    def slowdown(self) -> float | None:
        """Against the same slider with the figure still where measured, else the idle slider."""
        if self.still_ratio is not None:
            return self.still_ratio
        if self.duration_ms is not None and self.still_ms:
            return self.duration_ms / self.still_ms
        return self.idle_slowdown

    @property
    def meets(self) -> bool:
        return (self.shown_fps is not None and self.shown_fps >= TARGET_DRAG_FPS
                and self.slowdown is not None and self.slowdown <= TARGET_DRAG_SLOWDOWN
                and self.release_ms is not None and self.release_ms <= TARGET_RELEASE_MS)


#: the legs of every measured drag (fractions of the slider's track) and pointer moves per leg
DRAG_LEGS = (0.25, 0.02, 0.2)  # the lower quarter: where every first slider changes the picture
DRAG_STEPS = 30


def idle_drag_ms(harness: Any, page: Any, slider: Any, repeats: int = 3) -> float:
    """Median milliseconds of the standard drag on a slider that changes no picture."""
    out = []
    for _ in range(repeats):
        slider.scroll_into_view_if_needed()
        b = slider.locator(harness.SLIDER_HANDLE).first.bounding_box()
        t = slider.locator(".noUi-target, .slider-container").first.bounding_box()
        y = b["y"] + b["height"] / 2
        page.mouse.move(b["x"] + b["width"] / 2, y)
        t0 = time.perf_counter()
        page.mouse.down()
        for f in DRAG_LEGS:
            page.mouse.move(t["x"] + f * t["width"], y, steps=DRAG_STEPS)
        page.mouse.up()
        out.append(time.perf_counter() - t0)
        time.sleep(0.3)
    return statistics.median(out) * 1000


def drag_row(harness: Any, page: Any, where: str, name: str, slider: Any, canvas: Any,
             repeats: int = 3, reference: Callable[[], float] | None = None) -> DragRow:
    """Drag ``slider`` ``repeats`` times as a person does; medians of what the page painted.
    ``reference``, when given, runs before every drag and returns the duration (ms) of the
    reference drag: the row then holds their median and the median ratio of each pair."""
    try:
        drags, refs = [], []
        for _ in range(repeats):
            if reference is not None:
                refs.append(reference())
            drags.append(harness.drag_slider(page, slider, canvas, legs=DRAG_LEGS, steps=DRAG_STEPS))
    except Exception as e:  # reported, the benchmark never fails
        return DragRow(where, name, None, None, None, f"failed: {type(e).__name__}: {e}")
    rel = [d.after_ms for d in drags if d.after_ms is not None]
    row = DragRow(where, name, statistics.median(d.per_second for d in drags),
                  statistics.median(d.duration_ms for d in drags),
                  statistics.median(rel) if rel else 0.0,
                  f"{statistics.median(d.during for d in drags):.0f} pictures during the drag",
                  shown_fps=statistics.median(d.shown_per_second for d in drags))
    if refs:
        row.still_ms = statistics.median(refs)
        row.still_ratio = statistics.median(d.duration_ms / r for d, r in zip(drags, refs))
    return row


def browser_drags() -> list[DragRow]:
    """Mouse drags of the first slider of each demo in Voilà (the workshop page)."""
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    import harness  # type: ignore[import-not-found]

    if not harness.find_chromium():
        return [DragRow("Voilà", "browser", None, None, None, "no Chromium on this machine")]
    import nbformat

    rows: list[DragRow] = []
    with tempfile.TemporaryDirectory() as tmp:
        demos = Path(tmp) / "demos"
        shutil.copytree(ROOT / "notebooks" / "demos", demos)
        nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
            "name": "python3", "display_name": "Python 3", "language": "python"}})
        nb.cells = [nbformat.v4.new_code_cell(_FLOOR_CELLS[-1])]
        nbformat.write(nb, demos / "bench_idle.ipynb")
        with harness.voila(demos) as server, harness.browser() as b:
            page = harness.new_page(b)
            page.goto(server.voila_url("bench_idle.ipynb"), wait_until="domcontentloaded")
            page.locator(harness.SLIDER).first.wait_for(timeout=60_000)
            idle = idle_drag_ms(harness, page, page.locator(harness.SLIDER).first)
            for demo in sorted(p.name for p in demos.glob("*.ipynb")
                               if p.name not in ("index.ipynb", "bench_idle.ipynb")):
                try:
                    harness.open_voila(page, server, demo, figures=len(harness.explorers_in(demos / demo)))
                    fig = page.locator(harness.FIGURE).first
                    slider = harness.explorer_box(fig).locator(harness.SLIDER).first
                    label = slider.locator(".widget-label").first.inner_text().strip()
                    row = drag_row(harness, page, "Voilà",
                                   f"{harness.first_explorer_in(demos / demo)}: {label} ({demo})",
                                   slider, fig.locator("canvas").first)
                except Exception as e:  # reported, the benchmark never fails
                    row = DragRow("Voilà", demo, None, None, None, f"failed: {type(e).__name__}: {e}")
                row.idle_ms = idle
                rows.append(row)
    return rows


#: Issue 9's two public routes side by side on the same one-bar figure, in Voilà: (name, code,
#: figure selector).  Route a is ipympl with matplotlib's documented blitting pattern (the
#: background kept on every ``draw_event``, ``restore_region`` + ``draw_artist`` + ``blit``);
#: route b is avicviz's Picture; the third is plain ipympl ``set_xdata`` + ``draw_idle``.
_IPYMPL = "import matplotlib\nmatplotlib.use('module://ipympl.backend_nbagg')\n"
ROUTE_CASES = (
    ("route a: ipympl + documented blitting", _IPYMPL + """import matplotlib.pyplot as plt
import ipywidgets as W
plt.ioff()
fig, ax = plt.subplots(figsize=(6, 2))
ax.set_xlim(0, 100)
ax.set_ylim(0, 1)
line, = ax.plot([0, 5], [0.5, 0.5], lw=8, animated=True)
fig.canvas.header_visible = False
kept = {}

def on_draw(event):  # after every full draw: keep the background, draw the bar on it
    kept["bg"] = fig.canvas.copy_from_bbox(fig.bbox)
    ax.draw_artist(line)

fig.canvas.mpl_connect("draw_event", on_draw)
slider = W.IntSlider(value=5, min=0, max=100)

def on_change(change):
    line.set_xdata([0, change["new"]])
    if "bg" not in kept:
        fig.canvas.draw_idle()
        return
    fig.canvas.restore_region(kept["bg"])
    ax.draw_artist(line)
    fig.canvas.blit(fig.bbox)

slider.observe(on_change, names="value")
W.VBox([slider, fig.canvas])""", ".jupyter-matplotlib"),
    ("route b: avicviz Picture (anywidget)", _FLOOR_CELLS[0].replace("%matplotlib widget\n", ""), ".avicviz-picture"),
    ("ipympl set_xdata + draw_idle", _IPYMPL + _FLOOR_CELLS[1].replace(
        "import matplotlib.pyplot as plt", "import matplotlib.pyplot as plt\nimport ipywidgets as W"), ".jupyter-matplotlib"),
)


@dataclass
class RouteRow:
    name: str
    key_ms: float | None
    key_p95_ms: float | None
    drag: DragRow


def browser_routes(repeats: int) -> list[RouteRow]:
    """Key presses and mouse drags on the one-bar figure of each route, each in its own Voilà page."""
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    import harness  # type: ignore[import-not-found]

    if not harness.find_chromium():
        return []
    import nbformat

    out: list[RouteRow] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "routes"
        root.mkdir()
        for i, (_name, code, _sel) in enumerate(ROUTE_CASES + (("idle", _FLOOR_CELLS[-1], ""),)):
            nb = nbformat.v4.new_notebook(metadata={"kernelspec": {
                "name": "python3", "display_name": "Python 3", "language": "python"}})
            nb.cells = [nbformat.v4.new_code_cell(code)]
            nbformat.write(nb, root / f"case{i}.ipynb")
        with harness.voila(root) as server, harness.browser() as b:
            page = harness.new_page(b)
            page.goto(server.voila_url(f"case{len(ROUTE_CASES)}.ipynb"), wait_until="domcontentloaded")
            page.locator(harness.SLIDER).first.wait_for(timeout=60_000)
            idle = idle_drag_ms(harness, page, page.locator(harness.SLIDER).first)
            for i, (name, _code, sel) in enumerate(ROUTE_CASES):
                try:
                    page.goto(server.voila_url(f"case{i}.ipynb"), wait_until="domcontentloaded")
                    fig = page.locator(sel).first
                    fig.wait_for(timeout=60_000)
                    slider = page.locator(harness.SLIDER).first
                    canvas = fig.locator("canvas").first
                    harness.wait_canvas_stable(canvas, quiet=1.0)
                    presses = _presses(harness, page, slider, canvas, repeats)
                    drag = drag_row(harness, page, "Voilà", name, slider, canvas)
                    drag.idle_ms = idle
                    out.append(RouteRow(name, statistics.median(presses) if presses else None,
                                        summarise([x / 1000 for x in presses])[1] if presses else None, drag))
                except Exception as e:  # reported, the benchmark never fails
                    out.append(RouteRow(name, None, None, DragRow("Voilà", name, None, None, None,
                                                                  f"failed: {type(e).__name__}: {e}")))
    return out


def route_table(rows: list[RouteRow]) -> str:
    """The routes compared, as Markdown."""
    head = ("| route (one-bar figure, Voilà) | key press -> changed pixels, median / p95 | "
            "pictures per second during a drag | drag slowed by | last picture after release |\n"
            "|---|---:|---:|---:|---:|\n")
    lines = []
    for r in rows:
        d = r.drag
        key = f"{r.key_ms:.0f} / {r.key_p95_ms:.0f} ms" if r.key_ms is not None else "not measured"
        if d.fps is None:
            lines.append(f"| {r.name} | {key} | not measured: {d.note} | | |")
            continue
        slow = f"{(d.slowdown - 1) * 100:+.0f}%" if d.slowdown is not None else "?"
        lines.append(f"| {r.name} | {key} | {d.fps:.1f} | {slow} | {d.release_ms:.0f} ms |")
    return head + "\n".join(lines) + "\n"


#: Run in a lesson's kernel: mute (True) or unmute (False) every explorer, for the reference drag
#: "the same drag while the figure does not update" (the values still reach the kernel).
_MUTE_EXPLORERS = """import gc as _gc
from avicviz.widgets._base import Explorer as _Explorer
for _x in [_o for _o in _gc.get_objects() if isinstance(_o, _Explorer)]:
    _x._muted = {0}"""

#: Pairs of a still drag and a live one per lesson in JupyterLab: a pair's ratio varies by +-10
#: points on this 2-core machine, so the median of five moved by 10-15 points from run to run.
LAB_PAIRS = 9

#: Drags measured in JupyterLab by browser_latency() (it has the lessons open anyway).
LAB_DRAGS: list[DragRow] = []


def browser_latency(repeats: int) -> list[tuple[str, float | None, str]]:
    """Key press on a slider to changed canvas pixels in JupyterLab + Chromium (median ms).

    Uses the browser tests' harness: a private copy of the notebooks in a JupyterLab on a free
    loopback port, Run All, then ``repeats`` key presses (alternating right and left, after two
    unmeasured warm-up presses) on the first slider of the lesson's first explorer.
    """
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    try:
        import harness  # type: ignore[import-not-found]
    except Exception as e:
        return [("browser", None, f"browser harness not available: {type(e).__name__}: {e}")]
    if not harness.find_chromium():
        return [("browser", None, "no Chromium on this machine")]
    out: list[tuple[str, float | None, str]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "notebooks"
            shutil.copytree(ROOT / "notebooks", root,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            with harness.jupyter_lab(root) as server, harness.browser() as b:
                page = harness.new_page(b)
                for lesson, name in BROWSER_CASES:
                    panel = harness.open_and_run_all(page, server, lesson)
                    try:
                        fig = panel.locator(harness.FIGURE).first
                        slider = harness.explorer_box(fig).locator(harness.SLIDER).first
                        canvas = fig.locator("canvas").first
                        # one drag to warm up, not measured; then each drag of the live
                        # figure follows one of the same slider with the figure still, so
                        # that both see the same moment of this shared machine
                        harness.drag_slider(page, slider, canvas, legs=DRAG_LEGS, steps=DRAG_STEPS)

                        def still_drag() -> float:
                            harness.run_in_kernel(page, panel.copy_name, _MUTE_EXPLORERS.format(True))
                            try:
                                return idle_drag_ms(harness, page, slider, repeats=1)
                            finally:
                                harness.run_in_kernel(page, panel.copy_name, _MUTE_EXPLORERS.format(False))

                        LAB_DRAGS.append(drag_row(harness, page, "JupyterLab", f"{name} ({lesson})", slider,
                                                  canvas, repeats=LAB_PAIRS, reference=still_drag))
                        harness.run_in_kernel(page, panel.copy_name, _KERNEL_PROBE)
                        _presses(harness, page, slider, canvas, 0)  # warm up
                        harness.run_in_kernel(page, panel.copy_name, "_avicviz_probe.clear()")
                        samples = _presses(harness, page, slider, canvas, repeats)
                        probe = json.loads(harness.run_in_kernel(
                            page, panel.copy_name, "print(_json.dumps(_avicviz_probe))"))
                        if samples:
                            med = statistics.median(samples)
                            kernel = ""
                            if probe:
                                kw = statistics.median(w for w, _c in probe)
                                kc = statistics.median(c for _w, c in probe)
                                kernel = (f"; of which the kernel's update: median {kw:.0f} ms wall clock, "
                                          f"{kc:.0f} ms CPU")
                            out.append((f"{name} ({lesson})", med,
                                        f"{len(samples)} presses, p95 {summarise([x / 1000 for x in samples])[1]:.0f} ms"
                                        + kernel))
                        else:
                            out.append((f"{name} ({lesson})", None, "the canvas never changed"))
                    finally:
                        harness.shutdown_kernel(page, panel.copy_name)
                _write_floor_notebook(root / "bench_floor.ipynb")
                panel = harness.open_and_run_all(page, server, "bench_floor.ipynb")
                try:
                    cases = []
                    harness.wait_widgets_rendered(panel)
                    for (sel, i), name in zip(_FLOOR_FIGURES, FLOOR_CASES):
                        fig = panel.locator(sel).nth(i)
                        slider = harness.explorer_box(fig).locator(harness.SLIDER).first
                        canvas = fig.locator("canvas").first
                        samples = _presses(harness, page, slider, canvas, repeats)
                        out.append((name, statistics.median(samples) if samples else None,
                                    f"{len(samples)} presses, p95 {summarise([x / 1000 for x in samples])[1]:.0f} ms"
                                    if samples else "the canvas never changed"))
                        cases.append((name, slider, canvas))
                    idle = idle_drag_ms(harness, page, panel.locator(harness.SLIDER).last)
                    LAB_DRAGS.extend(drag_row(harness, page, "JupyterLab", n, sl, c) for n, sl, c in cases)
                    for row in LAB_DRAGS:
                        row.idle_ms = idle
                finally:
                    harness.shutdown_kernel(page, panel.copy_name)
    except Exception as e:  # reported, the benchmark never fails
        out.append(("browser", None, f"failed: {type(e).__name__}: {e}"))
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import ipympl
    import matplotlib
    import numpy

    return (f"{cpu}, {os.cpu_count()} cores; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, numpy {numpy.__version__}, "
            f"matplotlib {matplotlib.__version__}, ipympl {ipympl.__version__}")


# ---- report ------------------------------------------------------------------------------
def _ms(t: tuple[float, float]) -> str:
    return f"{t[0]:.1f} / {t[1]:.1f}"


def table(rows: list[Row]) -> str:
    """The explorer table as Markdown."""
    head = ("| explorer | setting | changes | avicviz median / p95 ms | PNG sent (median KiB) "
            "| full redraw median / p95 ms | new figure median / p95 ms | speed-up vs redraw / new "
            "| target met |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|:-:|\n")
    lines = []
    for r in rows:
        ratio_r = r.full_redraw[0] / r.ours[0] if r.ours[0] else float("inf")
        ratio_n = r.new_figure[0] / r.ours[0] if r.ours[0] else float("inf")
        if r.errors:
            ok = f"NO ({'; '.join(r.errors)})"
        else:
            ok = "yes" if r.meets else "NO"
        lines.append(f"| {r.explorer} | {r.setting} | {r.changes} | {_ms(r.ours)} | {r.sent_kb:.1f} | "
                     f"{_ms(r.full_redraw)} | {_ms(r.new_figure)} | {ratio_r:.1f}x / {ratio_n:.1f}x | {ok} |")
    return head + "\n".join(lines) + "\n"


def drag_table(rows: list[DragRow]) -> str:
    """The drag measurements as Markdown."""
    head = ("| where | slider | answers seen per second during the drag (picture or readout) "
            "| pictures per second | drag slowed by: vs the same slider, figure still "
            "| vs an idle slider | last picture after release | target met |\n"
            "|---|---|---:|---:|---:|---:|---:|:-:|\n")
    pct = lambda x: f"{(x - 1) * 100:+.0f}%" if x is not None else "?"  # noqa: E731
    lines = []
    for r in rows:
        if r.fps is None:
            lines.append(f"| {r.where} | {r.name} | not measured: {r.note} | | | | | - |")
            continue
        still = pct(r.slowdown) if r.still_ms else "not measured"
        shown = f"{r.shown_fps:.1f}" if r.shown_fps is not None else "?"
        lines.append(f"| {r.where} | {r.name} ({r.note}) | {shown} | {r.fps:.1f} | {still} | "
                     f"{pct(r.idle_slowdown)} | {r.release_ms:.0f} ms | {'yes' if r.meets else 'NO'} |")
    return head + "\n".join(lines) + "\n"


def other_sections(path: Path, ours: str) -> list[str]:
    """The "## " sections of an existing results file that this script does not write.

    >>> import tempfile; p = Path(tempfile.mkdtemp()) / "r.md"
    >>> _ = p.write_text("# T\\n## Mine\\nx\\n## Workshop load\\ny\\n")
    >>> other_sections(p, "# T\\n## Mine\\nz\\n")
    ['## Workshop load\\ny\\n']
    """
    if not path.exists():
        return []
    mine = {line for line in ours.splitlines() if line.startswith("## ")}
    parts = ("\n" + path.read_text()).split("\n## ")[1:]
    return ["## " + p.rstrip() + "\n" for p in parts if "## " + p.splitlines()[0] not in mine]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5, help="passes over every control (default 5)")
    ap.add_argument("--baseline-rounds", type=int, default=2, help="passes for the baselines (default 2)")
    ap.add_argument("--only", nargs="*", help="explorer class names to time (default all)")
    ap.add_argument("--no-browser", action="store_true", help="skip the browser latency")
    ap.add_argument("--no-suite", action="store_true", help="skip the notebook-suite timing")
    ap.add_argument("--browser-repeats", type=int, default=15)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    args = ap.parse_args(argv)
    for name in ("rounds", "baseline_rounds", "browser_repeats"):
        v = getattr(args, name)
        if not 1 <= v <= 1000:
            ap.error(f"--{name.replace('_', '-')}={v} is out of range: valid range 1..1000")

    rows: list[Row] = []
    for cls in explorer_classes(args.only):
        for setting in ("default", "extreme"):
            try:
                rows.append(bench_explorer(cls, setting, args.rounds, args.baseline_rounds))
            except Exception as e:  # reported in the table, never fatal
                rows.append(Row(cls.__name__, setting, 0, (0, 0), (0, 0), (0, 0),
                                [f"{type(e).__name__}: {e}"]))
            print(table(rows[-1:]).splitlines()[-1], flush=True)

    imp = import_time()
    suite = None
    if not args.no_suite:
        nbs = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
        suite = suite_time(nbs)
    lat = [] if args.no_browser else browser_latency(args.browser_repeats)
    drags: list[DragRow] = []
    if not args.no_browser:
        try:
            drags = browser_drags()
        except Exception as e:  # reported, the benchmark never fails
            drags = [DragRow("Voilà", "browser", None, None, None, f"failed: {type(e).__name__}: {e}")]
        drags += LAB_DRAGS
    routes: list[RouteRow] = []
    if not args.no_browser:
        try:
            routes = browser_routes(args.browser_repeats)
        except Exception as e:  # reported, the benchmark never fails
            print(f"routes not measured: {type(e).__name__}: {e}")

    md = ["# Interactivity benchmark results", "",
          f"Machine: {machine()}.", "",
          f"Generated by `make bench` ({time.strftime('%Y-%m-%d')}). Per-change times run from "
          "the control change to the PNG bytes sent to the browser; "
          f"targets: median <= {TARGET_MEDIAN_MS:g} ms and p95 <= {TARGET_P95_MS:g} ms.", "",
          table(rows), "",
          "| measurement | result | target | met |", "|---|---:|---:|:-:|",
          f"| `import avicviz` (median / p95) | {_ms(imp)} ms | <= {TARGET_IMPORT_MS:g} ms | "
          f"{'yes' if imp[0] <= TARGET_IMPORT_MS else 'NO'} |"]
    if suite is not None:
        secs, probs = suite
        md.append(f"| notebook suite, headless ({len(list((ROOT / 'notebooks').glob('[0-9][0-9]_*.ipynb')))} lessons) "
                  f"| {secs:.1f} s{' (' + '; '.join(probs) + ')' if probs else ''} | <= {TARGET_SUITE_S:g} s | "
                  f"{'yes' if secs <= TARGET_SUITE_S and not probs else 'NO'} |")
    for name, median, note in lat:
        if median is None:
            md.append(f"| browser: {name} | not measured: {note} | <= {TARGET_BROWSER_MS:g} ms | - |")
        elif name in FLOOR_CASES:  # references for the lessons' figures, no target of their own
            md.append(f"| browser key press -> changed pixels, {name} (median, {note}) "
                      f"| {median:.0f} ms | reference | - |")
        else:
            md.append(f"| browser key press -> changed pixels: {name} (median{', ' + note if note else ''}) "
                      f"| {median:.0f} ms | <= {TARGET_BROWSER_MS:g} ms (p95 <= {TARGET_BROWSER_P95_MS:g}) | "
                      f"{'yes' if median <= TARGET_BROWSER_MS else 'NO'} |")
    if drags:
        md += ["", f"Mouse drags in Chromium ({len(DRAG_LEGS)} legs of {DRAG_STEPS} pointer moves, "
               f"median of 3, of {LAB_PAIRS} for the lessons in JupyterLab). Targets: >= {TARGET_DRAG_FPS:g} answers per "
               "second (a new picture, or a new "
               "readout where a slider's range leaves the picture as it is), the drag slowed by "
               f"<= {(TARGET_DRAG_SLOWDOWN - 1) * 100:.0f}%, the last picture <= {TARGET_RELEASE_MS:g} ms "
               "after release. The slowdown is judged against the same drag of the same slider in the "
               "same page with the explorers muted (the kernel takes the values, the figure stays "
               f"still: after one unmeasured drag, {LAB_PAIRS} pairs of a still drag and then a live one, the "
               "median of the pairs' ratios; this machine's speed drifts within a minute) where "
               "that was measured (the lessons in JupyterLab), else against a slider "
               "connected to nothing in a page of its own (the Voilà demo pages are about as small).",
               "", drag_table(drags)]
    if routes:
        md += ["", "The two public routes of issue 9 side by side on the same one-bar figure (Voilà, "
               f"{args.browser_repeats} key presses after two warm-ups, then the standard drag):", "",
               route_table(routes)]
    notes = ROOT / "benchmarks" / "notes.md"
    if notes.exists():  # the hand-written analysis: what was tried, what bounds the rest
        md += ["", notes.read_text().rstrip()]
    text = "\n".join(md) + "\n"
    # other benchmarks' sections (workshop load, trace reader) stay as they were
    text += "".join("\n" + s for s in other_sections(args.out, text))
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
