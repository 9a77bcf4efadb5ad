"""Sphinx + MyST-NB configuration of the static book (``make book`` -> ``_build/html``).

The book's sources are the lessons themselves: every ``notebooks/0*_*.ipynb``, the glossary and
the figures are copied into ``book/lessons/`` when the build starts, and ``index.md`` lists every
``lessons/0*_*`` (a new lesson appears in the book without editing anything).  The notebooks are executed at build time, so outputs show.

While Sphinx reads a lesson, :func:`_edition` turns it into the book's edition without touching
the file on disk (the student/instructor/book editions idea of the teaching anchors):

* a code cell with an ``assert`` line (a sanity check of the prose) gets the ``hide-cell`` tag:
  collapsed, one click to open;
* after a cell that builds an explorer (a call of a ``...Explorer(`` class), a note says how to
  run it live; the explorer itself shows as its picture (``image/png`` of its display bundle) or,
  until explorers have one, not at all: the static figure just above it stands in;
* glossary anchors (``<a id="x"></a>`` in glossary.md) become MyST targets, so that links such as
  ``glossary.md#x`` resolve.

Nothing on a page loads from outside the site: Furo ships its fonts and scripts, the widget
JavaScript that MyST-NB would fetch from a CDN is switched off, and widget views are never
rendered (they need a kernel).  ``tests/browser/test_book_browser.py`` checks all of this in Chromium.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

BOOK = Path(__file__).resolve().parent
NOTEBOOKS = BOOK.parent / "notebooks"
#: Where the lessons are copied for Sphinx to read (ignored by git): links between them and to
#: figures/ stay as they are in notebooks/.
LESSONS = BOOK / "lessons"


def _copy_lessons(app=None) -> None:
    if LESSONS.is_symlink():
        LESSONS.unlink()
    shutil.rmtree(LESSONS, ignore_errors=True)
    LESSONS.mkdir()
    for nb in sorted(NOTEBOOKS.glob("0*_*.ipynb")):
        shutil.copy2(nb, LESSONS / nb.name)
    shutil.copy2(NOTEBOOKS / "glossary.md", LESSONS / "glossary.md")
    shutil.copytree(NOTEBOOKS / "figures", LESSONS / "figures")



project = "avicviz"
author = "the avicviz authors"
copyright = "avicviz authors, MIT licence"
language = "en"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns = ["_build", "node_modules", "**/.ipynb_checkpoints"]

html_theme = "furo"
# the GATag's two fields as the site's icon (without one the browser asks for /favicon.ico: a 404)
html_favicon = "favicon.png"
html_title = "avicviz: AVIC in Linux KVM"
html_static_path: list[str] = []
html_show_sourcelink = False
html_copy_source = False

# ---- MyST-NB ----------------------------------------------------------------------------------
nb_execution_mode = "force"          # always run: outputs come from this checkout's code
nb_execution_timeout = 180
nb_execution_raise_on_error = True   # a failing lesson fails the build
nb_execution_show_tb = True
nb_merge_streams = True
nb_ipywidgets_js: dict = {}          # no require.js / widget manager from a CDN
nb_mime_priority_overrides = [
    # a widget view needs a kernel: never render it; prefer the explorer's picture (image/png)
    # over any HTML, and a question's static HTML over its plain text
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "application/javascript", None),
    ("html", "image/png", 15),
]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

#: How to run an explorer live; the lesson's file name is filled in.
RUN_LIVE = (
    ":::{{admonition}} Run this explorer live\n:class: tip\n"
    "In this book the explorer shows as a picture of its default settings (the figure before it). "
    "To move its controls, run the lesson: `make lab` opens `notebooks/{name}` in JupyterLab, and "
    "`make demo` serves every explorer as a workshop app without code (see the project's README).\n:::"
)

_EXPLORER = re.compile(r"\b[A-Z]\w*Explorer\(")
_ASSERT = re.compile(r"^\s*assert\b", re.M)
_ANCHOR = re.compile(r'^<a id="([^"]+)"></a>', re.M)


def _edition(app, docname: str, source: list[str]) -> None:
    """Make the book edition of a lesson or of the glossary as Sphinx reads it."""
    if docname.endswith("glossary"):
        source[0] = _ANCHOR.sub(lambda m: f"({m.group(1)})=\n", source[0])
        return
    if not docname.startswith("lessons/"):
        return
    try:
        nb = json.loads(source[0])
    except ValueError:
        return
    name = docname.split("/")[-1] + ".ipynb"
    cells = []
    for cell in nb.get("cells", []):
        cells.append(cell)
        if cell.get("cell_type") != "code":
            continue
        src = "".join(cell.get("source", ""))
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if _ASSERT.search(src) and "hide-cell" not in tags:
            tags.append("hide-cell")
        if _EXPLORER.search(src):
            cells.append({"cell_type": "markdown", "id": f"{cell.get('id', len(cells))}-live",
                          "metadata": {}, "source": RUN_LIVE.format(name=name)})
    nb["cells"] = cells
    source[0] = json.dumps(nb)


_WIDGET_REPR = re.compile(r"^\s*(VBox|HBox|Box)\(children=")


def _drop_widget_reprs(app, doctree, docname: str) -> None:
    """Until explorers carry a picture in their display bundle, their only static output is a
    widget's repr ("VBox(children=(...") - noise for a reader: leave it out."""
    from docutils import nodes

    for block in list(doctree.findall(nodes.literal_block)):
        if _WIDGET_REPR.match(block.astext()):
            block.parent.remove(block)


#: Two accessibility fixes the tools do not make (axe-core flags both): a toctree caption with
#: role="heading" needs an aria-level (Sphinx writes none), and MyST-NB's fold toggles carry the
#: aria-label "Toggle hidden content", which hides their visible text "Show code cell content"
#: from a screen reader.
_A11Y_FIXES = (
    ('<p class="caption" role="heading">', '<p class="caption" role="heading" aria-level="2">'),
    ('<summary aria-label="Toggle hidden content">', "<summary>"),
)


def _fix_accessibility(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = text
        for old, new in _A11Y_FIXES:
            fixed = fixed.replace(old, new)
        # a wide text output scrolls sideways: let the keyboard reach it (axe: scrollable-region-focusable)
        fixed = re.sub(r"<pre(?![^>]*tabindex)", '<pre tabindex="0"', fixed)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def alt_from_text(bundle) -> None:
    """Give a picture in a mime bundle the bundle's plain text as alt text, if it has none.

    An explorer's display bundle carries its current picture (image/png) and a description of
    it (text/plain); MyST-NB keeps only the picture, so the description becomes its alt text.
    """
    from docutils import nodes

    by_type = {c.get("mime_type"): c for c in bundle.children if isinstance(c, nodes.container)}
    text = by_type.get("text/plain")
    if text is None:
        return
    words = " ".join(text.astext().split())
    for mime in ("image/png", "image/jpeg", "image/svg+xml"):
        if mime in by_type:
            for image in by_type[mime].findall(nodes.image):
                if not image.get("alt") and words:
                    image["alt"] = words


def _make_alt_transform():
    from docutils import nodes
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class AltFromText(SphinxPostTransform):
        """Runs before MyST-NB picks one type of each bundle (its priority is 4)."""

        default_priority = 3

        def run(self, **kwargs) -> None:
            for bundle in list(self.document.findall(nodes.container)):
                if bundle.get("nb_element") == "mime_bundle":
                    alt_from_text(bundle)

    return AltFromText


def setup(app):
    app.connect("builder-inited", _copy_lessons)
    app.add_post_transform(_make_alt_transform())
    app.connect("source-read", _edition)
    app.connect("doctree-resolved", _drop_widget_reprs)
    app.connect("build-finished", _fix_accessibility)
    return {"parallel_read_safe": True}
