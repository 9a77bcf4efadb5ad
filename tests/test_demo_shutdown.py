"""`avicviz demo` for real: it preheats its pools, says READY, serves a preheated page, and on
Ctrl-C (SIGINT), SIGTERM or SIGHUP leaves no Voilà or kernel process behind (checked by walking
the process tree, and by looking for any process still using the server's connection folder)."""

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from avicviz import servers

ROOT = Path(__file__).resolve().parent.parent
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _start(tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = tmp_path / "demo.out"
    f = open(out, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "avicviz", "demo", *args], cwd=tmp_path, env=env,
                            stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    f.close()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if "READY" in out.read_text():
            break
        time.sleep(0.2)
    text = out.read_text()
    if "READY" not in text:
        servers.stop(proc)
        pytest.fail(f"avicviz demo did not get ready:\n{text}")
    return proc, out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="walks /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_demo_preheats_serves_and_stops_cleanly(tmp_path, sig):
    proc, out = _start(tmp_path, "--room", "1", "--demos", "gatag", "--refill-after", "1")
    try:
        text = out.read_text()
        assert "for a room of 1: preheating 6 kernels" in text  # 1 + 2 spare, landing page and demo
        assert re.search(r"memory per attendee .*: \d+ MB on average", text)
        url = re.search(r"Open the demos: (http://\S+)", text).group(1)
        # An attendee opens the GATag demo: served from the pool, with its three explorers.
        with _NO_PROXY.open(url.replace("index.ipynb", "gatag.ipynb"), timeout=60) as r:
            page = r.read().decode()
        assert page.count("application/vnd.jupyter.widget-view+json") == 3
        time.sleep(1.5)  # Voilà refills the pool after 1 s: that kernel must go too
        tree = servers.descendants(proc.pid)
        cmds = [_cmdline(p) for p, _ in tree]
        kernels = [c for c in cmds if "ipykernel" in c]
        assert any("voila" in c for c in cmds) and len(kernels) >= 2, cmds
        conn = re.search(r"-f (\S+)/", kernels[0]).group(1)  # the server's connection folder
    except BaseException:
        servers.stop(proc)
        raise
    proc.send_signal(sig)
    try:
        assert proc.wait(timeout=60) == 0
    finally:
        servers.stop(proc)
    assert servers.alive(tree) == []
    left = [pid for pid in os.listdir("/proc") if pid.isdigit() and conn in _cmdline(int(pid))]
    assert left == []
