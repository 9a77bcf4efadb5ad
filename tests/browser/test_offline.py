"""Nothing from the network at run time: Voilà's demo pages and a lesson in JupyterLab request
nothing beyond this machine (every such request is counted, and aborted, by the page), and icons
still render: Font Awesome comes from the server, not from a CDN (a conference room's Wi-Fi).

Pictures are found by a selector that does not depend on how an explorer draws
(`.avicviz-explorer canvas, .jupyter-matplotlib canvas`)."""

from pathlib import Path

import nbformat
from nbformat import v4

from harness import new_page, open_and_run_all, shutdown_kernel, wait_widgets_rendered

PICTURE = ".avicviz-explorer canvas, .avicviz-explorer img, .jupyter-matplotlib canvas"

# A button with a Font Awesome icon: the kind of icon ipywidgets and the explorers' toolbars use.
ICON_PROBE = 'import ipywidgets as w\nw.Button(description="ok", icon="check")'

FONT_LOADED_JS = """async () => {
  await document.fonts.ready;
  const i = document.querySelector('.widget-button i');
  if (!i) return {found: false};
  const before = getComputedStyle(i, '::before');
  const family = before.fontFamily;
  const loaded = [...document.fonts].filter(f => /Font Awesome/i.test(f.family) && f.status === 'loaded')
                                  .map(f => f.family);
  return {found: true, family, content: before.content, width: i.getBoundingClientRect().width, loaded};
}"""


def _icon_probe(root: Path) -> str:
    nb = v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                  "language": "python"}})
    nb.cells = [v4.new_code_cell(ICON_PROBE)]
    nbformat.write(nb, root / "icon_probe.ipynb")
    return "icon_probe.ipynb"


def test_voila_demos_fetch_nothing_off_the_machine_and_icons_render(demo_server, browser):
    page = new_page(browser)
    try:
        page.goto(demo_server.url, wait_until="domcontentloaded")
        page.get_by_role("heading", name="workshop demos").first.wait_for(timeout=60_000)
        page.goto(demo_server.voila_url("gatag.ipynb"), wait_until="domcontentloaded")
        page.locator(".widget-slider").first.wait_for(timeout=120_000)
        page.locator(PICTURE).first.wait_for(timeout=60_000)
        page.goto(demo_server.voila_url(_icon_probe(demo_server.root)), wait_until="domcontentloaded")
        page.locator(".widget-button i").first.wait_for(timeout=60_000)
        icon = page.evaluate(FONT_LOADED_JS)
        page.wait_for_load_state("networkidle")
        assert page.blocked == [], f"requests beyond this machine: {page.blocked}"
        assert icon["found"]
        assert "Font Awesome" in icon["family"] and icon["content"] not in ("none", "normal", '""')
        assert icon["loaded"], "no Font Awesome font was loaded"
        assert icon["width"] > 0
    finally:
        page.context.close()


def test_a_lesson_in_jupyterlab_fetches_nothing_off_the_machine(notebooks_copy, browser):
    from harness import jupyter_lab

    with jupyter_lab(notebooks_copy) as lab:
        page = new_page(browser)
        try:
            panel = open_and_run_all(page, lab, "02_gatag.ipynb")
            assert wait_widgets_rendered(panel) >= 1
            page.wait_for_load_state("networkidle")
            shutdown_kernel(page, panel.copy_name)
            assert page.blocked == [], f"requests beyond this machine: {page.blocked}"
        finally:
            page.context.close()
