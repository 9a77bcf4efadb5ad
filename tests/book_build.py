"""Build the static book once per test session (``make book`` does the same into _build/html).

Both tests/test_book.py (the built files) and tests/browser/test_book_browser.py (Chromium) use
:func:`built_book`; the build runs Sphinx with this interpreter, executes every lesson with this
checkout's avicviz, and treats every Sphinx warning as an error (a broken glossary link is one).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
LESSONS = sorted((ROOT / "notebooks").glob("0*_*.ipynb"))


def build_book(out: Path) -> Path:
    """Build the book's HTML into ``out``; returns ``out``.  Raises with Sphinx's log on failure."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.setdefault("MPLBACKEND", "Agg")
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going",
           "-d", str(out.parent / f"{out.name}-doctrees"), str(BOOK), str(out)]
    run = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if run.returncode != 0:
        log = "\n".join(line for line in (run.stdout + run.stderr).splitlines()
                        if "IPKernelApp" not in line and "Executing notebook" not in line)
        raise RuntimeError(f"the book did not build (exit {run.returncode}):\n{log[-6000:]}")
    return out


@functools.cache
def built_book() -> Path:
    """The book built into a fresh temporary folder, once per process."""
    return build_book(Path(tempfile.mkdtemp(prefix="avicviz-book-")) / "html")


def pages(site: Path) -> list[Path]:
    """Every HTML page of the built site."""
    return sorted(p for p in site.rglob("*.html") if not {"_static", "_sources"} & set(p.parts))
