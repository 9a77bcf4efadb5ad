"""Live explorers in a real browser: a mouse drag of each demo's first slider paints pictures
while the button is down and ends on the picture of the final value; at a 1024 px window no
picture is wider than its output area and the page does not scroll sideways."""

import time
from pathlib import Path

import numpy as np
import pytest

import avicviz.widgets as widgets
from harness import (CANVAS, FIGURE, SLIDER, canvas_pixels, drag_slider, explorer_box, explorers_in,
                     first_explorer_in, new_page, open_voila)

DEMOS = Path(__file__).resolve().parents[2] / "notebooks" / "demos"
DEMO_PAGES = sorted(p.name for p in DEMOS.glob("*.ipynb") if p.name != "index.ipynb")


@pytest.mark.parametrize("demo", DEMO_PAGES)
def test_a_mouse_drag_paints_while_dragging_and_ends_on_the_final_value(demo, demo_server, page):
    _drag_ends_on_the_true_picture(page, demo_server, demo, "ImageDecoder")


@pytest.mark.parametrize("demo", ["gatag.ipynb", "device.ipynb"])
def test_where_the_browser_has_no_image_decoder_pictures_are_decoded_from_blobs(demo, demo_server,
                                                                                 browser):
    """The fallback path (browsers without WebCodecs' ImageDecoder, pages that are not secure)
    paints the same pixels."""
    page = new_page(browser)
    try:
        page.add_init_script("window.__avicvizBlobDecode = true")
        _drag_ends_on_the_true_picture(page, demo_server, demo, "Blob")
    finally:
        page.context.close()


def _drag_ends_on_the_true_picture(page, demo_server, demo, decoder):
    body = open_voila(page, demo_server, demo, figures=len(explorers_in(DEMOS / demo)))
    fig = body.locator(FIGURE).first
    assert fig.locator("canvas").first.get_attribute("data-decoder") == decoder
    slider = explorer_box(fig).locator(SLIDER).first
    canvas = fig.locator("canvas").first
    drag = drag_slider(page, slider, canvas)
    # the page's kernel websocket sends the kernel's small answers at once (no Nagle delay)
    assert "sends without delay (TCP_NODELAY)" in demo_server.log.read_text(errors="replace")
    assert drag.during >= 3, f"{demo}: only {drag.during} pictures during a {drag.duration_ms:.0f} ms drag"
    # the picture on screen is the kernel-side render of the final value
    label = slider.locator(".widget-label").first.inner_text().strip()
    ex = getattr(widgets, first_explorer_in(DEMOS / demo))()
    name = next(k for k, w in ex.controls.items() if w.description == label)
    ex.set(**{name: int(drag.value)})
    want = ex.render()
    deadline = time.monotonic() + 20  # a loaded machine may still be painting
    while True:
        got = canvas_pixels(canvas)
        if got.shape == want.shape and np.array_equal(got, want):
            break
        assert time.monotonic() < deadline, \
            f"{demo}: the picture after the drag is not the one of {name}={drag.value}"
        time.sleep(0.25)


def test_at_1024_px_no_picture_is_wider_than_its_output_area(browser, demo_server):
    page = new_page(browser, width=1024, height=768)
    try:
        for demo in DEMO_PAGES:
            open_voila(page, demo_server, demo, figures=len(explorers_in(DEMOS / demo)))
            sizes = page.locator(CANVAS).evaluate_all("""els => els.map(c => {
                const box = c.closest('.widget-vbox') || c.parentElement.parentElement;
                return [c.getBoundingClientRect().right, box.getBoundingClientRect().right,
                        c.getBoundingClientRect().width];
            })""")
            assert sizes and all(right <= outer + 0.5 and w > 300 for right, outer, w in sizes), (demo, sizes)
            scroll = page.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
            assert scroll[0] <= scroll[1], f"{demo}: the page scrolls sideways {scroll}"
    finally:
        page.context.close()


@pytest.mark.parametrize("width, height", [(1920, 1080), (1280, 720)])
def test_on_a_2x_screen_pictures_are_drawn_with_twice_the_pixels(browser, demo_server, width, height):
    page = new_page(browser, width=width, height=height, scale=2)
    try:
        open_voila(page, demo_server, "gatag.ipynb", figures=len(explorers_in(DEMOS / "gatag.ipynb")))
        ratios = page.locator(CANVAS).evaluate_all(
            "els => els.map(c => [c.width / c.getBoundingClientRect().width, c.width, c.style.width])")
        # twice the pixels of the CSS size (more where the picture is scaled down to fit)
        assert ratios and all(r >= 1.99 for r, _w, _css in ratios), ratios
        scroll = page.evaluate("() => document.scrollingElement.scrollWidth <= document.scrollingElement.clientWidth")
        assert scroll, "the page scrolls sideways"
    finally:
        page.context.close()
