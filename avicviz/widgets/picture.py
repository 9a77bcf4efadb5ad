"""The explorers' picture: an anywidget that paints pictures rendered by matplotlib's Agg.

The kernel renders a figure with Agg (public blitting API), finds the boxes of pixels that changed
since the last picture it sent, and sends each box as a PNG in a binary buffer.  The browser
paints it into a ``<canvas>`` with ``drawImage``.

Backpressure.  At most ``WINDOW`` pictures are on their way (sent, not yet confirmed painted);
while the window is full no picture is sent, values that arrive meanwhile are not drawn, and only
the last one is drawn when the browser catches up (latest wins).  Every ``ACK_EVERY``-th picture
asks for a "painted" answer, early enough that a page which keeps up never finds the window full.
During a drag the pace is set upstream anyway: an ipywidgets slider sends its next value only
after the kernel has gone idle on the last one, so each value costs one message to the kernel and
the answers add one in ``ACK_EVERY``.  That matters in JupyterLab, where every message to the
kernel costs the page a "busy" and an "idle" status update: answering every second picture and
waiting for each answer held GATag drags in Lab at 18-19 pictures per second, answering every
fourth without waiting gave 20-22 (benchmarks/notes.md).

The explorer's readout (HTML) and the picture in words (the canvas's aria-label) travel in the
picture's message and change in the same frame as the pixels: one message per answer instead of
three (a widget trait that changes is a message of its own).

The kernel draws each picture at the size it is shown: the page says how wide its output area
is and the screen's pixel ratio (on its first message, and again when either changes), and a
figure wider than the area is drawn at a lower resolution rather than scaled down by the browser,
which blurs its text.  On a 2x screen it is drawn with twice the pixels.  The canvas is also
capped at the width of its output area, in case the page narrows before the kernel answers.
"""

from __future__ import annotations

import io
import time
from typing import Callable

import anywidget
import numpy as np
import traitlets as T
from PIL import Image

__all__ = ["Picture", "changed_box", "encode_png"]

_ESM = r"""
function render({ model, el }) {
  el.classList.add("avicviz-picture");
  const canvas = document.createElement("canvas");
  canvas.setAttribute("role", "img");
  const ctx = canvas.getContext("2d");
  el.appendChild(canvas);
  const readout = document.createElement("div");
  readout.className = "avicviz-readout";
  el.appendChild(readout);
  let chain = Promise.resolve();
  // A slider step changes a readout's numbers, not its markup: where the new markup has the
  // same elements and attributes, only the text that differs is replaced (new elements would
  // cost the page a style pass each time; in JupyterLab's large page that slowed drags).
  const sameShape = (a, b) => {
    if (a.nodeType !== b.nodeType || a.nodeName !== b.nodeName
        || a.childNodes.length !== b.childNodes.length) return false;
    if (a.nodeType === Node.ELEMENT_NODE) {
      if (a.attributes.length !== b.attributes.length) return false;
      for (const at of b.attributes) if (a.getAttribute(at.name) !== at.value) return false;
    }
    return [...b.childNodes].every((c, i) => sameShape(a.childNodes[i], c));
  };
  const patchText = (a, b) => {
    if (a.nodeType !== Node.ELEMENT_NODE) { if (a.data !== b.data) a.data = b.data; return; }
    b.childNodes.forEach((c, i) => patchText(a.childNodes[i], c));
  };
  const setReadout = (html) => {
    const next = document.createElement("template");
    next.innerHTML = html;
    const frag = next.content;
    if (readout.childNodes.length === frag.childNodes.length
        && [...frag.childNodes].every((c, i) => sameShape(readout.childNodes[i], c))) {
      frag.childNodes.forEach((c, i) => patchText(readout.childNodes[i], c));
    } else {
      readout.replaceChildren(frag);
    }
  };
  const opts = { premultiplyAlpha: "none", colorSpaceConversion: "none" };
  // PNG bytes -> something drawImage takes, with its size.  WebCodecs' ImageDecoder (secure
  // pages: https or this machine) reads the bytes where they are; a Blob, the fallback, is first
  // registered with the browser process, which cost about 2 ms per picture in Chromium.
  // window.__avicvizBlobDecode = true before the page loads forces the fallback (tests).
  const useDecoder = typeof ImageDecoder === "function" && !window.__avicvizBlobDecode;
  canvas.dataset.decoder = useDecoder ? "ImageDecoder" : "Blob";
  const decode = useDecoder
    ? async (buf) => {
        const dec = new ImageDecoder({ data: buf, type: "image/png", ...opts });
        try {
          const { image } = await dec.decode();
          return { img: image, w: image.displayWidth, h: image.displayHeight };
        } finally { dec.close(); }
      }
    : async (buf) => {
        const img = await createImageBitmap(new Blob([buf], { type: "image/png" }), opts);
        return { img, w: img.width, h: img.height };
      };
  async function paint(msg, decoding) {
    try {
      // every part decoded first, then painted together: one picture, one frame
      const parts = await decoding;
      if (msg.full) {
        canvas.width = msg.width;
        canvas.height = msg.height;
        canvas.style.width = msg.width / msg.ratio + "px";
      }
      msg.parts.forEach(([x, y], i) => {
        const { img, w, h } = parts[i];
        ctx.clearRect(x, y, w, h);
        ctx.drawImage(img, x, y, w, h);
        img.close();
      });
      // the words change in the same frame as the picture they describe
      if (typeof msg.readout === "string") setReadout(msg.readout);
      if (typeof msg.alt === "string") canvas.setAttribute("aria-label", msg.alt);
    } finally {
      if (msg.ack) model.send({ type: "painted", seq: msg.seq });
    }
  }
  const onMessage = (msg, buffers) => {
    if (!msg || msg.type !== "picture") return;
    // decoding starts as the picture arrives, painting waits for the pictures before it: a page
    // that fell behind decodes its queue in parallel and catches up in fewer frames
    const decoding = Promise.all(msg.parts.map((_, i) => decode(buffers[i])));
    decoding.catch(() => {});  // a failed decode is reported where paint awaits it
    // a picture that cannot be painted is reported and skipped: the pictures after it still are
    chain = chain.then(() => paint(msg, decoding))
      .catch((err) => console.error("avicviz: a picture could not be painted", err));
  };
  model.on("msg:custom", onMessage);
  // The kernel draws the picture at the size it is shown: the width this output area offers
  // (CSS pixels; 0 while it is not laid out) times the screen's pixel ratio, so that no picture
  // is scaled by the browser (a scaled picture's text is blurred).  A new width or ratio (the
  // window resized, the file browser opened, the page zoomed) is told once it settles.
  const size = () => ({ width: Math.floor(el.getBoundingClientRect().width),
                        ratio: window.devicePixelRatio || 1 });
  let told = size();
  model.send({ type: "hello", ...told });
  let settle = null;
  const onResize = () => {
    clearTimeout(settle);
    settle = setTimeout(() => {
      const now = size();
      if (now.width > 0 && (now.width !== told.width || now.ratio !== told.ratio)) {
        told = now;
        model.send({ type: "resize", ...now });
      }
    }, 150);
  };
  const watch = typeof ResizeObserver === "function" ? new ResizeObserver(onResize) : null;
  if (watch) watch.observe(el);
  window.addEventListener("resize", onResize);  // a zoom changes the ratio, maybe not the width
  return () => {
    model.off("msg:custom", onMessage);
    if (watch) watch.disconnect();
    window.removeEventListener("resize", onResize);
    clearTimeout(settle);
  };
}
export default { render };
"""

_CSS = """
.avicviz-picture { min-width: 0; max-width: 100%; }
.avicviz-picture canvas { display: block; max-width: 100%; height: auto; }
.avicviz-readout {
  min-height: 2.5em; margin: 4px 2px; line-height: 1.45; overflow-wrap: anywhere;
  font-size: var(--jp-widgets-font-size, 13px);
  color: var(--jp-widgets-color, var(--jp-content-font-color1, #000));
}
"""

#: A picture not acknowledged within this many seconds is taken as lost (a closed page).
ACK_TIMEOUT = 2.0
#: Pictures sent since the browser last said "painted", at most: a page that falls this far
#: behind holds the kernel back (the values that arrive meanwhile are merged, the last one drawn).
WINDOW = 8
#: Every ``ACK_EVERY``-th picture asks for a "painted" answer, and so does the one that fills the
#: window.  The answer comes back while the next pictures are on their way, so a page that keeps
#: up never holds the kernel back, and only one picture in four costs a message to the kernel.
ACK_EVERY = 4


def changed_box(new: np.ndarray, old: np.ndarray | None) -> tuple[int, int, int, int] | None:
    """The smallest box (row0, row1, col0, col1) outside which two RGBA pictures agree; the whole
    picture when there is no old one or its size differs; None when nothing changed.

    >>> a = np.zeros((4, 5, 4), np.uint8); b = a.copy(); b[1:3, 2] = 255
    >>> changed_box(b, a), changed_box(a, a), changed_box(a, None)
    ((1, 3, 2, 3), None, (0, 4, 0, 5))
    """
    h, w = new.shape[:2]
    if old is None or old.shape != new.shape:
        return (0, h, 0, w)
    diff = new.view(np.uint32)[:, :, 0] != old.view(np.uint32)[:, :, 0]
    rows = np.flatnonzero(diff.any(axis=1))
    if not rows.size:
        return None
    cols = np.flatnonzero(diff[rows[0]:rows[-1] + 1].any(axis=0))
    return (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)


def encode_png(rgba: np.ndarray) -> bytes:
    """An 8-bit RGBA array as PNG bytes, compressed for speed rather than size (Pillow, level 1).

    >>> png = encode_png(np.full((2, 3, 4), 255, np.uint8))
    >>> png[:4], Image.open(io.BytesIO(png)).size
    (b'\\x89PNG', (3, 2))
    """
    out = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgba), "RGBA").save(out, format="PNG", compress_level=1)
    return out.getvalue()


class Picture(anywidget.AnyWidget):
    """Shows the pictures an explorer sends; tells the kernel when each one is painted.

    ``on_view(new)`` runs when a browser view appears (``new`` True: the owner then sends a full
    picture) or says that its size changed (``new`` False: the owner sends a full picture if it
    draws at another resolution now); ``ratio`` is its screen's pixel ratio and ``width`` the CSS
    pixels its output area offers (None: not known).  ``on_painted()`` runs when the last picture
    sent is on screen: the owner may then send the next one.
    """

    _esm = _ESM
    _css = _CSS
    #: What the picture shows, in words (the canvas's aria-label).
    alt = T.Unicode("")
    #: The HTML under the picture (the explorer's readout).
    readout = T.Unicode("")

    def __init__(self, on_view: Callable[[bool], None], on_painted: Callable[[], None],
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self._on_view = on_view
        self._on_painted = on_painted
        self.ratio = 1.0
        self.width: float | None = None  # CSS pixels the page's output area offers
        self.has_view = False
        self.sent = 0            # pictures sent
        self._acked = 0          # the newest picture a view said it painted
        self._sent_at = 0.0
        self._last: np.ndarray | None = None
        self._words: tuple[str, str] | None = None  # (readout, alt) last sent
        self.on_msg(self._message)

    @property
    def busy(self) -> bool:
        """True while ``WINDOW`` pictures are sent since the last one the browser said it painted
        (and that picture is not given up as lost)."""
        return (self.has_view and self.sent - self._acked >= WINDOW
                and time.monotonic() - self._sent_at < ACK_TIMEOUT)

    def show(self, rgba: np.ndarray, full: bool = False,
             boxes: list[tuple[int, int, int, int]] | None = None) -> int:
        """Send what changed in ``rgba`` since the last picture (everything if ``full``).

        ``boxes`` (row0, row1, col0, col1), when given, are the only places where pixels may
        have changed: each is compared and sent as its own PNG, so that changes far apart do not
        send everything between them.  The readout and alt text go with it when they changed
        (alone, when no pixel did).  Returns the number of PNG bytes sent (0: no pixel changed).
        """
        h, w = rgba.shape[:2]
        if full or self._last is None or self._last.shape != rgba.shape:
            parts = [(0, h, 0, w)]
            self._last = rgba.copy()
        else:
            parts = []
            for r0, r1, c0, c1 in ([(0, h, 0, w)] if boxes is None else boxes):
                b = changed_box(rgba[r0:r1, c0:c1], self._last[r0:r1, c0:c1])
                if b is not None:
                    parts.append((r0 + b[0], r0 + b[1], c0 + b[2], c0 + b[3]))
            for r0, r1, c0, c1 in parts:
                self._last[r0:r1, c0:c1] = rgba[r0:r1, c0:c1]
        words = (self.readout, self.alt)
        if not parts and words == self._words:
            return 0
        pngs = [encode_png(rgba[r0:r1, c0:c1]) for r0, r1, c0, c1 in parts]
        self.sent += 1
        self._sent_at = time.monotonic()
        msg = {"type": "picture", "seq": self.sent, "full": parts == [(0, h, 0, w)],
               "parts": [[c0, r0] for r0, _r1, c0, _c1 in parts],
               "width": w, "height": h, "ratio": self.ratio,
               "ack": self.sent % ACK_EVERY == 0 or self.sent - self._acked >= WINDOW}
        if words != self._words:  # the words travel with the picture: one message, one frame
            msg["readout"], msg["alt"] = self._words = words
        self.send(msg, pngs)
        return sum(map(len, pngs))

    def _message(self, _widget, content, _buffers) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "resize" and not self.has_view:
            return  # a page says hello first
        if kind in ("hello", "resize"):
            ratio, width = content.get("ratio", 1), content.get("width")
            number = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool) and x == x
            # a zoomed page or a 1.25x/1.5x laptop screen has its own ratio; beyond 4, no gain
            self.ratio = min(max(float(ratio), 1.0), 4.0) if number(ratio) else 1.0
            self.width = float(width) if number(width) and width > 0 else None
            if kind == "resize":
                self._on_view(False)
                return
            self.has_view = True
            self._acked = self.sent  # nothing in flight to this new view
            self._last = None        # its canvas is empty: the next picture is a full one
            self._words = None       # and it has no words yet
            self._on_view(True)
        elif kind == "painted":
            seq = content.get("seq")
            if isinstance(seq, int) and seq > self._acked:
                self._acked = min(seq, self.sent)
                self._on_painted()
