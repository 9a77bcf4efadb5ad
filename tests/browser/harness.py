"""Drive JupyterLab and Voilà with a real Chromium: servers, browser, notebook and canvas helpers.

Used by the browser tests and by ``benchmarks/``.  Everything stays on this machine: servers
listen on 127.0.0.1 with a random token and their own JUPYTER_* folders in a temporary directory;
the browser refuses every request that does not go to a loopback address.  The context managers
stop what they start (server, kernels, browser) and wait for it.

Typical use::

    with jupyter_lab(folder) as lab, browser() as b:
        page = new_page(b)
        panel = open_and_run_all(page, lab, "02_gatag.ipynb")
        canvas = panel.locator(CANVAS).first
        before = wait_canvas_stable(canvas)
        move_slider(page, panel.locator(SLIDER).first)
        assert wait_canvas_change(canvas, before)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from avicviz import demo, servers

__all__ = [
    "CHROMIUM", "CHROMIUM_FLAGS", "SLIDER", "SLIDER_HANDLE", "SLIDER_READOUT", "CANVAS", "FIGURE",
    "Server", "find_chromium", "free_port", "jupyter_lab", "voila", "browser", "new_page",
    "open_and_run_all", "wait_kernel_idle", "run_in_kernel", "canvas_checksum", "canvas_is_blank",
    "wait_canvas_stable", "wait_canvas_change", "move_slider", "slider_value", "key_to_pixels_ms",
    "error_outputs", "RedrawCheck", "check_slider_redraws", "explorer_box", "shutdown_kernel",
    "open_notebook", "open_voila", "wait_widgets_rendered", "WIDGET_OUTPUT", "wait_voila_rendered", "explorers_in",
    "Drag", "drag_slider", "canvas_pixels", "first_explorer_in",
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]

# ipywidgets 8 selectors and the explorers' picture (avicviz/widgets/picture.py).
SLIDER = ".widget-slider"
SLIDER_HANDLE = ".noUi-handle"
SLIDER_READOUT = ".widget-readout"
FIGURE = ".avicviz-picture"
CANVAS = ".avicviz-picture canvas"
READOUT = ".avicviz-readout"

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def find_chromium() -> str | None:
    """Path of Debian's Chromium, or None when it is not installed."""
    if os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    return None


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    return servers.free_port()


# ---- servers -------------------------------------------------------------------------------------

@dataclass
class Server:
    """A running Jupyter server: ``url`` (the page to open, token included), ``token``, ``port``."""

    url: str
    token: str
    port: int
    root: Path
    log: Path
    proc: subprocess.Popen = field(repr=False)

    @property
    def base(self) -> str:
        """``http://127.0.0.1:PORT/``"""
        return f"http://127.0.0.1:{self.port}/"

    def lab_url(self, notebook: str, workspace: str | None = None) -> str:
        """A JupyterLab URL opening ``notebook`` in a fresh workspace (no restored tabs)."""
        ws = workspace or f"t{uuid.uuid4().hex[:12]}"
        return f"{self.base}lab/workspaces/{ws}/tree/{notebook}?token={self.token}"

    def voila_url(self, notebook: str) -> str:
        """The Voilà page of ``notebook`` (relative to the served folder)."""
        return f"{self.base}voila/render/{notebook}?token={self.token}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _isolated_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                     ("JUPYTER_DATA_DIR", "data"), ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                     ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"), ("IPYTHONDIR", "ipython"),
                     ("MPLCONFIGDIR", "mpl")]:
        (tmp / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(tmp / sub)
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.pop("MPLBACKEND", None)  # leave the backend to the notebook, as for a learner
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _lab_settings(tmp: Path) -> None:
    # No "Jupyter news" toast covering the page.
    labconfig = tmp / "config" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    settings = tmp / "lab-settings"
    notif = settings / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True, exist_ok=True)
    (notif / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    # Render every cell (no virtual scrolling), so every figure is in the page.
    nbs = settings / "@jupyterlab" / "notebook-extension"
    nbs.mkdir(parents=True, exist_ok=True)
    (nbs / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))


@contextlib.contextmanager
def _server(cmd_for, ready_path: str, url_for, root: Path, timeout: float,
            settings=None, env_for=None) -> Iterator[Server]:
    tmp = Path(tempfile.mkdtemp(prefix="avicviz-server-"))
    proc = None
    try:
        env = _isolated_env(tmp)
        if env_for is not None:
            env = env_for(env)
        if settings:
            settings(tmp)
        port, token = free_port(), secrets.token_hex(16)
        log = tmp / "server.log"
        with open(log, "wb") as logf:
            proc = subprocess.Popen(cmd_for(port, token, tmp), cwd=root, env=env,
                                    stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        servers.wait_http(proc, f"http://127.0.0.1:{port}{ready_path}?token={token}", timeout, log)
        yield Server(url=url_for(port, token), token=token, port=port, root=root, log=log, proc=proc)
    finally:
        if proc is not None:
            servers.stop(proc)
        shutil.rmtree(tmp, ignore_errors=True)


def jupyter_lab(root_dir: str | os.PathLike, timeout: float = 60) -> contextlib.AbstractContextManager[Server]:
    """Start JupyterLab on a free loopback port serving ``root_dir``; stop it on exit."""
    root = Path(root_dir).resolve()

    def cmd(port: int, token: str, tmp: Path) -> list[str]:
        c = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
             f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
             "--ServerApp.open_browser=False",
             f"--ServerApp.kernel_websocket_connection_class={servers.NODELAY_CLASS}"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            c.append("--allow-root")
        return c

    return _server(cmd, "/api/status", lambda port, token: f"http://127.0.0.1:{port}/lab?token={token}",
                   root, timeout, settings=_lab_settings)


def voila(path: str | os.PathLike, timeout: float = 60) -> contextlib.AbstractContextManager[Server]:
    """Start Voilà on a free loopback port; stop it on exit.

    ``path`` is a folder (served as a tree; ``url`` opens its ``index.ipynb`` if there is one)
    or one notebook (``url`` opens it).  Pages of other notebooks: ``server.voila_url(name)``.
    """
    p = Path(path).resolve()
    root = p if p.is_dir() else p.parent
    first = "index.ipynb" if p.is_dir() else p.name

    def cmd(port: int, token: str, tmp: Path) -> list[str]:
        # avicviz demo's own command line and page template; no preheated pools (a test's
        # page runs the notebook as it is on disk now) and tracebacks shown
        return demo.voila_command(root, port, token, show_tracebacks=True, extra=[
            f"--Voila.connection_dir_root={tmp / 'runtime'}", f"--template={demo.TEMPLATE}"])

    def url(port: int, token: str) -> str:
        if (root / first).exists():
            return f"http://127.0.0.1:{port}/voila/render/{first}?token={token}"
        return f"http://127.0.0.1:{port}/?token={token}"

    return _server(cmd, "/", url, root, timeout, env_for=demo.voila_env)


# ---- browser -------------------------------------------------------------------------------------

@contextlib.contextmanager
def browser(headless: bool = True):
    """A Playwright Chromium (Debian's, never a downloaded one); closed on exit.

    Open pages with :func:`new_page`, which blocks every non-loopback request.
    """
    from playwright.sync_api import sync_playwright

    exe = find_chromium()
    if exe is None:
        raise RuntimeError(f"no Chromium at {CHROMIUM}: apt-get install chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_FLAGS, headless=headless)
        try:
            yield b
        finally:
            b.close()


def _is_loopback_url(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return (parts.hostname or "") in _LOOPBACK


def new_page(b, width: int = 1280, height: int = 900, scale: float = 1):
    """A page in a fresh context (``scale``: device pixel ratio) that aborts every request to a
    non-loopback host.

    The aborted URLs are collected in ``page.blocked`` (a list).
    """
    ctx = b.new_context(viewport={"width": width, "height": height}, service_workers="block",
                        device_scale_factor=scale)
    blocked: list[str] = []

    def guard(route):
        if _is_loopback_url(route.request.url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    page = ctx.new_page()
    page.blocked = blocked
    return page


# ---- JupyterLab ----------------------------------------------------------------------------------

_PANEL_JS = """(path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path) return w;
  }
  return null;
}"""

_KERNEL_STATE_JS = """(path) => {
  const find = """ + _PANEL_JS + """;
  const w = find(path);
  if (!w) return null;
  const k = w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return k ? k.status : null;
}"""


def _panel(page, path: str):
    return page.locator(f".jp-NotebookPanel[data-avicviz-path='{path}']")


def open_notebook(page, server: Server, notebook: str, timeout: float = 60):
    """Open ``notebook`` (relative to the server root) and return its notebook panel locator once
    its kernel is idle.

    The first time, the page loads JupyterLab under a unique workspace (so no old tabs are
    restored); when the page already shows this server's Lab, the notebook opens in a new tab
    of it (saves reloading Lab)."""
    if page.url.startswith(server.base + "lab") and page.evaluate("() => !!window.jupyterapp"):
        page.evaluate("""(path) => { window.jupyterapp.commands.execute('docmanager:open',
                           {path, factory: 'Notebook'}); }""", notebook)
    else:
        page.goto(server.lab_url(notebook), wait_until="domcontentloaded")
    page.wait_for_function(_KERNEL_STATE_JS.replace("return k ? k.status : null;",
                                                    "return k ? k.status === 'idle' : false;"),
                           arg=notebook, timeout=timeout * 1000)
    # Tag the panel so selectors stay inside this notebook even if other tabs exist.
    page.evaluate("""(path) => {
      const find = """ + _PANEL_JS + """;
      find(path).node.setAttribute('data-avicviz-path', path);
      window.jupyterapp.shell.collapseLeft();  // the file browser only takes room
    }""", notebook)
    return _panel(page, notebook)


def wait_kernel_idle(page, notebook: str, timeout: float = 120) -> None:
    """Wait until no cell of ``notebook`` is queued or running and its kernel is idle."""
    page.wait_for_function("""([path, sel]) => {
      const find = """ + _PANEL_JS + """;
      const w = find(path);
      if (!w) return false;
      const k = w.sessionContext.session && w.sessionContext.session.kernel;
      if (!k || k.status !== 'idle') return false;
      const prompts = [...w.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent.trim());
      if (prompts.some(t => t.includes('*'))) return false;
      return prompts.some(t => /\\[\\d+\\]/.test(t));
    }""", arg=[notebook, ""], timeout=timeout * 1000, polling=200)


def open_and_run_all(page, server: Server, notebook: str | os.PathLike, timeout: float = 180):
    """Copy ``notebook`` (a path inside ``server.root``) to a fresh name, open the copy in a
    unique workspace, run all cells through the Run menu, wait until the kernel is idle and
    return the notebook panel locator (``panel.copy_name`` is the copy's name)."""
    src = Path(notebook)
    if not src.is_absolute():
        src = server.root / src
    copy = src.with_name(f"{src.stem}-run-{uuid.uuid4().hex[:8]}.ipynb")
    shutil.copyfile(src, copy)
    rel = copy.relative_to(server.root).as_posix()
    panel = open_notebook(page, server, rel)
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("#jp-mainmenu-run .lm-Menu-item",
                 has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))).click()
    # The first prompt turns into [*] or a number once the run starts.
    page.wait_for_function("""(path) => {
      const find = """ + _PANEL_JS + """;
      const w = find(path);
      return [...w.node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].some(e => /\\[[\\d*]+\\]/.test(e.textContent));
    }""", arg=rel, timeout=30_000)
    wait_kernel_idle(page, rel, timeout)
    panel.copy_name = rel
    return panel


def error_outputs(panel) -> list[str]:
    """Texts of the error and stderr outputs shown in a notebook panel (Lab or Voilà page)."""
    loc = panel.locator("[data-mime-type='application/vnd.jupyter.stderr'], .jp-RenderedText[data-mime-type*='error']")
    return [t[:500] for t in loc.all_inner_texts()]


WIDGET_OUTPUT = ".jp-OutputArea-output:has(> .jupyter-widgets)"
_WIDGET_TROUBLE = re.compile(r"Loading widget|Error displaying widget|Error rendering|model not found")


def wait_widgets_rendered(container, timeout: float = 20) -> int:
    """Wait until no output in ``container`` still says "Loading widget..." or shows a widget
    error; return how many widget outputs are rendered.  Raises TimeoutError with the texts."""
    deadline = time.monotonic() + timeout
    while True:
        bad = container.locator(".jp-OutputArea-output").filter(has_text=_WIDGET_TROUBLE)
        if bad.count() == 0:
            return container.locator(WIDGET_OUTPUT).count()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{bad.count()} widget outputs did not render: "
                               f"{[t[:200] for t in bad.all_inner_texts()]}")
        time.sleep(0.1)


def run_in_kernel(page, notebook: str, code: str, timeout: float = 30) -> str:
    """Execute ``code`` in the kernel of the open ``notebook`` (not in a cell); return its stdout.

    Raises RuntimeError with the traceback if the code fails.
    """
    res = page.evaluate("""async ([path, code]) => {
      const find = """ + _PANEL_JS + """;
      const w = find(path);
      const k = w.sessionContext.session.kernel;
      let out = '', err = null;
      const f = k.requestExecute({code, silent: false, store_history: false});
      f.onIOPub = (msg) => {
        const t = msg.header.msg_type;
        if (t === 'stream') out += msg.content.text;
        if (t === 'error') err = msg.content.ename + ': ' + msg.content.evalue;
      };
      await f.done;
      return {out, err};
    }""", [notebook, code])
    if res["err"]:
        raise RuntimeError(res["err"])
    return res["out"]


# ---- canvas ----------------------------------------------------------------------------------

_CHECKSUM_JS = """(c) => {
  const ctx = c.getContext('2d');
  if (!c.width || !c.height) return {sum: 'empty', inked: 0, w: 0, h: 0};
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  let h1 = 0x811c9dc5 | 0, h2 = 0, inked = 0;
  for (let i = 0; i < d.length; i += 4) {
    const v = (d[i] << 24) ^ (d[i + 1] << 16) ^ (d[i + 2] << 8) ^ d[i + 3];
    h1 = Math.imul(h1 ^ v, 16777619);
    h2 = (h2 + (v >>> 0) * ((i >> 2) % 65521 + 1)) % 4294967291;
    if (d[i + 3] !== 0 && !(d[i] === 255 && d[i + 1] === 255 && d[i + 2] === 255)) inked++;
  }
  return {sum: (h1 >>> 0).toString(16) + '-' + h2.toString(16), inked, w: c.width, h: c.height};
}"""


def _stats(locator) -> dict:
    return locator.evaluate(_CHECKSUM_JS)


def canvas_checksum(locator) -> str:
    """A checksum of every pixel of a canvas (changes whenever any pixel changes)."""
    return _stats(locator)["sum"]


def canvas_is_blank(locator) -> bool:
    """True when the canvas has no pixel other than transparent or white."""
    return _stats(locator)["inked"] == 0


def wait_canvas_stable(locator, quiet: float = 0.6, timeout: float = 20) -> str:
    """Wait until the canvas is non-blank and its checksum has not changed for ``quiet`` seconds;
    return that checksum."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        s = _stats(locator)
        if s["sum"] != last or s["inked"] == 0:
            last, since = s["sum"], time.monotonic()
        elif time.monotonic() - since >= quiet:
            return last
        time.sleep(0.05)
    raise TimeoutError(f"canvas never became stable and non-blank within {timeout} s")


def wait_canvas_change(locator, before: str, timeout: float = 10) -> bool:
    """Wait until the canvas checksum differs from ``before`` and is stable again.

    Returns True if the pixels changed, False if they did not within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if canvas_checksum(locator) != before:
            after = wait_canvas_stable(locator, quiet=0.4, timeout=max(1.0, deadline - time.monotonic()))
            return after != before
        time.sleep(0.05)
    return False


# ---- sliders -----------------------------------------------------------------------------------

def slider_value(slider_locator) -> str:
    """The text the slider's readout shows."""
    return slider_locator.locator(SLIDER_READOUT).first.inner_text().strip()


def move_slider(page, slider_locator, key: str = "ArrowRight", n: int = 1) -> None:
    """Focus the slider's handle and press ``key`` ``n`` times (as a user would)."""
    handle = slider_locator.locator(SLIDER_HANDLE).first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(n):
        page.keyboard.press(key)


_WATCH_JS = """([canvas, handle, timeoutMs]) => { window.__avicvizWatch = new Promise((resolve) => {
  // Reading a canvas back costs the page's main thread time (and a GPU read-back), so the
  // watcher reads it only after something was drawn into it, plus every 250 ms in case a
  // picture arrives another way. The time reported is when the first changing draw happened.
  const sum = (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < d.length; i += 4) {
      h = Math.imul(h ^ ((d[i] << 24) ^ (d[i + 1] << 16) ^ (d[i + 2] << 8) ^ d[i + 3]), 16777619);
    }
    return h;
  };
  const start = sum(canvas);
  const ctx = canvas.getContext('2d');
  let t0 = null, drawnAt = null, lastCheck = performance.now();
  const draw = ctx.drawImage;
  ctx.drawImage = function (...args) {
    const r = draw.apply(this, args);
    if (t0 !== null && drawnAt === null) drawnAt = performance.now();
    return r;
  };
  const onKey = (e) => { if (t0 === null) t0 = performance.now(); };
  handle.addEventListener('keydown', onKey, {capture: true});
  const give = (v) => {
    handle.removeEventListener('keydown', onKey, {capture: true});
    delete ctx.drawImage;  // back to the prototype's
    resolve(v);
  };
  const began = performance.now();
  const tick = () => {
    const now = performance.now();
    if (t0 !== null && (drawnAt !== null || now - lastCheck > 250)) {
      lastCheck = now;
      if (sum(canvas) !== start) return give((drawnAt !== null ? drawnAt : now) - t0);
      drawnAt = null;  // drawn, but nothing changed yet: wait for the next picture
    }
    if (now - began > timeoutMs) return give(null);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}); }"""


def key_to_pixels_ms(page, slider_locator, canvas_locator, key: str = "ArrowRight",
                     timeout: float = 10) -> float | None:
    """Milliseconds from one key press on the slider's handle to the first changed pixels of the
    canvas: the time of the first picture drawn into the canvas (``drawImage``, as the explorer's
    picture paints one) after which its pixels differ from before the press.  None if the canvas did not change
    within ``timeout``.

    Waits for a stable canvas first.  For a series, alternate ArrowRight and ArrowLeft.
    """
    wait_canvas_stable(canvas_locator)
    handle = slider_locator.locator(SLIDER_HANDLE).first
    handle.scroll_into_view_if_needed()
    handle.focus()
    canvas = canvas_locator.element_handle()
    h = handle.element_handle()
    page.evaluate(_WATCH_JS, [canvas, h, int(timeout * 1000)])
    page.keyboard.press(key)
    value = page.evaluate("() => window.__avicvizWatch")  # awaits the promise
    return None if value is None else float(value)


def explorers_in(notebook: str | os.PathLike) -> set[str]:
    """Names of the avicviz explorer classes a notebook's code cells create (``FooExplorer(``)."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    src = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return set(re.findall(r"\b([A-Z]\w*Explorer)\(", src))


def open_voila(page, server: Server, notebook: str, figures: int = 1, timeout: float = 120):
    """Open a Voilà page and wait until ``figures`` explorer pictures are on it, each with a stable,
    non-blank canvas; return the page's body locator."""
    page.goto(server.voila_url(notebook), wait_until="domcontentloaded")
    return wait_voila_rendered(page, figures, timeout)


def wait_voila_rendered(page, figures: int = 1, timeout: float = 120):
    """Wait until the current Voilà page shows ``figures`` explorer pictures, each with a stable,
    non-blank canvas; return the page's body locator."""
    page.wait_for_function("(n) => document.querySelectorAll('.avicviz-picture canvas').length >= n",
                           arg=figures, timeout=timeout * 1000, polling=200)
    body = page.locator("body")
    figs = body.locator(FIGURE)
    for i in range(figs.count()):
        figs.nth(i).scroll_into_view_if_needed()
        wait_canvas_stable(figs.nth(i).locator("canvas").first, timeout=timeout)
    return body


# ---- checks ------------------------------------------------------------------------------------

@dataclass
class RedrawCheck:
    """Outcome of :func:`check_slider_redraws`: ``ok`` and a sentence saying what happened."""

    ok: bool
    message: str
    before: str = ""
    after: str = ""
    value_before: str = ""
    value_after: str = ""

    def __bool__(self) -> bool:
        return self.ok


def check_slider_redraws(page, slider_locator, canvas_locator, key: str = "ArrowRight", n: int = 1,
                         timeout: float = 8) -> RedrawCheck:
    """Does moving the slider with the keyboard change the figure's pixels?

    Waits for a stable, non-blank canvas first (a check that starts before the first picture
    passes on a figure that never redraws), presses ``key`` ``n`` times, and
    reports whether the slider's value and then the canvas pixels changed.
    """
    before = wait_canvas_stable(canvas_locator)
    v0 = slider_value(slider_locator)
    move_slider(page, slider_locator, key, n)
    deadline = time.monotonic() + timeout
    v1 = v0
    while time.monotonic() < deadline and v1 == v0:
        v1 = slider_value(slider_locator)
        time.sleep(0.05)
    if v1 == v0:
        return RedrawCheck(False, f"the slider did not move: its readout stayed {v0!r}", before, before, v0, v1)
    changed = wait_canvas_change(canvas_locator, before, timeout=max(1.0, deadline - time.monotonic()))
    after = canvas_checksum(canvas_locator)
    if not changed:
        return RedrawCheck(False, f"slider moved {v0!r} -> {v1!r} but the figure's pixels did not change "
                           f"within {timeout:.0f} s", before, after, v0, v1)
    return RedrawCheck(True, f"slider moved {v0!r} -> {v1!r} and the figure changed", before, after, v0, v1)


def explorer_box(figure_locator):
    """The explorer's VBox (controls, picture, readout, error) around its picture."""
    return figure_locator.locator("xpath=ancestor::div[contains(concat(' ', @class, ' '), ' widget-vbox ')][1]")


def shutdown_kernel(page, notebook: str) -> None:
    """Shut down the kernel of an open notebook (frees its memory before the next one)."""
    page.evaluate("""async (path) => {
      const find = """ + _PANEL_JS + """;
      const w = find(path);
      if (w && w.sessionContext) await w.sessionContext.shutdown();
    }""", notebook)


# ---- live drags ----------------------------------------------------------------------------------

_RECORD_JS = """([canvas, readout]) => {
  // every picture painted into the canvas (the explorer's picture paints with drawImage) and
  // every change of the explorer's readout text, stamped
  const ctx = canvas.getContext('2d');
  const paints = [], texts = [];
  const draw = ctx.drawImage;
  ctx.drawImage = function (...args) { paints.push(performance.now()); return draw.apply(this, args); };
  if (readout) {
    let last = readout.textContent;  // not innerText: that would lay the page out on every change
    new MutationObserver(() => {
      if (readout.textContent !== last) { last = readout.textContent; texts.push(performance.now()); }
    }).observe(readout, {subtree: true, childList: true, characterData: true});
  }
  const marks = {};
  const mark = (name) => (e) => { if (!(name in marks)) marks[name] = performance.now(); };
  document.addEventListener('pointerdown', mark('down'), {capture: true, once: true});
  document.addEventListener('pointerup', mark('up'), {capture: true, once: true});
  window.__avicvizDrag = {paints, texts, marks};
}"""


@dataclass
class Drag:
    """What a mouse drag of a slider did: pictures painted while the button was down and after."""

    during: int          # pictures painted between pointer down and up
    duration_ms: float   # pointer down to pointer up
    after_ms: float | None  # pointer up to the last picture painted after it (None: none)
    value: str           # the slider's value at the end
    shown: int = 0       # answers seen between pointer down and up: new pictures or new readouts

    @property
    def per_second(self) -> float:
        return self.during / (self.duration_ms / 1000) if self.duration_ms else 0.0

    @property
    def shown_per_second(self) -> float:
        """Answers per second a learner saw during the drag: a new picture, a new readout or both
        (a slider's range where the picture stays the same still changes the readout)."""
        return self.shown / (self.duration_ms / 1000) if self.duration_ms else 0.0


def _moments(stamps: list[float], gap: float = 4.0) -> list[float]:
    """Time stamps with those closer than ``gap`` ms to the previous one merged (one picture may
    be painted in several calls, one readout changed in several mutations)."""
    stamps = sorted(stamps)
    return [t for i, t in enumerate(stamps) if i == 0 or t - stamps[i - 1] > gap]


def drag_slider(page, slider_locator, canvas_locator, legs=(0.25, 0.02, 0.2), steps: int = 30,
                settle: float = 0.6) -> Drag:
    """Drag the slider's handle with the mouse as a person does (button down, several legs of
    ``steps`` pointer moves to fractions of the track, button up) and count the pictures painted
    into ``canvas_locator`` during the drag; waits for the picture to settle afterwards."""
    wait_canvas_stable(canvas_locator)
    handle = slider_locator.locator(SLIDER_HANDLE).first
    track = slider_locator.locator(".noUi-target, .slider-container").first
    handle.scroll_into_view_if_needed()
    readout = explorer_box(canvas_locator).locator(READOUT)
    page.evaluate(_RECORD_JS, [canvas_locator.element_handle(),
                               readout.first.element_handle() if readout.count() else None])
    hb, tb = handle.bounding_box(), track.bounding_box()
    y = hb["y"] + hb["height"] / 2
    page.mouse.move(hb["x"] + hb["width"] / 2, y)
    page.mouse.down()
    for f in legs:
        page.mouse.move(tb["x"] + f * tb["width"], y, steps=steps)
    page.mouse.up()
    wait_canvas_stable(canvas_locator, quiet=settle)
    rec = page.evaluate("() => window.__avicvizDrag")
    down, up = rec["marks"]["down"], rec["marks"]["up"]
    merged = _moments(rec["paints"])
    during = sum(down <= t <= up for t in merged)
    # one answer of the kernel changes the readout and the picture in separate frames: count the
    # answers seen as the larger of the two counts, never their sum
    shown = max(during, sum(down <= t <= up for t in _moments(rec["texts"])))
    later = [t for t in merged if t > up]
    return Drag(during, up - down, (later[-1] - up) if later else None, slider_value(slider_locator), shown)


def canvas_pixels(canvas_locator):
    """The canvas's pixels as an RGBA numpy array (rows, columns, 4)."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    url = canvas_locator.evaluate("(c) => c.toDataURL('image/png')")
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def first_explorer_in(notebook: str | os.PathLike) -> str:
    """The class name of the first explorer a notebook's code creates."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    src = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    return re.findall(r"\b([A-Z]\w*Explorer)\(", src)[0]
