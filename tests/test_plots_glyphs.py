"""GlyphText: monospace numbers drawn as one filled path look like the Text they replace (same
place, same size, same ink) and say what they show."""

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from avicviz.plots._style import new_figure
from avicviz.plots.glyphs import GlyphText


def _ink(artist_maker, dpi=100):
    """The box (row0, row1, col0, col1) of the non-white pixels a single artist paints, and its
    amount of ink (the sum of darkness)."""
    fig = new_figure(3, 1)
    fig.set_dpi(dpi)
    fig.set_layout_engine("none")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 3)
    ax.set_ylim(0, 1)
    ax.set_axis_off()
    artist_maker(ax)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    dark = 255 - np.asarray(canvas.buffer_rgba())[:, :, :3].min(axis=2).astype(int)
    rows, cols = np.flatnonzero(dark.any(axis=1)), np.flatnonzero(dark.any(axis=0))
    return (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1), dark.sum()


@pytest.mark.parametrize("ha", ["left", "center", "right"])
@pytest.mark.parametrize("va", ["top", "baseline", "bottom", "center"])
@pytest.mark.parametrize("words, size, weight", [("GATag = 0x0000012C", 9, "normal"), ("0x2C", 8, "bold")])
@pytest.mark.parametrize("dpi", [100, 200])
def test_it_covers_the_pixels_the_text_would(ha, va, words, size, weight, dpi):
    text_box, text_ink = _ink(lambda ax: ax.text(1.5, 0.5, words, ha=ha, va=va, fontsize=size,
                                                 family="monospace", fontweight=weight), dpi)
    glyph_box, glyph_ink = _ink(lambda ax: GlyphText(ax, 1.5, 0.5, words, ha=ha, va=va, fontsize=size,
                                                     weight=weight), dpi)
    tolerance = 1.5 * dpi / 100
    # the same lines of pixels: as high, at the same height
    assert np.allclose(glyph_box[:2], text_box[:2], atol=tolerance), (glyph_box, text_box)
    # aligned at the same place across; FreeType hints a Text's advances to whole pixels (a 9-pt
    # character advances 8 pixels at 100 dpi instead of 7.5), so a Text can be a little wider
    anchor = {"left": 0.0, "center": 0.5, "right": 1.0}[ha]
    at = lambda box: box[2] + anchor * (box[3] - box[2])
    assert abs(at(glyph_box) - at(text_box)) <= tolerance, (glyph_box, text_box)
    width = lambda box: box[3] - box[2]
    assert 0.92 * width(text_box) - tolerance <= width(glyph_box) <= width(text_box) + tolerance
    assert abs(glyph_ink - text_ink) < 0.15 * text_ink  # as bold (or as light) as the Text


def test_it_says_what_it_shows_and_moves_where_it_is_told():
    fig = new_figure(3, 1)
    ax = fig.add_subplot()
    t = GlyphText(ax, 1, 0.5, "0x12D", fontsize=8, ha="center", va="top")
    assert t.get_text() == "0x12D" and t.get_position() == (1.0, 0.5)
    t.set_x(2)
    t.set_text("GATag = 0x00001130")
    assert t.get_text() == "GATag = 0x00001130" and t.get_position() == (2.0, 0.5)
    t.set_text("   ")  # spaces only: nothing to fill, no error
    assert t.get_path().vertices.shape == (0, 2)
    with pytest.raises(ValueError, match=r"ha='middle': valid values left, center, right"):
        GlyphText(ax, 0, 0, "x", fontsize=8, ha="middle")
