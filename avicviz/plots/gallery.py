"""Static figures for readers without a kernel (GitHub, HTML exports, print).

Every interactive demo in the notebooks is preceded by a Markdown image
``![alt text](figures/NAME.png)`` drawn by the same plot functions at the demo's default
settings.  Each topic module of :mod:`avicviz.plots` exposes ``static_figures()`` returning
``{name: (make_figure, alt_text)}``; this module collects them.

Regenerate after changing a plot::

    python -m avicviz.plots.gallery notebooks/figures

A test redraws every figure and compares it with the committed PNG.
"""

from __future__ import annotations

import matplotlib

import importlib
import sys
from pathlib import Path
from typing import Callable

from matplotlib.figure import Figure

__all__ = ["TOPICS", "figures", "render", "write_all"]

#: Topic modules of avicviz.plots that contribute static figures.
TOPICS = ("overview", "tables", "gatag", "past512", "device")

DPI = 100


def figures() -> dict[str, tuple[Callable[[], Figure], str]]:
    """All static figures: name -> (function drawing it, alt text)."""
    out: dict[str, tuple[Callable[[], Figure], str]] = {}
    for topic in TOPICS:
        try:
            mod = importlib.import_module(f"avicviz.plots.{topic}")
        except ModuleNotFoundError as e:
            if e.name == f"avicviz.plots.{topic}":
                continue
            raise
        for name, entry in mod.static_figures().items():
            if name in out:
                raise ValueError(f"static figure {name!r} is defined twice")
            out[name] = entry
    return out


def render(name: str) -> Figure:
    """Draw one static figure."""
    table = figures()
    if name not in table:
        raise ValueError(f"figure={name!r} is not a static figure: valid names {', '.join(sorted(table))}")
    return table[name][0]()


#: File beside the figures naming the matplotlib release that drew them.
DRAWN_WITH = "matplotlib-version.txt"


def write_all(outdir: str | Path) -> list[Path]:
    """Write every static figure as PNG into ``outdir``; returns the paths."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, (make, _alt) in sorted(figures().items()):
        fig = make()
        p = outdir / f"{name}.png"
        fig.savefig(p, dpi=DPI, metadata={"Software": None})
        paths.append(p)
    # text rasterises differently from one matplotlib release to the next: say which drew these
    (outdir / DRAWN_WITH).write_text(matplotlib.__version__ + "\n")
    return paths


if __name__ == "__main__":  # pragma: no cover
    for p in write_all(sys.argv[1] if len(sys.argv) > 1 else "notebooks/figures"):
        print(p)
