"""The Explorer base class: in-place updates, blitting when a browser shows the figure,
full redraws when asked, errors shown in the widget, validated set()."""

import ipywidgets as W
import numpy as np
import pytest

from avicviz.widgets._base import Explorer, _extent, _rows_cols, option_values


class Bars(Explorer):
    figsize = (3.0, 2.0)

    def _make_controls(self):
        return {"n": W.IntSlider(value=3, min=1, max=10), "wide": W.Checkbox(value=False)}

    def _draw(self):
        self.ax = self.figure.add_subplot()
        self.ax.set_xlim(0, 10)
        self.ax.set_ylim(0, 1)
        self.im = self.ax.imshow(np.zeros((1, 10)), extent=(0, 10, 0, 1), vmin=0, vmax=1,
                                 aspect="auto", cmap="Greys")
        self.dynamic = [self.im]

    def _update(self):
        n = self.params["n"]
        if n == 7:
            raise RuntimeError("seven is broken")
        row = np.zeros((1, 10))
        row[0, :n] = 1
        self.im.set_data(row)
        if self.params["wide"]:
            self.ax.set_xlim(0, 20)
            self.relayout()
        self.model = n


def _pixels(ex):
    return np.asarray(ex.canvas.get_renderer().buffer_rgba()).copy()


def _attached(**kw):
    ex = Bars(**kw)
    ex.canvas.syncing_data_url = False  # as when a browser shows the canvas
    calls = {"draw": 0, "blit": 0}
    draw, blit = ex.canvas.draw, ex.canvas.blit

    def counting_draw(*a, **k):
        calls["draw"] += 1
        return draw(*a, **k)

    def counting_blit(*a, **k):
        calls["blit"] += 1
        return blit(*a, **k)

    ex.canvas.draw, ex.canvas.blit = counting_draw, counting_blit
    return ex, calls


def test_dynamic_artists_are_blitted_and_change_the_pixels():
    ex, calls = _attached()
    ex.set(n=2)  # first picture: a full draw that caches the background
    assert calls == {"draw": 1, "blit": 0}
    before = _pixels(ex)
    ex.set(n=9)
    assert calls == {"draw": 1, "blit": 1}
    after = _pixels(ex)
    assert (before != after).any(), "the blit did not change the picture"
    # the blitted picture equals a full redraw of the same state
    ex.canvas.draw()
    assert (after == _pixels(ex)).all()


def test_an_unchanged_picture_is_not_sent_again():
    ex, calls = _attached()
    ex.set(n=4)
    sent = []
    ex.canvas.send_binary = sent.append
    ex.set(n=4)  # same value: the model runs, nothing on the figure changes
    assert sent == [] and ex.updates == 3
    ex.set(n=5)
    assert len(sent) == 1


def test_savefig_includes_the_blitted_artists(tmp_path):
    import io as _io

    from PIL import Image as _Image

    class Titled(Bars):  # a figure-level text that changes: matplotlib drops it from files
        def _draw(self):
            super()._draw()
            self.caption = self.figure.text(0.02, 0.99, "", va="top", fontsize=8)
            self.dynamic.append(self.caption)

        def _update(self):
            super()._update()
            self.caption.set_text(f"n = {self.params['n']}")

    ex = Titled(n=6)
    ex.canvas.syncing_data_url = False
    ex.canvas.draw()
    r0, r1, c0, c1 = _rows_cols(_extent(ex.caption, ex.canvas.get_renderer()), 200, 300, 0)
    inked = {}
    for save in (ex.savefig, ex.figure.savefig):
        buf = _io.BytesIO()
        save(buf, format="png", dpi=ex.figure.dpi)
        saved = np.asarray(_Image.open(buf).convert("RGB"))
        inked[save] = int((saved[r0:r1, c0:c1] < 128).any(axis=2).sum())
    # Explorer.savefig writes the caption "n = 6"; matplotlib's own leaves it out
    assert inked[ex.savefig] > inked[ex.figure.savefig] + 20
    assert all(a.get_animated() for a in ex.dynamic)  # and blitting goes on afterwards


def test_a_figure_of_fractional_pixels_is_still_blitted():
    # 4.6 in at 100 dpi is 459.99999 pixels: Agg's buffer has 459 rows, and the cached
    # background must still count as the right size (else every change is a full draw)
    class Tall(Bars):
        figsize = (3.0, 4.6)

    ex = Tall()
    ex.canvas.syncing_data_url = False
    ex.canvas.draw()
    draws = []
    ex.canvas.mpl_connect("draw_event", draws.append)
    ex.set(n=5)
    ex.set(n=6)
    assert draws == [] and ex.updates == 3


def test_relayout_forces_a_full_draw():
    ex, calls = _attached()
    ex.set(n=2)
    ex.set(wide=True)
    assert calls["draw"] == 2 and calls["blit"] == 0
    assert ex.ax.get_xlim() == (0.0, 20.0)


def test_without_a_browser_nothing_is_rendered_but_artists_update():
    ex = Bars()
    ex.set(n=5)
    assert ex.im.get_array()[0].tolist() == [1] * 5 + [0] * 5
    assert ex._bg_pixels is None  # nothing rendered, no cached background
    assert ex.updates == 2


def test_callback_errors_are_shown_in_the_widget_not_raised():
    ex = Bars()
    ex.controls["n"].value = 7  # as a slider drag would
    assert "seven is broken" in ex.error.value and isinstance(ex.last_error, RuntimeError)
    ex.controls["n"].value = 6
    assert ex.error.value == ""


def test_set_validates_names_and_ranges():
    ex = Bars()
    with pytest.raises(ValueError, match=r"'m' is not a control of Bars: valid names n, wide"):
        ex.set(m=1)
    with pytest.raises(ValueError, match=r"n=11 is out of range: valid range 1..10"):
        ex.set(n=11)
    assert ex.reset().params == {"n": 3, "wide": False}


def test_the_picture_sent_to_the_browser_holds_exactly_the_changed_pixels():
    import io

    from PIL import Image

    ex, _calls = _attached()
    ex.set(n=2)
    before = _pixels(ex).view(np.uint32).squeeze(2)
    sent = []
    ex.canvas.send_binary = sent.append
    ex.set(n=9)
    assert len(sent) == 1 and ex.canvas._image_mode == "diff"
    after = _pixels(ex).view(np.uint32).squeeze(2)
    diff = np.asarray(Image.open(io.BytesIO(sent[0]))).copy().view(np.uint32).squeeze(2)
    changed = after != before
    assert changed.any()
    assert (diff[changed] == after[changed]).all() and (diff[~changed] == 0).all()


# ---- every explorer: after any sequence of changes, the blitted picture is the true one ----
import importlib
import io
import random

from PIL import Image

import avicviz.widgets as widgets

EXPLORERS = sorted(n for n in widgets._WHERE if n not in ("Explorer", "Check", "check"))


def _random_value(w, rng):
    opts = option_values(w)
    if opts is not None:
        return rng.choice(opts)
    if isinstance(w.value, bool):
        return rng.choice([True, False])
    if isinstance(w.value, int):
        return rng.choice([w.min, w.max, rng.randint(w.min, w.max)])
    if isinstance(w.value, str):  # a typed address (EntryExplorer): good, unaligned, not a number
        return rng.choice(["0x0", "0x123456000", "0xFFFFFFFFFF000", "4096", "0x2001", "oops"])
    return rng.choice([w.min, w.max, rng.uniform(w.min, w.max)])


@pytest.mark.parametrize("name", EXPLORERS)
def test_random_walk_blits_equal_full_redraws(name):
    cls = getattr(importlib.import_module(f"avicviz.widgets.{widgets._WHERE[name]}"), name)
    rng = random.Random(name)
    ex = cls()
    ex.canvas.syncing_data_url = False  # as when a browser shows it
    screen = {}

    def show(png):
        """What ipympl's front end does with a picture: a full one replaces the canvas, a
        diff is drawn over it (its transparent-black pixels leave the canvas as it was)."""
        pic = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).view(np.uint32).squeeze(2)
        if ex.canvas._image_mode == "full" or "px" not in screen:
            screen["px"] = pic.copy()
        else:
            screen["px"] = np.where(pic != 0, pic, screen["px"])

    ex.canvas.send_binary = show
    ex.canvas.draw()
    done = []
    for step in range(12):
        k = rng.choice([k for k, w in ex.controls.items() if not w.disabled] or list(ex.controls))
        v = _random_value(ex.controls[k], rng)
        ex.set(**{k: v})
        done.append(f"{k}={v!r}")
        assert ex.last_error is None, (done, ex.last_error)
        # the browser's picture, put together from every PNG sent, is the kernel's picture
        assert (screen["px"] == _pixels(ex).view(np.uint32).squeeze(2)).all(), \
            f"after {done} the browser shows another picture than the kernel holds"
        if step % 4 == 3:  # compare after several blits in a row, then start again from a draw
            shown = _pixels(ex)
            ex.canvas.draw()
            assert (shown == _pixels(ex)).all(), f"after {done} the picture is stale"


def test_a_new_pixel_ratio_means_a_full_draw_not_a_blit_on_a_stale_background():
    ex, calls = _attached()
    ex.set(n=2)
    ex.figure.set_dpi(200)  # what ipympl does for a HiDPI browser
    ex.set(n=9)
    assert calls == {"draw": 2, "blit": 0}
    ex.set(n=4)
    assert calls == {"draw": 2, "blit": 1}
    shown = _pixels(ex)
    ex.canvas.draw()
    assert (shown == _pixels(ex)).all()


def test_remembered_text_bitmaps_give_the_same_pixels_as_matplotlib():
    # the explorer canvas keeps each rasterised line of text; every text a learner sees must
    # look exactly as matplotlib's own Agg renderer draws it: sizes, weights, rotations,
    # several lines, a monospace label in a box, blank text, and mathtext (not cached)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from avicviz.plots._style import new_figure
    from avicviz.widgets._base import _Canvas, _text_bitmap

    def figure():
        f = new_figure(6, 4)
        ax = f.add_subplot()
        ax.set_title("GATag 0x0000012C: vm_id 1, vcpu_id 44")
        for i, (rot, size, weight) in enumerate([(0, 7, "normal"), (60, 8, "bold"), (90, 10, "normal"),
                                                 (33.3, 9, "bold"), (0, 12, "normal")]):
            ax.text(0.1 + 0.15 * i, 0.2 + 0.1 * i, f"text {i}\nsecond line gj", rotation=rot,
                    fontsize=size, fontweight=weight)
        ax.text(0.5, 0.9, "0x0000012C", family="monospace", ha="center", bbox=dict(fc="w"))
        ax.text(0.5, 0.5, " ", fontsize=9)
        ax.text(0.2, 0.8, r"$2^{9}$ vCPUs", fontsize=9)
        return f

    ref = FigureCanvasAgg(figure())
    ref.draw()
    expected = np.asarray(ref.buffer_rgba()).copy()
    fig = figure()
    renderer = _Canvas(fig).get_renderer()
    before = _text_bitmap.cache_info().hits
    for _ in range(2):  # first pass fills the cache, the second draws from it
        fig.draw(renderer)
        assert (np.asarray(renderer.buffer_rgba()) == expected).all()
    assert _text_bitmap.cache_info().hits > before


@pytest.mark.parametrize("xscale, yscale", [("linear", "linear"), ("log", "linear"), ("linear", "symlog")])
def test_line_extents_from_extremes_match_matplotlib(xscale, yscale):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from avicviz.plots._style import new_figure
    from avicviz.widgets._base import _line_extent

    fig = new_figure(4, 3)
    ax = fig.add_subplot(xscale=xscale, yscale=yscale)
    x = np.arange(1, 4097, dtype=float)
    y = np.where(x > 600, np.nan, np.sin(x / 50) * 300)
    line, = ax.plot(x, y, marker="o", ms=5)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    got = _line_extent(line).extents
    want = line.get_window_extent(canvas.get_renderer()).extents
    assert np.allclose(got, want)
