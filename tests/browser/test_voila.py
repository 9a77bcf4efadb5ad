"""Workshop mode in a real browser: Voilà serves notebooks/demos; the landing page links to every
demo and its links open them; each demo renders its explorers without errors, and a slider moved
with the keyboard changes the figure.  Screenshots go to test-artifacts/."""

from pathlib import Path

import pytest

from harness import (FIGURE, SLIDER, check_slider_redraws, error_outputs, explorer_box, explorers_in,
                     open_voila, wait_voila_rendered)

DEMOS = Path(__file__).resolve().parents[2] / "notebooks" / "demos"
DEMO_PAGES = sorted(p.name for p in DEMOS.glob("*.ipynb") if p.name != "index.ipynb")
VIA_LANDING = "gatag.ipynb"  # reached by clicking its link on the landing page


@pytest.fixture(scope="module")
def server(demo_server):
    return demo_server


def _check_demo(page, body, demo, artifacts):
    assert error_outputs(body) == []
    assert body.get_by_text("hit a bug in avicviz").count() == 0
    fig = body.locator(FIGURE).first
    sliders = explorer_box(fig).locator(SLIDER)
    assert sliders.count() >= 1, f"{demo}: its first explorer has no slider"
    fig.scroll_into_view_if_needed()
    result = check_slider_redraws(page, sliders.first, fig.locator("canvas").first)
    page.screenshot(path=str(artifacts / f"voila-{Path(demo).stem}.png"))
    assert result.ok, f"{demo}: {result.message}"


def test_every_demo_is_tested():
    assert DEMO_PAGES == ["device.ipynb", "gatag.ipynb", "past512.ipynb", "physical_table.ipynb"]


def test_landing_page_links_open_a_working_demo(server, page, artifacts):
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("heading", name="workshop demos").first.wait_for(timeout=60_000)
    hrefs = page.locator("a[href$='.ipynb']").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert sorted(hrefs) == DEMO_PAGES
    page.screenshot(path=str(artifacts / "voila-index.png"))
    page.locator(f"a[href='{VIA_LANDING}']").click()
    page.wait_for_url(f"**/voila/render/{VIA_LANDING}*")
    body = wait_voila_rendered(page, figures=len(explorers_in(DEMOS / VIA_LANDING)))
    _check_demo(page, body, VIA_LANDING, artifacts)


@pytest.mark.parametrize("demo", [d for d in DEMO_PAGES if d != VIA_LANDING])
def test_demo_renders_and_slider_changes_figure(demo, server, page, artifacts):
    body = open_voila(page, server, demo, figures=len(explorers_in(DEMOS / demo)))
    _check_demo(page, body, demo, artifacts)
