"""Browser tests: Playwright driving Debian's Chromium against JupyterLab and Voilà.

Without /usr/bin/chromium these tests skip with a one-line reason, unless
AVICVIZ_REQUIRE_BROWSER=1 (set by .ci/run): then a missing browser is a failure.
"""

import os
import shutil
from pathlib import Path

import pytest

from harness import CHROMIUM, browser as _browser, find_chromium, new_page, voila

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"


def _missing() -> str | None:
    if find_chromium() is None:
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session", autouse=True)
def _need_browser():
    why = _missing()
    if why:
        if os.environ.get("AVICVIZ_REQUIRE_BROWSER") == "1":
            pytest.fail(f"AVICVIZ_REQUIRE_BROWSER=1 but {why}", pytrace=False)
        pytest.skip(f"browser tests skipped: {why}")


@pytest.fixture(scope="session")
def browser(_need_browser):
    with _browser() as b:
        yield b


@pytest.fixture(scope="module")
def page(browser):
    """A fresh page (its own browser context) per test module, closed afterwards."""
    p = new_page(browser)
    yield p
    p.context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def notebooks_copy(tmp_path_factory) -> Path:
    """A private copy of notebooks/ (runs and autosaves never touch the real files)."""
    dst = tmp_path_factory.mktemp("nb") / "notebooks"
    shutil.copytree(NOTEBOOKS, dst, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dst


@pytest.fixture(scope="session")
def demo_server(notebooks_copy):
    """One Voilà server for the session, serving the copy of notebooks/demos.  Tests may add
    their own notebooks to ``demo_server.root`` (Voilà renders whatever is there on request)."""
    with voila(notebooks_copy / "demos") as server:
        yield server
