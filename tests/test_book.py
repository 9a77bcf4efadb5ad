"""The static book (``make book``), read as files: every lesson is in it, executed, with its
explorers' run-live notes, its sanity checks collapsed, its solutions folded and nothing loaded
from outside the site.  tests/browser/test_book_browser.py opens the same build in Chromium."""

from __future__ import annotations

import re

import nbformat
import pytest
from bs4 import BeautifulSoup

from book_build import LESSONS, built_book, pages
from avicviz.questions import questions


@pytest.fixture(scope="module")
def site():
    return built_book()


def _soup(path):
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_index_at_the_root_lists_every_lesson_and_the_glossary(site):
    index = site / "index.html"
    assert index.exists()
    toc = [a["href"] for a in _soup(index).select(".toctree-wrapper a.reference.internal")]
    expected = [f"lessons/{p.stem}.html" for p in LESSONS]
    assert [h for h in toc if h.startswith("lessons/0")] == expected
    assert "lessons/glossary.html" in toc
    assert len(LESSONS) >= 5
    for p in expected + ["lessons/glossary.html", "search.html"]:
        assert (site / p).exists(), p


def test_lessons_were_executed(site):
    page = _soup(site / "lessons" / "00_start_here.html").get_text()
    assert "'accelerated': 8" in page  # vm.path_counts() of eight running vCPUs on 6.19
    assert "0x00001003" in page        # the GATag of VM 1, vCPU 3 on 6.19
    assert "Traceback" not in page


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_sanity_checks_are_collapsed(site, lesson):
    nb = nbformat.read(lesson, as_version=4)
    n_asserts = sum(1 for c in nb.cells if c.cell_type == "code" and re.search(r"^\s*assert\b", c.source, re.M))
    soup = _soup(site / "lessons" / f"{lesson.stem}.html")
    hidden = soup.select("div.cell.tag_hide-cell")
    assert len(hidden) == n_asserts > 0
    for cell in hidden:
        assert cell.find("details") is not None and "open" not in cell.find("details").attrs
    for cell in soup.select("div.cell"):
        if "assert " in cell.get_text() and "tag_hide-cell" not in cell["class"]:
            pytest.fail(f"{lesson.name}: an assert cell is shown open")


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_explorer_says_how_to_run_it_live(site, lesson):
    nb = nbformat.read(lesson, as_version=4)
    n_explorers = sum(len(re.findall(r"\b[A-Z]\w*Explorer\(", c.source)) for c in nb.cells if c.cell_type == "code")
    page = _soup(site / "lessons" / f"{lesson.stem}.html")
    notes = [n for n in page.select("div.admonition.tip") if "Run this explorer live" in n.get_text()]
    assert len(notes) == n_explorers
    for n in notes:
        assert f"notebooks/{lesson.name}" in n.get_text() and "make lab" in n.get_text()
    assert "VBox(children" not in page.get_text()  # no widget repr in place of a picture


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_solutions_are_folded_away(site, lesson):
    page = _soup(site / "lessons" / f"{lesson.stem}.html")
    asked = questions(lesson.stem[:2])
    assert asked
    for d in page.find_all("details"):
        d.extract()
    text_outside_details = page.get_text()
    for q in asked:
        assert q.question in _soup(site / "lessons" / f"{lesson.stem}.html").get_text()
        assert q.solution not in text_outside_details, f"{q.id}'s solution shows unfolded"
        for msg in q.feedback.values():
            assert msg not in text_outside_details


def test_nothing_is_loaded_from_outside_the_site(site):
    remote = re.compile(r"^(https?:)?//", re.I)
    for page in pages(site):
        soup = _soup(page)
        for tag, attr in (("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src"),
                          ("source", "src"), ("video", "src"), ("audio", "src")):
            for el in soup.find_all(tag):
                url = el.get(attr) or ""
                if tag == "link" and not {"stylesheet", "preload", "icon", "modulepreload"} & set(el.get("rel", [])):
                    continue
                assert not remote.match(url), f"{page.name} loads {url}"
    for css in site.rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8", errors="replace")):
            assert not remote.match(url), f"{css.name} loads {url}"
        assert not re.search(r"@import\s+(url\()?['\"]?(https?:)?//", css.read_text(errors="replace"))


def test_an_explorer_picture_gets_its_description_as_alt_text():
    """Once explorers' display bundles carry image/png + text/plain, the book's image has alt text."""
    import importlib.util

    from docutils import nodes

    from book_build import BOOK

    spec = importlib.util.spec_from_file_location("book_conf", BOOK / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    png = nodes.container(mime_type="image/png")
    png += nodes.image(uri="x.png")
    text = nodes.container(mime_type="text/plain")
    text += nodes.literal_block(text="GATag explorer: Linux 6.2,\n VM 1, vCPU 300 -> tag 0x0000012C")
    bundle = nodes.container(nb_element="mime_bundle")
    bundle += [png, text]
    conf.alt_from_text(bundle)
    assert png.children[0]["alt"] == "GATag explorer: Linux 6.2, VM 1, vCPU 300 -> tag 0x0000012C"
