"""The benchmark harness (benchmarks/run.py) computes what its table claims.

Nothing here is timed: these tests check the statistics, the change plan and the report's shape
on a tiny explorer, so `make bench` cannot silently report nonsense.
"""

import importlib.util
import sys
from pathlib import Path

import ipywidgets as W
import numpy as np
import pytest

from avicviz.widgets._base import Explorer

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("bench_run", ROOT / "benchmarks" / "run.py")
bench = importlib.util.module_from_spec(spec)
sys.modules["bench_run"] = bench
spec.loader.exec_module(bench)


class Tiny(Explorer):
    figsize = (3.0, 2.0)

    def _make_controls(self):
        return {"n": W.IntSlider(value=3, min=1, max=10),
                "mode": W.Dropdown(options=["a", "b", "c"], value="a"),
                "on": W.Checkbox(value=False)}

    def _draw(self):
        self.ax = self.figure.add_subplot()
        self.ax.set_xlim(0, 10)
        self.ax.set_ylim(0, 20)
        (self.line,) = self.ax.plot([0], [0])
        self.dynamic = [self.line]

    def _update(self):
        n = self.params["n"]
        self.line.set_data(np.arange(n), np.arange(n) * (2 if self.params["on"] else 1))
        self.model = n


def test_summarise_median_and_p95():
    assert bench.summarise([0.010] * 19 + [0.100]) == (10.0, 14.5)
    assert bench.summarise([0.005]) == (5.0, 5.0)
    with pytest.raises(ValueError, match="samples_s is empty"):
        bench.summarise([])


def test_extreme_settings_and_neighbours():
    t = Tiny()
    assert bench.extreme_settings(t) == {"n": 10, "mode": "c", "on": True}
    assert bench.neighbour(t, "n", 10) == 9
    assert bench.neighbour(t, "n", 3) == 4
    assert bench.neighbour(t, "mode", "a") == "b"
    assert bench.neighbour(t, "mode", "c") == "b"
    assert bench.neighbour(t, "on", False) is True


def test_change_plan_steps_every_control_and_back():
    t = Tiny()
    plan = bench.change_plan(t, {"n": 10, "mode": "c", "on": True}, rounds=2)
    assert plan[:6] == [{"n": 9}, {"n": 10}, {"mode": "b"}, {"mode": "c"}, {"on": False}, {"on": True}]
    assert len(plan) == 12


def test_bench_explorer_really_updates_and_reports():
    row = bench.bench_explorer(Tiny, "extreme", rounds=1, baseline_rounds=1)
    assert row.explorer == "Tiny" and row.setting == "extreme" and row.changes == 6
    assert row.errors == []
    assert row.sent_kb > 0  # every change sent a picture
    for t in (row.ours, row.full_redraw, row.new_figure):
        assert 0 < t[0] <= t[1]
    md = bench.table([row])
    assert md.splitlines()[0].startswith("| explorer | setting |")
    assert "| Tiny | extreme | 6 |" in md


def test_a_broken_explorer_is_reported_not_fatal(monkeypatch, tmp_path):
    class Broken(Tiny):
        def _update(self):
            if self.params["n"] == 9:
                raise RuntimeError("boom")
            super()._update()

    monkeypatch.setattr(bench, "explorer_classes", lambda only=None: [Broken, Tiny])
    monkeypatch.setattr(bench, "import_time", lambda: (1.0, 2.0))
    out = tmp_path / "results.md"
    assert bench.main(["--rounds", "1", "--baseline-rounds", "1", "--no-browser", "--no-suite",
                       "--out", str(out)]) == 0
    text = out.read_text()
    assert "| Broken | extreme | 0 |" in text and "NO (RuntimeError: boom)" in text
    assert "| Tiny | default |" in text and "| Tiny | extreme |" in text  # the run went on


def test_cli_rejects_bad_rounds(capsys):
    with pytest.raises(SystemExit) as e:
        bench.main(["--rounds", "0", "--no-browser", "--no-suite", "--only", "Nope"])
    assert e.value.code == 2
    assert "--rounds=0 is out of range: valid range 1..1000" in capsys.readouterr().err


def test_a_drag_is_judged_against_the_still_drag_just_before_it():
    """The slowdown is the median of each live drag over the reference drag before it, so a
    machine that slows down during the row does not read as a slower figure."""
    from types import SimpleNamespace

    live = iter([1100.0, 2600.0, 3300.0])  # the machine slows down from pair to pair
    refs = iter([1000.0, 2000.0, 3000.0])
    drag = lambda *a, **k: SimpleNamespace(per_second=25.0, duration_ms=next(live), after_ms=10.0,
                                           during=60, shown_per_second=25.0)
    row = bench.drag_row(SimpleNamespace(drag_slider=drag), None, "JupyterLab", "x", None, None,
                         repeats=3, reference=lambda: next(refs))
    assert row.still_ms == 2000.0 and row.duration_ms == 2600.0
    assert row.slowdown == pytest.approx(1.1)  # the pairs: 1.1, 1.3, 1.1 (the medians: 1.3)
    assert row.meets
