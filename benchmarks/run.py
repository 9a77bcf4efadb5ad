"""Interactivity benchmark: how long from a control change to a finished picture.

Run with ``make bench`` (or ``python benchmarks/run.py --help``).  For every explorer in
:mod:`avicviz.widgets` and for two settings (its defaults, and every control at its extreme),
it times one change of one control at a time, the way a learner drags a slider:

* **avicviz** - ``explorer.set(...)``: model update, artists changed in place, and the picture
  ipympl sends to the browser (a blit of the changed artists where the explorer supports it);
* **reused figure, full redraw** - the common pattern of clearing the figure and drawing every
  artist again (``figure.clear()`` + the explorer's own drawing code) before the same render;
* **new figure per change** - the ``interactive_output`` pattern: a brand-new figure, all
  artists created, rendered to PNG.

The baselines run the explorer's own drawing code on the same data, so the ratio isolates the
update strategy.  The script also measures ``import avicviz``, the headless execution of the
notebook suite and (when Chromium is available) the browser latency from a key press on a
slider to changed canvas pixels, and writes everything to ``benchmarks/results.md``.

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

    Sliders' maximum is where the work is largest (4096 vCPUs, 8 table pages); the last option
    of a release menu is the newest release.
    """
    from avicviz.widgets._base import option_values

    out = {}
    for name, w in explorer.controls.items():
        opts = option_values(w)
        if opts is not None:
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
    cold: tuple[float, float] = (0.0, 0.0)

    @property
    def meets(self) -> bool:
        return _meets(self.ours)

    @property
    def meets_cold(self) -> bool:
        return _meets(self.cold)


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


def _attach(explorer: Any) -> None:
    """Make the explorer behave as when a browser shows it: ipympl then renders in the
    kernel and sends PNG diffs (no data URL), so the timing includes what the browser needs."""
    explorer.canvas.syncing_data_url = False
    explorer.canvas.draw()  # the first picture, as when the page opens


def bench_explorer(cls: type, setting: str, rounds: int, baseline_rounds: int) -> Row:
    """Time single-control changes of ``cls`` at ``setting`` ("default" or "extreme").

    Each timing runs from the control change to the PNG bytes ipympl sends to the browser.
    """
    from avicviz.plots._style import new_figure

    ours_ex = cls()
    base = dict(ours_ex.params)
    if setting == "extreme":
        base.update(extreme_settings(ours_ex))
    ours_ex.set(**base)
    _attach(ours_ex)
    plan = change_plan(ours_ex, base, rounds)
    for step in plan[:2]:  # warm caches (fonts, text layout) before timing
        ours_ex.set(**step)
    ours = [_time(lambda: ours_ex.set(**step)) for step in plan]
    # The same plan with the canvas's text-bitmap cache emptied before every change: every
    # line of text drawn is rasterised again, as for values a learner has not visited yet.
    from avicviz.widgets._base import _text_bitmap

    def cold_step(step: dict[str, Any]) -> None:
        _text_bitmap.cache_clear()
        ours_ex.set(**step)

    cold = [_time(lambda: cold_step(step)) for step in plan]

    # Baselines: a second instance whose figure is rebuilt from scratch on every change,
    # with the same drawing code and the same data but no blitting.
    ref = cls()
    ref.set(**base)
    _attach(ref)
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
        ref.canvas.draw()  # render and send the PNG diff, as ipympl does

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
               summarise(news), errors, summarise(cold))


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
if not hasattr(_avb.Explorer, "_unprobed_update"):
    _avb.Explorer._unprobed_update = _avb.Explorer._safe_update
    def _probed_update(self, reraise=False):
        w, c = _time.perf_counter(), _time.process_time()
        try:
            return _avb.Explorer._unprobed_update(self, reraise)
        finally:
            _avicviz_probe.append(((_time.perf_counter() - w) * 1e3, (_time.process_time() - c) * 1e3))
    _avb.Explorer._safe_update = _probed_update
"""

#: A notebook the browser measurement writes next to the lessons: two trivial figures (one bar
#: whose length follows a slider), one as an avicviz Explorer, one the common ipympl pattern
#: (``set_xdata`` + ``draw_idle``).  The first gives the floor of the path from key press to
#: pixels when the kernel does almost nothing; the second the common pattern on the same figure.
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
                    figs = panel.locator(harness.FIGURE)
                    for i, name in enumerate(FLOOR_CASES):
                        fig = figs.nth(i)
                        slider = harness.explorer_box(fig).locator(harness.SLIDER).first
                        samples = _presses(harness, page, slider, fig.locator("canvas").first, repeats)
                        out.append((name, statistics.median(samples) if samples else None,
                                    f"{len(samples)} presses" if samples else "the canvas never changed"))
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
    head = ("| explorer | setting | changes | avicviz median / p95 ms | same, text cache emptied "
            "| full redraw median / p95 ms | new figure median / p95 ms | speed-up vs redraw / new "
            "| target met (cache / emptied) |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|:-:|\n")
    lines = []
    for r in rows:
        ratio_r = r.full_redraw[0] / r.ours[0] if r.ours[0] else float("inf")
        ratio_n = r.new_figure[0] / r.ours[0] if r.ours[0] else float("inf")
        if r.errors:
            ok = f"NO ({'; '.join(r.errors)})"
        else:
            ok = f"{'yes' if r.meets else 'NO'} / {'yes' if r.meets_cold else 'NO'}"
        lines.append(f"| {r.explorer} | {r.setting} | {r.changes} | {_ms(r.ours)} | {_ms(r.cold)} | "
                     f"{_ms(r.full_redraw)} | {_ms(r.new_figure)} | {ratio_r:.1f}x / {ratio_n:.1f}x | {ok} |")
    return head + "\n".join(lines) + "\n"


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

    md = ["# Interactivity benchmark results", "",
          f"Machine: {machine()}.", "",
          f"Generated by `make bench` ({time.strftime('%Y-%m-%d')}). Per-change times run from "
          "the control change to the PNG bytes ipympl sends to the browser; "
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
                      f"| {median:.0f} ms | <= {TARGET_BROWSER_MS:g} ms | "
                      f"{'yes' if median <= TARGET_BROWSER_MS else 'NO'} |")
    notes = ROOT / "benchmarks" / "notes.md"
    if notes.exists():  # the hand-written analysis: what was tried, what bounds the rest
        md += ["", notes.read_text().rstrip()]
    text = "\n".join(md) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
