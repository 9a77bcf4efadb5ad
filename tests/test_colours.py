"""Colour-blind safe colours: every colour avicviz's charts and widgets name is an Okabe-Ito
colour, a darker shade of one for text, or a neutral grey (so meaning never rests on a hue a
reader may not tell apart)."""

import colorsys
import re
from pathlib import Path

import pytest

from avicviz.plots._style import PALETTE, TEXT_COLOURS

ROOT = Path(__file__).resolve().parent.parent
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
ALLOWED = OKABE_ITO | set(TEXT_COLOURS.values())
SOURCES = sorted([*(ROOT / "avicviz" / "plots").glob("*.py"), *(ROOT / "avicviz" / "widgets").glob("*.py")])


def _grey(hex6: str) -> bool:
    r, g, b = (hex6[i:i + 2] for i in (1, 3, 5))
    return r == g == b


def test_the_palette_is_okabe_ito_and_greys():
    for name, colour in PALETTE.items():
        assert colour.upper() in OKABE_ITO or _grey(colour), name


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_source_names_only_okabe_ito_or_grey(path):
    text = path.read_text()
    for colour in re.findall(r"#[0-9A-Fa-f]{6}\b", text):
        assert colour.upper() in ALLOWED or _grey(colour.upper()), f"{path.name} uses {colour}"
    named = re.findall(r"""colou?r\s*=\s*["'](red|green|blue|orange|yellow|purple|magenta|cyan|C\d)["']""", text)
    assert named == [], f"{path.name} uses matplotlib's own colours {named}"


def _luminance(hex6: str) -> float:
    c = [int(hex6[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (x / 12.92 if x <= 0.03928 else ((x + 0.055) / 1.055) ** 2.4 for x in c)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("name, parent", [("red", "vermillion"), ("green", "green")])
def test_text_colours_are_readable_shades_of_the_palette(name, parent):
    """On white, at least 4.5:1 (WCAG AA for body text), and the hue of the palette colour they
    darken (within 5 degrees); the palette colour itself is below 4.5:1."""
    def hue(h):
        return colorsys.rgb_to_hsv(*(int(h[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0] * 360

    text, base = TEXT_COLOURS[name], PALETTE[parent]
    assert 1.05 / (_luminance(text) + 0.05) >= 4.5 > 1.05 / (_luminance(base) + 0.05)
    assert abs(hue(text) - hue(base)) < 5


@pytest.mark.parametrize("dpi", [100, 200])
@pytest.mark.parametrize("shape, extent", [((32, 128), None), ((16, 32), (0, 32, 16, 0)), ((7, 5), (0, 5, 7, 0))])
def test_cell_image_draws_the_pixels_matplotlib_draws(shape, extent, dpi):
    """CellImage's own nearest-neighbour scaling equals matplotlib's, pixel for pixel."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import AxesImage
    from avicviz.plots._style import CellImage, cell_image, colour_cells, new_figure

    codes = np.random.default_rng(1).integers(0, 4, shape)
    rgba = colour_cells(codes, ["#000000", "#E69F00", "#56B4E9", "#FFFFFF"])
    kw = {} if extent is None else {"extent": extent}
    pictures = []
    for fast in (True, False):
        fig = new_figure(9.3, 4.1)
        fig.set_dpi(dpi)
        ax = fig.add_subplot()
        im = cell_image(ax, rgba, **kw) if fast else ax.imshow(rgba, interpolation="nearest", aspect="auto", **kw)
        assert isinstance(im, CellImage) == fast and isinstance(im, AxesImage)
        canvas = FigureCanvasAgg(fig)
        canvas.draw()
        pictures.append(np.asarray(canvas.buffer_rgba()).copy())
    assert np.array_equal(*pictures)


def test_cell_image_scales_opaque_cells_itself(monkeypatch):
    """On matplotlib 3.11 and newer the fast path is taken for an opaque grid of bytes
    (matplotlib's resampling is not called), and matplotlib draws anything else (here: a
    translucent image); on older releases matplotlib draws everything (``make test-oldest``)."""
    import matplotlib
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import AxesImage
    from avicviz.plots._style import CELL_IMAGE_FAST, cell_image, colour_cells, new_figure

    assert CELL_IMAGE_FAST == (tuple(map(int, matplotlib.__version__.split(".")[:2])) >= (3, 11))

    calls = []
    real = AxesImage.make_image
    monkeypatch.setattr(AxesImage, "make_image", lambda self, *a, **k: calls.append(1) or real(self, *a, **k))
    fig = new_figure(6.0, 3.0)
    im = cell_image(fig.add_subplot(), colour_cells(np.eye(8, dtype=int), ["#000000", "#E69F00"]))
    FigureCanvasAgg(fig).draw()
    assert calls == ([] if CELL_IMAGE_FAST else [1])
    im.set_alpha(0.5)
    FigureCanvasAgg(fig).draw()
    assert calls == ([1] if CELL_IMAGE_FAST else [1, 1])

