"""Workshop mode (avicviz/demo.py) without starting a server: command line, token, ports, warning,
and the demo notebooks it serves."""

import re
import socket
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from avicviz import cli, demo

ROOT = Path(__file__).resolve().parent.parent
DEMOS = ROOT / "notebooks" / "demos"
DEMO_NAMES = ["physical_table", "gatag", "past512", "device"]


def _opt(cmd, name):
    hits = [a.split("=", 1)[1] for a in cmd if a.startswith(name + "=")]
    assert len(hits) == 1, (name, cmd)
    return hits[0]


def test_command_line_listens_on_loopback_with_token_and_fixed_port():
    token = demo.new_token()
    cmd = demo.voila_command(DEMOS, 8123, token)
    assert cmd[:3] == [sys.executable, "-m", "voila"]
    assert cmd[3] == str(DEMOS)
    assert _opt(cmd, "--Voila.ip") == "127.0.0.1"
    assert _opt(cmd, "--port") == "8123"
    assert _opt(cmd, "--Voila.token") == token
    assert _opt(cmd, "--Voila.port_retries") == "0"  # never silently another port
    assert "--no-browser" in cmd


def test_explicit_ip_is_passed_through():
    cmd = demo.voila_command(DEMOS, 8123, "t0k3n", ip="0.0.0.0")
    assert _opt(cmd, "--Voila.ip") == "0.0.0.0"


def test_empty_token_is_refused():
    with pytest.raises(ValueError, match="token"):
        demo.voila_command(DEMOS, 8123, "")


def test_tokens_are_long_and_fresh():
    tokens = {demo.new_token() for _ in range(20)}
    assert len(tokens) == 20
    assert all(re.fullmatch(r"[0-9a-f]{48}", t) for t in tokens)


def test_landing_url_has_token_and_index():
    url = demo.landing_url("127.0.0.1", 8123, "abc")
    assert url == "http://127.0.0.1:8123/voila/render/index.ipynb?token=abc"


@pytest.mark.parametrize("ip", ["127.0.0.1", "::1", "localhost", "127.0.0.2"])
def test_no_warning_on_loopback(ip):
    assert demo.share_warning(ip) is None


@pytest.mark.parametrize("ip", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5"])
def test_warning_for_other_interfaces(ip):
    w = demo.share_warning(ip)
    assert w is not None and "\n" not in w
    assert ip in w and "token" in w and "run any code" in w


@pytest.mark.parametrize("port, msg", [
    (0, "--port=0 is out of range: valid range 1..65535"),
    (70000, "--port=70000 is out of range: valid range 1..65535"),
    ("80a", "--port='80a' is not a whole number"),
    (True, "is not a whole number"),
])
def test_bad_port_is_a_clear_error(port, msg):
    with pytest.raises(ValueError, match=re.escape(msg)):
        demo.check_port(port)


def test_port_in_use_is_a_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(ValueError, match=rf"--port={busy} on 127.0.0.1 is not available"):
            demo.check_port(busy)


def test_free_port_is_free():
    port = demo.free_port()
    assert demo.check_port(port) == port


@pytest.mark.parametrize("ip", ["", "not-an-ip", "300.1.1.1"])
def test_bad_ip_is_refused_before_anything_starts(ip, monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a server was started"))
    with pytest.raises(ValueError, match="--ip="):
        demo.run(ip=ip, open_browser=False)


def test_cli_reports_bad_port_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a server was started"))
    assert cli.main(["demo", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--port" in err and "1..65535" in err


def test_cli_reports_busy_port_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a server was started"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        assert cli.main(["demo", "--port", str(busy)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--port={busy}" in err and "not available" in err


class _FakeVoila:
    """Stands in for the Voilà process: records its command line, answers nothing, exits 0."""

    calls: list = []

    def __init__(self, cmd, *a, **k):
        _FakeVoila.calls.append(cmd)
        self.returncode = 0
        self.pid = 999_999_999

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0

    def send_signal(self, sig):  # pragma: no cover - never reached: poll() says it exited
        pass


def test_run_prints_warning_for_shared_ip(capsys, monkeypatch):
    _FakeVoila.calls = []
    monkeypatch.setattr(subprocess, "Popen", _FakeVoila)
    port = demo.free_port("0.0.0.0")
    demo.run(port=port, ip="0.0.0.0", room=1)
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("WARNING")]
    assert len(warnings) == 1 and "anyone on the network" in warnings[0]
    cmd = _FakeVoila.calls[0]
    assert _opt(cmd, "--Voila.ip") == "0.0.0.0" and _opt(cmd, "--port") == str(port)


def test_run_on_loopback_prints_no_warning(capsys, monkeypatch):
    _FakeVoila.calls = []
    monkeypatch.setattr(subprocess, "Popen", _FakeVoila)
    demo.run(room=1)
    captured = capsys.readouterr()
    assert "WARNING" not in captured.out
    assert "Voilà did not start" in captured.err  # the fake exits at once
    cmd = _FakeVoila.calls[0]
    assert _opt(cmd, "--Voila.ip") == "127.0.0.1"
    assert cmd[3] == str(DEMOS)


def test_run_says_how_many_kernels_it_preheats(capsys, monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", _FakeVoila)
    demo.run(room=7, demos=["gatag", "device"])
    out = capsys.readouterr().out
    # the landing page and two demos, 7 kernels each plus 2 spare
    assert "for a room of 7: preheating 27 kernels (about 2430 MB)" in out


# ---- sizing the room ----------------------------------------------------------------------------

def test_pools_cover_the_landing_page_and_each_chosen_demo_only():
    cfg = demo.pool_config(30, ["gatag", "past512"])
    assert cfg == {"default": {"pool_size": 0}, "index.ipynb": {"pool_size": 33},
                   "gatag.ipynb": {"pool_size": 33}, "past512.ipynb": {"pool_size": 33}}


def test_default_pools_cover_every_demo():
    cfg = demo.pool_config(demo.DEFAULT_ROOM)
    assert {k: v["pool_size"] for k, v in cfg.items()} == {
        "default": 0, "index.ipynb": 33, "device.ipynb": 33, "gatag.ipynb": 33,
        "past512.ipynb": 33, "physical_table.ipynb": 33}


def test_voila_config_preheats_with_the_offline_template():
    c = demo.voila_config(3, ["gatag"])
    assert c["VoilaConfiguration"] == {"preheat_kernel": True, "template": "avicviz"}
    assert c["VoilaKernelManager"]["kernel_pools_config"]["gatag.ipynb"] == {"pool_size": 5}  # 3 + 2 spare
    assert c["VoilaKernelManager"]["fill_delay"] == 120.0


@pytest.mark.parametrize("argv, msg", [
    (["--room", "-1"], "--room"),
    (["--room", "201"], "--room"),
    (["--room", "lots"], "--room"),
    (["--refill-after", "0"], "--refill-after=0.0 is out of range: valid range 1..3600 seconds"),
    (["--refill-after", "soon"], "--refill-after='soon' is not a number"),
    (["--demos", "gatag,nope"], "--demos: 'nope' is not a demo: valid demos are device, gatag, past512, physical_table"),
])
def test_cli_reports_bad_room_or_demos_in_one_line(argv, msg, capsys, monkeypatch):
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a server was started"))
    assert cli.main(["demo", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and msg in err


def test_missing_voila_is_named_in_one_line(capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "voila" else real(name, *a))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a server was started"))
    assert cli.main(["demo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "needs Voilà" in err and "pip install 'avicviz[demo]'" in err


def test_a_room_too_big_for_the_memory_is_refused(capsys, monkeypatch):
    monkeypatch.setattr(demo, "_available_mb", lambda: 1000)
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("a server was started"))
    assert cli.main(["demo", "--room", "30"]) == 2
    err = capsys.readouterr().err
    assert "165 preheated kernels need about 14850 MB but 1000 MB are available" in err


def test_demo_module_imports_no_heavy_packages():
    code = ("import sys, avicviz.demo; heavy = [m for m in ('voila', 'jupyter_server', 'matplotlib', "
            "'ipywidgets', 'IPython', 'tornado') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---- the demo notebooks -----------------------------------------------------------------------

def test_demos_folder_has_index_and_each_demo():
    assert demo.demos_dir() == DEMOS
    names = sorted(p.stem for p in DEMOS.glob("*.ipynb"))
    assert names == sorted(["index", *DEMO_NAMES])


def _links(nb):
    md = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return re.findall(r"(?<!!)\[[^\]]+\]\(([^)\s#]+)\)", md)


def test_index_links_to_every_demo_and_links_resolve():
    nb = nbformat.read(DEMOS / "index.ipynb", as_version=4)
    links = _links(nb)
    assert sorted(links) == sorted(f"{n}.ipynb" for n in DEMO_NAMES)
    for target in links:
        assert (DEMOS / target).exists(), target


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_demo_is_thin_and_links_back(name):
    nb = nbformat.read(DEMOS / f"{name}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1
    assert "Explorer" in code[0].source
    assert not re.search(r"^\s*(def|class) ", code[0].source, re.M)
    assert code[0].outputs == [] and code[0].execution_count is None
    links = _links(nb)
    assert "index.ipynb" in links
    for target in links:  # a link outside the served folder would be dead in Voilà
        assert "/" not in target and (DEMOS / target).exists(), target
