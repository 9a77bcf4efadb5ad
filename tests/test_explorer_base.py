"""The Explorer base class and its picture: in-place updates, blitting, what reaches the browser,
latest-wins under a flood of values, errors shown in the widget, validated set()."""

import asyncio
import concurrent.futures
import importlib
import io
import random
import time

import ipywidgets as W
import numpy as np
import pytest
from PIL import Image

import avicviz.widgets as widgets
from avicviz.widgets import picture as picture_module
from avicviz.widgets._base import Explorer, option_values
from avicviz.widgets.controls import freeze_layout


class Bars(Explorer):
    figsize = (3.0, 2.0)
    title = "Bars"

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
        self.ax.set_xlim(0, 20 if self.params["wide"] else 10)
        if self.params["wide"] != getattr(self, "_wide", False):
            self._wide = self.params["wide"]
            self.relayout()
        self.readout.value = f"<b>{n}</b> bars of 10"
        self.model = n


class Browser:
    """Stands in for the browser end of a Picture: keeps the pictures it receives and paints
    them onto its own pixel array the way the front end does (a full picture replaces the
    canvas, a part is put at its place), and says "painted" for a picture that asks for it, when
    told to."""

    def __init__(self, ex, ratio=1, width=None):
        self.ex = ex
        self.screen = None
        self.readout = self.alt = None  # the words under the picture, and the canvas's label
        self.inbox = []
        self.asked = []  # for each picture painted: did it ask for a "painted" answer?
        ex.picture.send = lambda content, buffers=None: self.inbox.append((content, buffers))
        hello = {"type": "hello", "ratio": ratio}
        if width is not None:  # the CSS pixels the output area offers (0: not laid out yet)
            hello["width"] = width
        ex.picture._message(ex.picture, hello, [])

    def resize(self, width, ratio=1):
        self.ex.picture._message(self.ex.picture, {"type": "resize", "ratio": ratio, "width": width}, [])

    def css_width(self):
        """How wide the newest full picture is shown (CSS pixels), as the page sets it."""
        content = next(c for c, _ in reversed(self.inbox) if c["full"]) if self.inbox else self.last_full
        return content["width"] / content["ratio"]

    def paint_all(self, ack=True, keep=0):
        """Paint the pictures received, all but the newest ``keep`` (still on their way)."""
        while len(self.inbox) > keep:
            content, buffers = self.inbox.pop(0)
            if content["full"]:
                self.screen = np.zeros((content["height"], content["width"], 4), np.uint8)
            for (x, y), png in zip(content["parts"], buffers, strict=True):
                part = np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))
                self.screen[y:y + part.shape[0], x:x + part.shape[1]] = part
            if content["full"]:
                self.last_full = content
            self.readout = content.get("readout", self.readout)
            self.alt = content.get("alt", self.alt)
            self.asked.append(content["ack"])
            if ack and content["ack"]:
                self.ex.picture._message(self.ex.picture, {"type": "painted", "seq": content["seq"]}, [])


def _truth(ex):
    """What the figure looks like with everything drawn from scratch (no kept background used or
    kept; the explorer's layout key stays as it was).  Callers have checked (or will check) that
    the browser shows exactly this, so the explorer may go on sending only the boxes its next
    renders draw in, as when no full draw came between."""
    key = ex._layout_key
    ex.relayout()
    try:
        truth = ex.render().copy()
    finally:
        ex._layout_key = key
    ex._unsent = []
    return truth


def test_without_a_browser_artists_update_and_nothing_is_sent():
    ex = Bars()
    sent = []
    ex.picture.send = lambda *a, **k: sent.append(a)
    ex.set(n=5)
    assert ex.im.get_array()[0].tolist() == [1] * 5 + [0] * 5
    assert ex.updates == 2 and ex.pictures == 0 and sent == []


def test_a_browser_gets_a_full_picture_then_only_the_changed_pixels():
    ex = Bars()
    b = Browser(ex)
    assert len(b.inbox) == 1 and b.inbox[0][0]["full"]
    b.paint_all()
    assert np.array_equal(b.screen, _truth(ex))
    ex.set(n=9)
    (content, buffers), = b.inbox
    part = np.asarray(Image.open(io.BytesIO(buffers[0])))
    assert not content["full"] and part.shape[:2] < b.screen.shape[:2]
    b.paint_all()
    assert np.array_equal(b.screen, _truth(ex))


def test_the_readout_and_alt_text_travel_with_the_picture_they_describe():
    ex = Bars()
    b = Browser(ex)
    (first, _), = b.inbox  # a new page gets the words with its first, full picture
    assert first["readout"] == "<b>3</b> bars of 10" and first["alt"] == "Bars: 3 bars of 10"
    b.paint_all()
    ex.set(n=9)
    (content, buffers), = b.inbox
    assert content["readout"] == "<b>9</b> bars of 10" and content["alt"] == "Bars: 9 bars of 10"
    assert buffers  # and the bars' pixels, in the same message
    b.paint_all()
    ex.set(wide=True, n=9)
    b.paint_all()
    assert b.readout == "<b>9</b> bars of 10"


class Pages(Bars):
    """Bars whose x axis has a width of its own (a control): the figure outside ``dynamic`` is a
    function of that width, which it names when it asks for a full draw."""

    def _make_controls(self):
        return {"n": W.IntSlider(value=3, min=1, max=10), "width": W.IntSlider(value=10, min=10, max=16)}

    def _draw(self):
        super()._draw()
        freeze_layout(self.figure)  # as every explorer does: the axes stay where they are

    def _update(self):
        n, width = self.params["n"], self.params["width"]
        row = np.zeros((1, 10))
        row[0, :n] = 1
        self.im.set_data(row)
        if width != self.ax.get_xlim()[1] or self.updates == 0:
            self.ax.set_xlim(0, width)
            self.relayout(width)
        self.readout.value = f"{n} bars, axis to {width}"
        self.model = n


def _counting_draws(ex, monkeypatch):
    """Count the explorer's full draws of its figure (``canvas.draw``), through canvas changes
    (a new pixel ratio makes a new canvas); undone when the test ends."""
    drawn = []
    make = type(ex.canvas)

    def watch(canvas):
        real = canvas.draw
        canvas.draw = lambda *a, **k: (drawn.append(1), real(*a, **k))[1]
        return canvas

    ex.canvas = watch(ex.canvas)
    import avicviz.widgets._base as base
    monkeypatch.setattr(base, "FigureCanvasAgg", lambda fig: watch(make(fig)))
    return drawn


def test_a_layout_seen_before_is_painted_from_its_kept_background_not_drawn_again(monkeypatch):
    ex = Pages()
    b = Browser(ex)
    b.paint_all()
    drawn = _counting_draws(ex, monkeypatch)
    for width in (12, 14, 10, 12, 14):
        ex.controls["width"].value = width
        ex.controls["n"].value = width - 8
        b.paint_all()
        assert np.array_equal(b.screen, _truth(ex)) and b.readout == f"{width - 8} bars, axis to {width}"
        b.inbox.clear()
    # the three widths drawn once each (and _truth's five fresh draws): 10 was kept at the start
    assert len(drawn) == 2 + 5


class PagesLaidOut(Pages):
    """The same, with the figure's constrained layout left on: a draw moves the axes to fit the
    tick labels ("16" is wider than "10"), so a kept picture of another draw is no good."""

    def _draw(self):
        Bars._draw(self)


def test_a_figure_whose_layout_runs_at_each_draw_is_always_drawn_again(monkeypatch):
    ex = PagesLaidOut()
    b = Browser(ex)
    b.paint_all()
    drawn = _counting_draws(ex, monkeypatch)
    for width in (16, 10, 16, 10):
        ex.controls["width"].value = width
        b.paint_all()
        assert np.array_equal(b.screen, _truth(ex))
        b.inbox.clear()
    assert len(drawn) == 4 + 4 and not ex._backgrounds


def test_kept_backgrounds_are_few_and_per_pixel_ratio(monkeypatch):
    ex = Pages()
    b = Browser(ex)
    b.paint_all()
    for width in range(10, 17):
        ex.set(width=width)
        b.paint_all()
    assert [k for k, _ in ex._backgrounds] == [13, 14, 15, 16]  # the newest KEPT_BACKGROUNDS
    drawn = _counting_draws(ex, monkeypatch)
    b2 = Browser(ex, ratio=2)  # a 2x screen: a canvas of its own, nothing kept for it yet
    ex.set(width=15)
    ex.set(width=16)
    b2.paint_all()
    assert len(drawn) == 2 and np.array_equal(b2.screen, _truth(ex))
    b1 = Browser(ex, ratio=1)  # back at 1x: a new canvas again, which has drawn nothing
    b1.paint_all()
    ex.set(width=15)
    b1.paint_all()
    assert len(drawn) == 2 + 1 and np.array_equal(b1.screen, _truth(ex))


def test_a_figure_wider_than_its_output_area_is_drawn_at_the_size_shown():
    """The browser never scales a picture (that blurs its text): in 600 CSS pixels a 3-inch
    figure (300 pixels at full size) is drawn as is; in 240 it is drawn 240 wide, and on a 2x
    screen with twice the pixels; a wider area again gives the full size."""
    ex = Bars()
    b = Browser(ex, width=600)
    assert b.css_width() == 300 and ex.figure.dpi == 100
    b.paint_all()
    b.resize(240)
    (content, _), = b.inbox
    assert content["full"] and (content["width"], content["ratio"]) == (240, 1.0) and b.css_width() == 240
    b.paint_all()
    ex.set(n=9)
    b.paint_all()
    assert b.screen.shape[:2] == (160, 240) and np.array_equal(b.screen, _truth(ex))
    b.resize(240, ratio=2)
    b.paint_all()
    assert b.screen.shape[:2] == (320, 480) and b.css_width() == 240
    b.resize(1000, ratio=2)
    b.paint_all()
    assert b.screen.shape[:2] == (400, 600) and b.css_width() == 300
    assert np.array_equal(b.screen, _truth(ex))


def test_a_resize_that_keeps_the_resolution_sends_nothing():
    ex = Bars()
    b = Browser(ex, width=0)  # not laid out yet: drawn at full size
    assert b.css_width() == 300
    b.paint_all()
    for width in (800, 301, 300):  # wider than the figure, or as wide: the same picture
        b.resize(width)
        assert b.inbox == []
    b.resize(299)
    assert [c["width"] for c, _ in b.inbox] == [299]


@pytest.mark.parametrize("hello", [{"ratio": True, "width": "wide"}, {"ratio": float("nan"), "width": -5},
                                   {"ratio": 100, "width": None}, {}])
def test_a_page_that_says_something_odd_about_its_size_gets_a_picture_all_the_same(hello):
    ex = Bars()
    sent = []
    ex.picture.send = lambda content, buffers=None: sent.append(content)
    ex.picture._message(ex.picture, {"type": "hello", **hello}, [])
    (content,) = sent
    assert content["full"] and 1.0 <= content["ratio"] <= 4.0
    assert content["width"] == 300 * content["ratio"]


def test_a_resize_before_any_hello_draws_nothing():
    ex = Bars()
    sent = []
    ex.picture.send = lambda content, buffers=None: sent.append(content)
    ex.picture._message(ex.picture, {"type": "resize", "ratio": 2, "width": 100}, [])
    assert sent == [] and not ex.picture.has_view and ex.pictures == 0


class Words(Explorer):
    """A figure that never changes and a readout that does."""
    figsize = (3.0, 2.0)

    def _make_controls(self):
        return {"n": W.IntSlider(value=1, min=0, max=99)}

    def _draw(self):
        self.figure.text(0.5, 0.5, "fixed")

    def _update(self):
        self.readout.value = f"n = {self.params['n']}"


def test_new_words_over_the_same_pixels_are_sent_alone_and_nothing_when_nothing_changed():
    ex = Words()
    b = Browser(ex)
    b.paint_all()
    ex.set(n=5)
    (content, buffers), = b.inbox
    assert content["parts"] == [] and buffers == [] and content["readout"] == "n = 5"
    b.paint_all()
    ex.set(n=5)
    assert b.inbox == []


def test_a_slider_moved_in_the_page_costs_one_message_back():
    """The page sends a slider's new value; the kernel answers with the picture message alone:
    no echo of the value (the slider opts out), no readout or alt-text update of their own."""
    from avicviz.widgets import GATagExplorer
    ex = GATagExplorer()
    ex.picture._message(ex.picture, {"type": "hello", "ratio": 1}, [])
    sent = []
    for w in [ex.picture, ex.error, *ex.controls.values()]:
        w.comm.send = lambda data=None, metadata=None, buffers=None, _w=w: sent.append((_w, data))
    vcpu = ex.controls["vcpu"]
    vcpu._handle_msg({"content": {"data": {"method": "update", "state": {"value": vcpu.value + 1},
                                           "buffer_paths": []}}, "buffers": []})
    assert ex.params["vcpu"] == 301
    assert [(w is ex.picture, d["method"], d["content"]["type"]) for w, d in sent] == [
        (True, "custom", "picture")]
    assert "vcpu_idx <b>301</b>" in sent[0][1]["content"]["readout"]


class Corners(Explorer):
    """Two numbers in opposite corners of the figure."""
    figsize = (6.0, 3.0)

    def _make_controls(self):
        return {"n": W.IntSlider(value=1, min=0, max=99)}

    def _draw(self):
        self.low = self.figure.text(0.02, 0.02, "")
        self.high = self.figure.text(0.9, 0.9, "")
        self.dynamic = [self.low, self.high]

    def _update(self):
        self.low.set_text(str(self.params["n"]))
        self.high.set_text(str(99 - self.params["n"]))


def test_changes_far_apart_are_sent_as_separate_small_parts():
    ex = Corners()
    b = Browser(ex)
    b.paint_all()
    ex.set(n=42)
    (content, buffers), = b.inbox
    assert len(content["parts"]) == len(buffers) == 2
    sizes = [np.asarray(Image.open(io.BytesIO(png))).shape[:2] for png in buffers]
    h, w = b.screen.shape[:2]
    assert sum(r * c for r, c in sizes) < 0.05 * h * w  # not the box spanning both corners
    b.paint_all()
    assert np.array_equal(b.screen, _truth(ex))


def test_an_artist_hidden_by_a_change_is_noted_once_not_redrawn_on_every_picture():
    ex = Corners()
    b = Browser(ex)
    b.paint_all()
    ex.high.set_visible(False)
    ex.render()
    assert len(ex.boxes) == 1  # where it was is painted over with the background
    ex.render()
    assert ex.boxes == []      # and then nothing more is drawn for it
    b.inbox.clear()
    assert np.array_equal(ex.render(), _truth(ex))


class Dot(Explorer):
    """A marker at (n, n), or at NaN (nothing drawn) for n = 0, and a number far from it."""
    figsize = (6.0, 3.0)

    def _make_controls(self):
        return {"n": W.IntSlider(value=1, min=0, max=9)}

    def _draw(self):
        self.ax = self.figure.add_subplot(xlim=(0, 10), ylim=(0, 10))
        self.dot, = self.ax.plot([1], [1], "o")
        self.far = self.figure.text(0.98, 0.95, "far", ha="right")
        self.dynamic = [self.dot, self.far]

    def _update(self):
        n = self.params["n"]
        self.dot.set_data([n or np.nan], [n or np.nan])


def test_a_marker_moved_to_nan_is_wiped_where_it_was_and_nothing_else_is_drawn():
    """A marker with no finite point paints nothing: only its old place is painted over (it
    used to count as "anywhere", so every other artist was drawn again)."""
    ex = Dot()
    b = Browser(ex)
    b.paint_all()
    ex.set(n=0)
    (r0, r1, c0, c1), = ex.boxes
    h, w = b.screen.shape[:2]
    assert (r1 - r0) * (c1 - c0) < 0.01 * h * w
    b.paint_all()
    assert np.array_equal(b.screen, _truth(ex))
    ex.set(n=5)
    b.paint_all()
    assert np.array_equal(b.screen, _truth(ex))


class Dots(Explorer):
    """Markers at x = 1..n (two of them at x = 1 when ``twice``), each with a number over it."""
    figsize = (6.0, 3.0)

    def _make_controls(self):
        return {"n": W.IntSlider(value=3, min=1, max=9), "twice": W.Checkbox(value=False)}

    def _draw(self):
        self.ax = self.figure.add_subplot(xlim=(0, 10), ylim=(0, 10))
        self.dots, = self.ax.plot([], [], ls="none", marker="o", ms=9)
        self.numbers = [self.ax.text(i, 5.6, str(i), ha="center") for i in range(1, 10)]
        self.dynamic = [self.dots, *self.numbers]

    def _update(self):
        n = self.params["n"]
        x = list(range(1, n + 1)) + ([1] if self.params["twice"] else [])
        self.dots.set_data(x, [5] * len(x))
        for i, t in enumerate(self.numbers, start=1):
            t.set_visible(i <= n)


def test_a_marker_added_to_a_markers_only_line_repaints_around_it_alone():
    """The other markers' numbers are not drawn again (the line's place spans them all), and
    the browser still shows exactly the true picture, also when a marker sits on another."""
    ex = Dots()
    b = Browser(ex)
    b.paint_all()
    redrawn = []
    ex._redraw = (lambda draw: lambda arts, *a: (redrawn.extend(arts), draw(arts, *a)))(ex._redraw)
    ex.set(n=4)
    assert {t.get_text() for t in redrawn if hasattr(t, "get_text")} == {"4"}
    (r0, r1, c0, c1), = ex.boxes
    x, _y = ex.ax.transData.transform((4, 5))
    assert c0 < x < c1 and c1 - c0 < 40
    b.paint_all()
    assert np.array_equal(b.screen, _truth(ex))
    for step in (dict(twice=True), dict(n=2), dict(twice=False), dict(n=9), dict(n=1)):
        ex.set(**step)
        b.paint_all()
        assert np.array_equal(b.screen, _truth(ex)), step


def test_an_unchanged_picture_is_not_sent_again():
    ex = Bars()
    b = Browser(ex)
    b.paint_all()
    ex.set(n=3)  # the same value again
    assert b.inbox == []


def test_a_2x_screen_gets_a_picture_with_twice_the_pixels():
    one, two = Bars(), Bars()
    b1, b2 = Browser(one, ratio=1), Browser(two, ratio=2)
    b1.paint_all(), b2.paint_all()
    assert b2.screen.shape[:2] == (2 * b1.screen.shape[0], 2 * b1.screen.shape[1])
    assert b2.inbox == [] and two.figure.dpi == 200


def test_a_hundred_values_during_one_picture_give_a_handful_of_draws_ending_on_the_last():
    ex = Bars()
    b = Browser(ex)
    b.paint_all()
    start = ex.pictures
    for v in list(range(1, 7)) * 16 + [8, 9, 10, 4]:  # 100 values while a picture is in flight
        ex.controls["n"].value = v
    # the window holds the full picture (painted, not yet confirmed) and one more
    assert ex.pictures - start == picture_module.WINDOW - 1  # the rest wait for "painted"
    for _ in range(5):
        b.paint_all()
    assert ex.pictures - start == picture_module.WINDOW and ex.params["n"] == 4
    assert ex.model == 4 and np.array_equal(b.screen, _truth(ex))


def test_in_a_kernel_the_picture_is_drawn_after_the_message_is_answered():
    """In a kernel (an event loop runs), a browser's message only updates the model; the picture
    is drawn when the loop turns, after the kernel said "idle", and values that came in the
    meantime make one picture, of the latest."""
    ex = Bars()
    b = Browser(ex)
    b.paint_all()
    start = ex.pictures

    async def messages():
        for v in (4, 5, 6):  # three values handled before the loop turns
            ex.controls["n"].value = v
        answered = (ex.pictures, list(b.inbox), ex.model)
        await asyncio.sleep(0)
        return answered

    drawn_then, sent_then, model_then = _run_in_a_loop(messages)
    assert (drawn_then, sent_then, model_then) == (start, [], 6)  # model updated, nothing drawn
    assert ex.pictures == start + 1 and len(b.inbox) == 1
    b.paint_all()
    assert np.array_equal(b.screen, _truth(ex))

    async def answer():  # a "painted" answer with a change waiting: drawn after it, too
        ex.picture._message(None, {"type": "painted", "seq": ex.picture.sent}, [])
        ex.controls["n"].value = 9
        waiting = len(b.inbox)
        await asyncio.sleep(0)
        return waiting

    assert _run_in_a_loop(answer) == 0 and len(b.inbox) == 1 and ex.model == 9
    b.paint_all()
    assert np.array_equal(b.screen, _truth(ex))


def _run_in_a_loop(coroutine_function):
    """Run a coroutine as a kernel runs a message handler: a task of an event loop, here in a
    thread of its own (this thread may have a loop set already: Playwright's sync API leaves one
    set between calls when the browser tests run first)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine_function()).result()


def test_a_change_outside_any_task_of_a_running_loop_is_sent_at_once():
    """A loop that is running but not running this code in a task (Playwright's sync API keeps
    its loop set between calls; a plain callback) may never turn for us: no deferral there."""
    ex = Bars()
    b = Browser(ex)
    b.paint_all()
    start = ex.pictures

    def in_a_callback():
        loop = asyncio.get_running_loop()
        ex.controls["n"].value = 8
        return loop, ex.pictures, len(b.inbox)

    async def main():
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.call_soon(lambda: done.set_result(in_a_callback()))
        return await done

    loop, drawn, sent = _run_in_a_loop(main)
    assert loop is not None and (drawn, sent) == (start + 1, 1)
    b.paint_all()
    assert np.array_equal(b.screen, _truth(ex)) and ex.model == 8


def test_a_page_that_keeps_up_answers_every_fourth_picture_and_is_never_held_back():
    ex = Bars()
    b = Browser(ex)
    values = [4, 5, 6, 8, 9, 10, 1, 2, 1, 5, 6, 8, 9, 10, 1, 2]  # never 3 (the start), nor 7
    for v in values:
        ex.controls["n"].value = v
        b.paint_all(keep=2)  # the page paints two pictures behind the kernel, as over a network
    sent = [c for c, _ in b.inbox]
    b.paint_all()
    k = picture_module.ACK_EVERY
    assert k > 2 and b.asked == [s % k == 0 for s in range(1, len(values) + 2)]
    # every value was drawn as it came: each answer arrived before the window filled
    assert [c["seq"] for c in sent] == [len(values), len(values) + 1]
    assert ex.picture.sent == len(values) + 1 and ex.model == 2
    assert np.array_equal(b.screen, _truth(ex))


def test_the_picture_that_fills_the_window_asks_for_an_answer_too(monkeypatch):
    monkeypatch.setattr(picture_module, "WINDOW", 3)  # fills before the fourth picture asks
    ex = Bars()
    b = Browser(ex)  # the first picture (value 3) is on its way, not painted yet
    for v in [4, 5, 6, 8]:
        ex.controls["n"].value = v
    assert [(c["seq"], c["ack"]) for c, _ in b.inbox] == [(1, False), (2, False), (3, True)]
    assert ex.model == 5  # 6 and 8 wait for the answer
    b.paint_all()  # answers picture 3: the latest value is drawn, 6 never is
    assert ex.model == 8 and ex.picture.sent == 4
    assert np.array_equal(b.screen, _truth(ex))


def test_a_picture_never_acknowledged_does_not_block_forever(monkeypatch):
    monkeypatch.setattr(picture_module, "WINDOW", 3)
    ex = Bars()
    b = Browser(ex)  # the first picture is sent and never painted: the page was closed
    for v in [2, 4, 5, 6]:
        ex.controls["n"].value = v
    assert ex.model == 4 and len(b.inbox) == 3  # the window is full: 5 and 6 wait
    monkeypatch.setattr(picture_module, "ACK_TIMEOUT", 0.0)  # given up as lost
    ex.controls["n"].value = 8
    assert ex.model == 8 and len(b.inbox) == 4


def test_relayout_draws_what_lies_outside_the_dynamic_artists():
    ex = Bars()
    b = Browser(ex)
    b.paint_all()
    ex.set(wide=True)
    b.paint_all()
    assert ex.ax.get_xlim() == (0.0, 20.0)
    assert np.array_equal(b.screen, _truth(ex))


def test_savefig_includes_the_blitted_artists(tmp_path):
    dark = {}
    for n in (1, 10):
        ex = Bars(n=n)
        ex.savefig(tmp_path / f"{n}.png")
        dark[n] = int((np.asarray(Image.open(tmp_path / f"{n}.png").convert("L")) < 100).sum())
        assert all(a.get_animated() for a in ex.dynamic)  # and blitting goes on afterwards
    assert dark[10] > dark[1] + 1000  # nine more black bars


def test_the_display_bundle_holds_the_widget_a_png_and_the_picture_in_words():
    ex = Bars(n=4)
    data = ex._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert Image.open(io.BytesIO(data["image/png"])).size == (300, 200)
    assert data["text/plain"] == "Bars: 4 bars of 10"
    assert ex.picture.alt == "Bars: 4 bars of 10"


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


# ---- every explorer ----------------------------------------------------------------------
EXPLORERS = sorted(n for n in widgets._WHERE if n not in ("Explorer", "Check", "check"))


def _explorer(name):
    return getattr(importlib.import_module(f"avicviz.widgets.{widgets._WHERE[name]}"), name)


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


@pytest.mark.parametrize("ratio, width, steps", [(1, None, 25), (2, None, 8), (1.5, 700, 8)],
                         ids=["1x", "2x", "1.5x-narrow"])
@pytest.mark.parametrize("name", EXPLORERS)
def test_random_walk_the_browser_shows_the_true_picture(name, ratio, width, steps):
    """After any sequence of changes, the picture the browser has painted (full picture, then
    changed parts) equals the figure drawn from scratch: nothing outside ``dynamic`` changed
    without a relayout, and no changed pixel was left out; on a 1x and a 2x screen, and on a
    1.5x screen in an output area narrower than the figure (drawn at a lower resolution)."""
    ex = _explorer(name)()
    b = Browser(ex, ratio=ratio, width=width)
    b.paint_all()
    rng = random.Random(name)
    for _ in range(steps):
        key = rng.choice(list(ex.controls))
        ex.controls[key].value = _random_value(ex.controls[key], rng)
        assert ex.error.value == "", (name, ex.params)
        b.paint_all()
        assert (b.readout, b.alt) == (ex.readout.value, ex.alt_text()), (name, ex.params)
        assert np.array_equal(b.screen, _truth(ex)), (name, ex.params)
        b.inbox.clear()  # _truth() draws again; nothing new for the browser


def _ends(w):
    opts = option_values(w)
    if opts is not None:
        return [opts[-1], opts[0]]
    if isinstance(w.value, bool):
        return [not w.value, w.value]
    if isinstance(w.value, str):  # a typed address: the largest, one not a number, the default
        return ["0xFFFFFFFFFF000", "oops", w.value]
    return [w.max, w.min]


@pytest.mark.parametrize("name", EXPLORERS)
def test_each_control_at_both_ends_the_browser_shows_the_true_picture(name):
    ex = _explorer(name)()
    b = Browser(ex)
    b.paint_all()
    for key, w in ex.controls.items():
        for v in _ends(w):
            ex.controls[key].value = v
            assert ex.error.value == "", (name, key, v)
            b.paint_all()
            assert np.array_equal(b.screen, _truth(ex)), (name, key, v)
            b.inbox.clear()


@pytest.mark.parametrize("name", EXPLORERS)
def test_every_slider_follows_a_drag(name):
    ex = _explorer(name)()
    sliders = [k for k, w in ex.controls.items() if isinstance(w, W.IntSlider)]
    assert all(ex.controls[k].continuous_update for k in sliders)


@pytest.mark.parametrize("name", EXPLORERS)
def test_every_control_has_a_label(name):
    ex = _explorer(name)()
    assert all(w.description.strip() for w in ex.controls.values()), name


@pytest.mark.parametrize("name", EXPLORERS)
def test_every_release_picker_offers_every_mainline_release(name):
    from avicviz.releases import mainline_releases

    ex = _explorer(name)()
    if "kernel" in ex.controls:
        assert sorted(option_values(ex.controls["kernel"])) == sorted(mainline_releases())
        assert len(mainline_releases()) == 14 + 20 + 20  # 4.7..4.20, 5.0..5.19, 6.0..6.19
