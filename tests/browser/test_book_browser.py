"""The static book in Chromium: every page loads with no console error and no request beyond
the site, no internal link or image is broken, search finds a lesson, sanity checks and
solutions start folded, and axe-core finds no serious or critical accessibility violation.

The book is built once per session (tests/book_build.py); axe-core comes from npm into
book/node_modules (`make book-tools`, or installed here on first use).
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from book_build import BOOK, LESSONS, built_book, pages  # noqa: E402
from harness import new_page  # noqa: E402

from avicviz.questions import questions  # noqa: E402

AXE = BOOK / "node_modules" / "axe-core" / "axe.min.js"


def axe_script() -> Path:
    """axe-core's browser script, installed from npm into book/node_modules when missing."""
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("axe-core is missing and npm is not installed (apt-get install npm; make book-tools)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--prefix", str(BOOK)], check=True,
                       capture_output=True, timeout=300)
    return AXE


@pytest.fixture(scope="module")
def site():
    """The built book, served on 127.0.0.1 by a small HTTP server in a thread."""
    root = built_book()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def book_page(browser, site):
    """A page that records console errors, page errors and every request it makes."""
    page = new_page(browser)
    page.console_errors = []
    page.requests = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.on("request", lambda r: page.requests.append(r.url))
    yield page
    page.context.close()


def _rel(root: Path, p: Path) -> str:
    return p.relative_to(root).as_posix()


def test_every_page_loads_offline_with_no_error_and_nothing_broken(book_page, site):
    root, base = site
    page = book_page
    failed = []
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []
    for html in pages(root):
        rel = _rel(root, html)
        page.console_errors.clear()
        response = page.goto(base + rel, wait_until="load")
        assert response is not None and response.ok, rel
        page.wait_for_load_state("networkidle")
        assert page.console_errors == [], f"{rel}: {page.console_errors}"
        ids[rel] = set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)"))
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            links.append((rel, href))
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.currentSrc || e.src, e.complete && e.naturalWidth > 0, e.getAttribute('alt')])")
        for src, ok, alt in images:
            assert ok, f"{rel}: image {src} does not load"
            assert alt is not None and (alt.strip() or "logo" in src), f"{rel}: image {src} has no alt text"
    assert failed == []
    # nothing requested beyond the site itself: no fonts, scripts or styles from a CDN
    assert page.blocked == []
    assert all(u.startswith(base) or u.startswith(("data:", "blob:", "about:")) for u in page.requests), \
        [u for u in page.requests if not u.startswith(base)]
    checked = 0
    for src, href in links:
        if not href.startswith(base):
            continue  # links out (the theme's credit line) are not loaded
        parts = urlsplit(href)
        target = parts.path[len(urlsplit(base).path):] or "index.html"
        if target.endswith("/"):
            target += "index.html"
        assert (root / target).exists(), f"{src}: broken link {href}"
        if parts.fragment and target in ids:
            assert parts.fragment in ids[target], f"{src}: {href} names no anchor on {target}"
            checked += 1
    assert checked > 50  # glossary links and the pages' own tables of contents


def test_glossary_links_land_on_their_entry(book_page, site):
    root, base = site
    page = book_page
    page.goto(base + "lessons/02_gatag.html")
    link = page.locator("a[href$='glossary.html#gatag']").first
    link.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("glossary.html#gatag")
    assert "GATag" in page.locator("#gatag").locator("xpath=..").inner_text()


def test_search_finds_the_gatag_lesson(book_page, site):
    _root, base = site
    page = book_page
    page.goto(base + "search.html?q=GATag")
    results = page.locator("#search-results li a, ul.search li a")
    results.first.wait_for(timeout=30_000)
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert any("02_gatag" in h for h in hrefs), hrefs


def test_sanity_checks_and_solutions_start_folded(book_page, site):
    _root, base = site
    page = book_page
    page.goto(base + "lessons/01_physical_table.html")
    assert_cell = page.locator("div.cell.tag_hide-cell").first
    assert not assert_cell.locator("pre").first.is_visible()
    solution = page.locator("details", has_text="Solution (open after you have answered)").first
    body = solution.locator("p").first
    assert not body.is_visible()
    solution.locator("summary").click()
    assert body.is_visible() and body.inner_text() == questions("01")[0].solution


@pytest.mark.parametrize("rel", ["index.html", "search.html", "lessons/glossary.html",
                                 *[f"lessons/{p.stem}.html" for p in LESSONS]])
def test_axe_finds_no_serious_or_critical_violation(book_page, site, rel):
    _root, base = site
    page = book_page
    page.goto(base + rel, wait_until="load")
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    bad = [f"{v['id']} ({v['impact']}): {v['help']} - e.g. {v['nodes'][0]['html'][:120]}"
           for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert bad == [], f"{rel}:\n" + "\n".join(bad)
