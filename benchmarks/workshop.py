"""Workshop load: a room of N attendees on loopback against `avicviz demo`.

Run with ``make bench-workshop`` (or ``python benchmarks/workshop.py --help``).  For each room
size (default 1, 10 and 30) it starts the product itself, ``avicviz demo --room N --demos gatag``,
waits for its READY line, and lets N attendees arrive within ``--window`` seconds (default 10):

* **protocol-level attendees** (threads): load the GATag demo's page over HTTP, open the page's
  kernel websocket and fetch every widget's state, as the page's JavaScript does (page ready =
  page received + every widget's state received); then move a slider ``--steps`` times, one
  step = one comm message setting the slider's value, done when the kernel reports idle after
  handling it (the explorer has computed and sent its new picture by then); a pause of
  ``--think`` seconds between steps;
* **real Chromium pages** (``--browsers``, default 3 of the N, when /usr/bin/chromium exists):
  page ready = navigation start until the first explorer picture is drawn and settled; a slider
  step = key press on the slider to the picture's pixels changing.

Reported: time to READY, page-ready and slider-step percentiles (median, p95, max), failures,
and the memory of the server's process tree (PSS) with the whole room connected.  Everything
is bounded: at most ``--max-room`` attendees, ``--deadline`` seconds per room size, and the
server is stopped at the end of each size whatever happens.  Results go to
``benchmarks/results.md`` (section "Workshop load").
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import statistics
import struct
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from avicviz import servers  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results.md"
SECTION = "## Workshop load (make bench-workshop)"
DEMO = "gatag.ipynb"
#: a picture of an explorer, however it is drawn (anywidget canvas or ipympl canvas)
PICTURE = ".avicviz-explorer canvas, .jupyter-matplotlib canvas"
#: targets from issue 10
TARGET_PAGE_P95_S = 5.0
TARGET_BROWSER_PAGE_P95_S = 15.0
TARGET_STEP_P95_MS = 500.0
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def percentiles(xs: list[float]) -> dict:
    """Median, 95th percentile and maximum of ``xs`` (empty: Nones).

    >>> percentiles([1.0, 2.0, 3.0, 4.0])
    {'n': 4, 'median': 2.5, 'p95': 3.85, 'max': 4.0}
    """
    if not xs:
        return {"n": 0, "median": None, "p95": None, "max": None}
    s = sorted(xs)
    k = (len(s) - 1) * 0.95
    lo = int(k)
    p95 = s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (k - lo)
    return {"n": len(s), "median": statistics.median(s), "p95": round(p95, 6), "max": s[-1]}


# ---- the kernel websocket (Jupyter's JSON protocol, binary frames for buffers) -----------------

#: The kernel websocket protocol browsers speak (JupyterLab's and Voilà's front ends).  The legacy
#: protocol (JSON, binary frames for buffers) stalled Voilà on the picture's first PNG: the server
#: took CPU and memory and never sent the picture.
V1 = "v1.kernel.websocket.jupyter.org"


def _v1_frame(channel: str, parts: list[bytes]) -> bytes:
    """A message in the v1 protocol: the number of offsets, the offsets, the channel, the parts."""
    chan = channel.encode()
    offsets = [8 * (len(parts) + 3), 8 * (len(parts) + 3) + len(chan)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    return b"".join([len(offsets).to_bytes(8, "little"), *(o.to_bytes(8, "little") for o in offsets),
                     chan, *parts])


def _decode(frame) -> dict:
    if isinstance(frame, str):
        return json.loads(frame)
    n = int.from_bytes(frame[:8], "little")
    offsets = [int.from_bytes(frame[8 * (i + 1):8 * (i + 2)], "little") for i in range(n)]
    parts = [frame[offsets[i]:offsets[i + 1]] for i in range(1, n - 1)]
    header, parent, _meta, content = (json.loads(p) if p else {} for p in parts[:4])
    return {"header": header, "parent_header": parent, "content": content, "buffers": parts[4:],
            "channel": frame[offsets[0]:offsets[1]].decode()}


class KernelSocket:
    def __init__(self, base_ws: str, kernel_id: str, token: str, timeout: float):
        import websocket  # websocket-client

        self.session = uuid.uuid4().hex
        self.ws = websocket.create_connection(
            f"{base_ws}api/kernels/{kernel_id}/channels?session_id={self.session}&token={token}",
            timeout=timeout, http_proxy_host=None, subprotocols=[V1])

    def send(self, msg_type: str, content: dict, channel: str = "shell") -> str:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "session": self.session, "username": "bench",
                  "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        self.ws.send_binary(_v1_frame(channel, [json.dumps(x).encode() for x in (header, {}, {}, content)]))
        return msg_id

    def recv(self) -> dict:
        return _decode(self.ws.recv())

    def until(self, done, deadline: float) -> list[dict]:
        """Receive messages until ``done(msg)``; return all received.  TimeoutError at ``deadline``."""
        got = []
        while True:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from the kernel in time")
            self.ws.settimeout(max(0.05, deadline - time.monotonic()))
            m = self.recv()
            got.append(m)
            if done(m):
                return got

    def close(self):
        try:
            self.ws.close()
        except Exception:
            pass


@dataclass
class Attendee:
    index: int
    arrive_at: float
    html_s: float | None = None
    ready_s: float | None = None
    steps_ms: list[float] = field(default_factory=list)
    steps_at: list[float] = field(default_factory=list)  # seconds since the room's first arrival
    answered: int = 0  # steps after which the explorer sent something back (a picture, a readout)
    pictures: int = 0  # pictures the kernel rendered and sent to this attendee
    error: str | None = None


def _idle_after(msg_id):
    return lambda m: (m.get("msg_type") or m["header"]["msg_type"]) == "status" \
        and m.get("parent_header", {}).get("msg_id") == msg_id and m["content"].get("execution_state") == "idle"


def protocol_attendee(a: Attendee, base: str, token: str, t0: float, duration: float, think: float,
                      deadline: float, all_in: threading.Event, stop: threading.Event) -> None:
    ks = None
    try:
        time.sleep(max(0.0, t0 + a.arrive_at - time.monotonic()))
        start = time.monotonic()
        with _NO_PROXY.open(f"{base}voila/render/{DEMO}?token={token}", timeout=max(1, deadline - start)) as r:
            html = r.read().decode()
        a.html_s = time.monotonic() - start
        kid = re.search(r'"kernelId":\s*"([0-9a-f-]+)"', html).group(1)
        ks = KernelSocket(base.replace("http://", "ws://"), kid, token, timeout=max(1, deadline - time.monotonic()))
        rid = ks.send("comm_info_request", {"target_name": "jupyter.widget"})
        comms = ks.until(lambda m: m["parent_header"].get("msg_id") == rid
                         and m["header"]["msg_type"] == "comm_info_reply", deadline)[-1]
        comm_ids = list(comms["content"]["comms"])
        states: dict[str, dict] = {}
        for cid in comm_ids:
            ks.send("comm_msg", {"comm_id": cid, "data": {"method": "request_state"}})
        pending = set(comm_ids)

        def got_state(m):
            if m["header"]["msg_type"] == "comm_msg":
                c = m["content"]
                if c["comm_id"] in pending and c["data"].get("method") == "update":
                    states[c["comm_id"]] = c["data"]["state"]
                    pending.discard(c["comm_id"])
            return not pending
        ks.until(got_state, deadline)
        a.ready_s = time.monotonic() - start
        sliders = [(cid, s) for cid, s in states.items() if s.get("_model_name") == "IntSliderModel"
                   and not s.get("disabled")]
        if not sliders:
            raise RuntimeError("the page has no slider")
        cid, s = sliders[0]
        lo, hi, v = s["min"], s["max"], s["value"]
        # the explorers' pictures: say "hello" as the page's front end does, so that the kernel
        # renders and sends pictures for this attendee too
        pictures = [c for c, st in states.items() if st.get("_model_name") == "AnyModel"
                    and "avicviz-picture" in str(st.get("_esm", ""))]
        for pid in pictures:
            ks.send("comm_msg", {"comm_id": pid, "data": {"method": "custom",
                                                          "content": {"type": "hello", "ratio": 1}}})
        # slider steps start once the whole room is in (every page ready, or failed)
        all_in.wait(timeout=max(0.0, deadline - time.monotonic()))
        until = min(deadline, time.monotonic() + duration)
        while not stop.is_set() and time.monotonic() < until:
            v = v + s.get("step", 1) if v + s.get("step", 1) <= hi else lo
            ts = time.monotonic()
            mid = ks.send("comm_msg", {"comm_id": cid, "data": {"method": "update", "state": {"value": v},
                                                                "buffer_paths": []}})
            got = ks.until(_idle_after(mid), deadline)
            a.steps_ms.append((time.monotonic() - ts) * 1000)
            for m in got:  # answer "painted" where a picture asks for it, as the front end does
                c = m["content"] if m["header"]["msg_type"] == "comm_msg" else {}
                content = c.get("data", {}).get("content") or {}
                if c.get("comm_id") in pictures and content.get("type") == "picture" and content.get("ack"):
                    a.pictures += 1
                    ks.send("comm_msg", {"comm_id": c["comm_id"], "data": {"method": "custom", "content": {
                        "type": "painted", "seq": content["seq"]}}})
                elif c.get("comm_id") in pictures and content.get("type") == "picture":
                    a.pictures += 1
            a.steps_at.append(ts - t0)
            # the explorer answered: messages on other widgets' comms (picture, readout)
            a.answered += any(m["header"]["msg_type"] == "comm_msg" and m["content"].get("comm_id") != cid
                              for m in got)
            time.sleep(think)
    except Exception as e:  # noqa: BLE001 - a failure is a result, not a crash
        a.error = f"{type(e).__name__}: {e}"[:200]
    finally:
        if ks is not None:
            ks.close()


def browser_attendees(n: int, base: str, token: str, t0: float, arrivals: list[float], steps: int,
                      think: float, deadline: float) -> list[Attendee]:
    from harness import SLIDER, browser, find_chromium, key_to_pixels_ms, new_page, wait_canvas_stable

    out = [Attendee(i, at) for i, at in enumerate(arrivals[:n])]
    if n == 0 or find_chromium() is None:
        return []
    with browser() as b:
        pages = []
        for a in out:  # open each page at its arrival time; wait for them all afterwards
            time.sleep(max(0.0, t0 + a.arrive_at - time.monotonic()))
            p = new_page(b)
            a._start = time.monotonic()  # type: ignore[attr-defined]
            try:
                p.goto(f"{base}voila/render/{DEMO}?token={token}", wait_until="commit",
                       timeout=max(1, deadline - time.monotonic()) * 1000)
            except Exception as e:  # noqa: BLE001
                a.error = f"{type(e).__name__}: {e}"[:200]
            pages.append(p)
        for a, p in zip(out, pages):
            if a.error:
                continue
            try:
                pic = p.locator(PICTURE).first
                pic.wait_for(timeout=max(1, deadline - time.monotonic()) * 1000)
                wait_canvas_stable(pic, timeout=max(1, deadline - time.monotonic()))
                a.ready_s = time.monotonic() - a._start  # type: ignore[attr-defined]
                # Stable means 0.6 s without a change: take that quiet time off.
                a.ready_s = max(0.0, a.ready_s - 0.6)
            except Exception as e:  # noqa: BLE001
                a.error = f"{type(e).__name__}: {e}"[:200]
        print(f"  Chromium: {sum(a.ready_s is not None for a in out)} of {len(out)} pages ready", flush=True)
        for i in range(steps):
            for a, p in zip(out, pages):
                if a.error or time.monotonic() > deadline:
                    continue
                try:
                    ms = key_to_pixels_ms(p, p.locator(SLIDER).first, p.locator(PICTURE).first,
                                          key="ArrowRight" if i % 2 == 0 else "ArrowLeft")
                    if ms is None:
                        a.error = "a slider step did not change the picture within 10 s"
                    else:
                        a.steps_ms.append(ms)
                except Exception as e:  # noqa: BLE001
                    a.error = f"{type(e).__name__}: {e}"[:200]
            time.sleep(think)
        for p in pages:
            p.context.close()
    return out


def start_demo(room: int, timeout: float, refill_after: float) -> tuple[subprocess.Popen, str, str, float, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    port = servers.free_port()
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"avicviz-workshop-{os.getpid()}-{room}.out"
    t0 = time.monotonic()
    with open(log, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "avicviz", "demo", "--room", str(room), "--demos", "gatag",
                                 "--port", str(port), "--refill-after", str(refill_after)], stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        while time.monotonic() - t0 < timeout and proc.poll() is None and "READY" not in log.read_text():
            time.sleep(0.2)
    except BaseException:
        servers.stop(proc)
        raise
    text = log.read_text()
    if "READY" not in text:
        servers.stop(proc)
        raise RuntimeError(f"avicviz demo --room {room} was not ready within {timeout:.0f} s:\n{text[-2000:]}")
    url = re.search(r"Open the demos: (http://\S+)", text).group(1)
    token = url.split("token=")[1]
    base = url.split("voila/")[0]
    return proc, base, token, time.monotonic() - t0, text


def tree_memory(proc: subprocess.Popen) -> tuple[int, int]:
    """(processes, PSS bytes) of the server's whole tree."""
    pids = [proc.pid] + [p for p, _ in servers.descendants(proc.pid)]
    mem = [m[1] for p in pids if (m := servers.memory(p))]
    return len(mem), sum(mem)


def run_room(n: int, args) -> dict:
    proc, base, token, ready_s, text = start_demo(n, timeout=args.deadline, refill_after=args.refill_after)
    res: dict = {"attendees": n, "server_ready_s": round(ready_s, 1)}
    m = re.search(r"memory per attendee.*?: (\d+) MB on average, (\d+) MB at most", text)
    if m:
        res["kernel_private_mb"] = [int(m.group(1)), int(m.group(2))]
    try:
        # One attendee: a protocol client, then (alone again) one Chromium page.
        nb = 0 if n == 1 else min(args.browsers, n)
        spacing = args.window / max(1, n - 1) if n > 1 else 0.0
        arrivals = [i * spacing for i in range(n)]
        # interleave: browsers take every k-th arrival slot
        slots_b = set(range(0, n, max(1, n // nb))[:nb]) if nb else set()
        arr_b = [arrivals[i] for i in sorted(slots_b)]
        arr_p = [arrivals[i] for i in range(n) if i not in slots_b]
        t0 = time.monotonic() + 0.5
        deadline = t0 + args.deadline
        stop = threading.Event()
        all_in = threading.Event()
        people = [Attendee(i, at) for i, at in enumerate(arr_p)]
        threads = [threading.Thread(target=protocol_attendee, daemon=True,
                                    args=(a, base, token, t0, args.duration, args.think, deadline, all_in, stop))
                   for a in people]
        sampled = False

        def watch():  # memory with the whole room in; then the slider steps may start
            nonlocal sampled
            while time.monotonic() < deadline and not all(a.ready_s is not None or a.error for a in people):
                time.sleep(0.1)
            res["processes"], pss = tree_memory(proc)
            res["memory_mb"] = round(pss / 2**20)
            sampled = True
            all_in.set()

        watcher = threading.Thread(target=watch, daemon=True)
        for t in threads:
            t.start()
        watcher.start()
        browsers = browser_attendees(nb, base, token, t0, arr_b, args.browser_steps, args.think, deadline)
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            time.sleep(0.2)
        watcher.join(timeout=1)
        stop.set()
        for t in threads:
            t.join(timeout=5)
        if n == 1 and args.browsers:
            t1 = time.monotonic() + 0.5
            browsers = browser_attendees(1, base, token, t1, [0.0], args.browser_steps, args.think,
                                         t1 + args.deadline / 2)
        if not sampled:
            res["processes"], pss = tree_memory(proc)
            res["memory_mb"] = round(pss / 2**20)
        res["memory_per_attendee_mb"] = round(res["memory_mb"] / n)
        res["protocol"] = {
            "attendees": len(people),
            "failures": [a.error for a in people if a.error],
            "page_html_s": percentiles([a.html_s for a in people if a.html_s is not None]),
            "page_ready_s": percentiles([a.ready_s for a in people if a.ready_s is not None]),
            "step_ms": percentiles([x for a in people for x in a.steps_ms]),
            "step_ms_before_refill": percentiles([x for a in people for x, t in zip(a.steps_ms, a.steps_at)
                                                  if t < args.refill_after]),
            "step_ms_during_refill": percentiles([x for a in people for x, t in zip(a.steps_ms, a.steps_at)
                                                  if args.refill_after <= t < args.refill_after + args.window + 40]),
            "steps_answered": f"{sum(a.answered for a in people)} of {sum(len(a.steps_ms) for a in people)}"
                              f" ({sum(a.pictures for a in people)} pictures)",
        }
        res["chromium"] = {
            "pages": len(browsers),
            "failures": [a.error for a in browsers if a.error],
            "page_ready_s": percentiles([a.ready_s for a in browsers if a.ready_s is not None]),
            "step_ms": percentiles([x for a in browsers for x in a.steps_ms]),
        }
    finally:
        servers.stop(proc)
    return res


def _fmt(p: dict, scale: float = 1.0, digits: int = 2) -> str:
    if not p["n"]:
        return "-"
    return " / ".join(f"{p[k] * scale:.{digits}f}" for k in ("median", "p95", "max"))


def markdown(results: list[dict], args, machine: str) -> str:
    lines = [SECTION, "",
             f"`python benchmarks/workshop.py` on {machine}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. "
             f"Server: `avicviz demo --room N --demos gatag --refill-after {args.refill_after:.0f}` (its pools "
             "preheated before the room arrives). The N attendees arrive evenly spread over "
             f"{args.window:.0f} s; once all are in, each protocol attendee moves a slider every "
             f"{args.think:.1f} s for {args.duration:.0f} s (so also while the server replaces the kernels "
             f"the room took, from {args.refill_after:.0f} s on); each Chromium page makes {args.browser_steps} "
             "steps. Protocol attendees are threads speaking HTTP and the kernel websocket; the Chromium "
             "pages run on the same 2 cores as the server (in a real room they would not).",
             "",
             "| attendees | server ready after | page ready, server side: median / p95 / max (s) "
             "| slider step, room in: median / p95 / max (ms) | slider step while kernels are replaced (ms) "
             "| Chromium pages | page ready in Chromium (s) | slider step in Chromium (ms) | failures "
             "| memory, whole room (PSS) | steps the explorer answered |",
             "|---:|---:|---|---|---|---:|---|---|---:|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['attendees']} | - | {r['error'][:160]} | | | | | | | | |")
            continue
        p, c = r["protocol"], r["chromium"]
        fails = len(p["failures"]) + len(c["failures"])
        lines.append(
            f"| {r['attendees']} | {r['server_ready_s']:.0f} s | {_fmt(p['page_ready_s'])} "
            f"| {_fmt(p['step_ms_before_refill'], 1, 0)} | {_fmt(p['step_ms_during_refill'], 1, 0)} "
            f"| {c['pages']} | {_fmt(c['page_ready_s'], 1, 1)} | {_fmt(c['step_ms'], 1, 0)} | {fails} "
            f"| {r['memory_mb']} MB ({r['processes']} processes), {r['memory_per_attendee_mb']} MB per attendee "
            f"| {p['steps_answered']} |")
    lines += ["",
              f"Targets (issue 10, 30 attendees): all succeed; page ready p95 <= {TARGET_PAGE_P95_S:.0f} s server "
              f"side and <= {TARGET_BROWSER_PAGE_P95_S:.0f} s in Chromium; slider step p95 <= "
              f"{TARGET_STEP_P95_MS:.0f} ms with all connected.",
              "",
              "Before (issue 10, no preheating: every page started a fresh kernel and ran the demo): 30 "
              "attendees at the same moment, plain HTTP: every page after 33.5 s; 30 Chromium pages: 28 of 30 "
              "worked, usable after 139 s (median) / 156 s (max), a slider step 1.1 s (median) / 4.6 s (p95); "
              "10 pages: 50 s; one attendee: 3 s server side, 6 s until usable. SIGTERM left Voilà and 31 "
              "kernels running.",
              ""]
    fails = [f for r in results if "protocol" in r for f in r["protocol"]["failures"] + r["chromium"]["failures"]]
    if fails:
        lines += ["Failures: " + "; ".join(sorted(set(fails)))[:1000], ""]
    return "\n".join(lines) + "\n"


def write_results(md: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if SECTION in text:
        start = text.index(SECTION)
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + md + (text[nxt + 1:] if nxt != -1 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + md
    RESULTS.write_text(text)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rooms", default="1,10,30", help="room sizes to run (default 1,10,30)")
    ap.add_argument("--max-room", type=int, default=60, help="refuse rooms larger than this (default 60)")
    ap.add_argument("--window", type=float, default=10.0, help="seconds over which a room arrives (default 10)")
    ap.add_argument("--duration", type=float, default=170.0,
                    help="seconds each protocol attendee keeps moving the slider once the room is in "
                         "(default 170: past the replacement of the used kernels)")
    ap.add_argument("--refill-after", type=float, default=120.0,
                    help="avicviz demo --refill-after (default 120, the product's default)")
    ap.add_argument("--browser-steps", type=int, default=5, help="slider steps per Chromium page (default 5)")
    ap.add_argument("--think", type=float, default=1.0, help="seconds between slider steps (default 1)")
    ap.add_argument("--browsers", type=int, default=3, help="real Chromium pages per room (default 3)")
    ap.add_argument("--deadline", type=float, default=420.0, help="seconds allowed per room size (default 420)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave results.md alone")
    args = ap.parse_args(argv)
    rooms = [int(x) for x in args.rooms.split(",") if x.strip()]
    if any(not 1 <= r <= args.max_room for r in rooms):
        ap.error(f"--rooms: each room must be 1..{args.max_room}")
    machine = f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start"
    results = []
    old = signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        for n in rooms:
            print(f"room of {n} ...", flush=True)
            try:
                r = run_room(n, args)
            except Exception as e:  # noqa: BLE001 - report and go on
                r = {"attendees": n, "error": f"{type(e).__name__}: {e}"}
            print(json.dumps(r, indent=1), flush=True)
            results.append(r)
    finally:
        signal.signal(signal.SIGTERM, old)
    md = markdown(results, args, machine)
    print(md)
    if not args.no_write:
        write_results(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
