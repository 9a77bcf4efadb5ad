"""A normal install works from any folder: build the wheel from a copy of the source tree,
install it (not editable) into a fresh virtual environment, and run the CLI, the model, the
explorers and `avicviz demo` from another folder, with nothing of the repository in sight.

To stay fast and offline (only PyPI is reachable, and only the build backend comes from it),
the fresh environment gets the dependencies already installed for the tests through a path
entry (a .pth file naming this interpreter's site-packages), not the repository's editable
install; the wheel's own metadata is checked against pyproject.toml instead.
"""

import email.parser
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import pytest

from avicviz import servers

ROOT = Path(__file__).resolve().parent.parent
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_SKIP = shutil.ignore_patterns(".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__",
                               ".pytest_cache", ".hypothesis", "test-artifacts", ".ipynb_checkpoints")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src") / "avicviz"
    shutil.copytree(ROOT, src, ignore=_SKIP, symlinks=True)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(src)],
                   check=True, capture_output=True, text=True)
    (whl,) = out.glob("avicviz-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps",
                        "--no-index", "--force-reinstall", str(wheel)], env=clean, capture_output=True, text=True)
    assert r.returncode == 0 and (env_dir / "bin" / "avicviz").exists(), r.stdout + r.stderr
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # The dependencies: this interpreter's site-packages as a plain path entry (its .pth files,
    # among them the repository's editable install, are not processed).
    (site / "_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return env_dir


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV"))}
    env["HOME"] = str(tmp)  # no user config, no user site
    env["PYTHONNOUSERSITE"] = "1"
    # Voilà's templates and the widgets' front ends, installed with the test dependencies
    env["JUPYTER_PATH"] = str(Path(sys.prefix) / "share" / "jupyter")
    return env


def test_wheel_carries_the_data_the_demos_and_the_page_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "avicviz/data/kernel_releases.csv" in names
    for demo in ["index", "gatag", "past512", "physical_table", "device"]:
        assert f"avicviz/demos/{demo}.ipynb" in names
    assert "avicviz/_jupyter/voila/templates/avicviz/index.html.j2" in names


def test_wheel_metadata_matches_pyproject(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta_name = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.parser.Parser().parsestr(z.read(meta_name).decode())
    requires = meta.get_all("Requires-Dist")
    runtime = sorted(r for r in requires if "extra ==" not in r)
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [re.split(r"[<>=]", r)[0] for r in runtime] == sorted(re.split(r"[<>=]", d)[0] for d in py["dependencies"])
    demo = sorted(r.split(";")[0].strip() for r in requires if 'extra == "demo"' in r)
    assert [re.split(r"[<>=]", r)[0] for r in demo] == ["ipykernel", "voila"]
    assert not any(r.startswith(("voila", "jupyterlab", "pytest", "nbmake")) for r in runtime)


def _run(venv, tmp, *args):
    return subprocess.run([str(venv / "bin" / args[0]), *args[1:]], cwd=tmp, env=_env(tmp),
                          capture_output=True, text=True, timeout=120)


def test_cli_and_model_work_from_another_folder(venv, tmp_path):
    r = _run(venv, tmp_path, "avicviz", "gatag", "encode", "--vm-id", "1", "--vcpu", "300", "--kernel", "6.2")
    assert r.returncode == 0, r.stderr
    assert "a GA-log wakeup meant for 300 reaches 44" in r.stdout
    r = _run(venv, tmp_path, "avicviz", "releases")
    assert r.returncode == 0, r.stderr
    assert "every mainline release 4.7..6.19" in r.stdout and "default: v6.19" in r.stdout
    code = ("import avicviz, importlib, avicviz.demo as d; r = importlib.import_module('avicviz.releases'); "
            "print(avicviz.__file__); print(r.DATA_FILE); print(d.demos_dir()); "
            "from avicviz.widgets import GATagExplorer; print(type(GATagExplorer()).__name__)")
    r = _run(venv, tmp_path, "python", "-c", code)
    assert r.returncode == 0, r.stderr
    pkg, data, demos, explorer = r.stdout.split("\n")[:4]
    inside = str(venv.resolve())
    assert pkg.startswith(inside) and data.startswith(inside) and demos.startswith(inside)
    assert data.endswith("avicviz/data/kernel_releases.csv") and demos.endswith("avicviz/demos")
    assert explorer == "GATagExplorer"


def test_avicviz_demo_serves_from_the_installed_package(venv, tmp_path):
    out = tmp_path / "demo.out"
    with open(out, "wb") as f:
        proc = subprocess.Popen([str(venv / "bin" / "avicviz"), "demo", "--room", "1", "--demos", "gatag"],
                                cwd=tmp_path, env=_env(tmp_path), stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and "READY" not in out.read_text():
            time.sleep(0.2)
        text = out.read_text()
        assert "READY for 1 attendee." in text, text
        url = re.search(r"Open the demos: (http://\S+)", text).group(1)
        with _NO_PROXY.open(url.replace("index.ipynb", "gatag.ipynb"), timeout=60) as r:
            page = r.read().decode()
        assert page.count("application/vnd.jupyter.widget-view+json") == 3
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        servers.stop(proc)


def test_the_sample_trace_and_example_hosts_ship_in_the_wheel(venv, tmp_path):
    code = ("from avicviz import host, trace; print(trace.SAMPLE_TRACE); "
            "print(sorted(p.name for p in host.EXAMPLE_HOSTS.iterdir() if p.is_dir())[0])")
    r = _run(venv, tmp_path, "python", "-c", code)
    assert r.returncode == 0, r.stderr
    sample, first_host = r.stdout.split("\n")[:2]
    assert sample.startswith(str(venv.resolve())) and first_host.startswith("amd-")
    r = _run(venv, tmp_path, "avicviz", "trace", sample)
    assert r.returncode == 0, r.stderr
    assert "kvm_avic_incomplete_ipi" in r.stdout or "AVIC_INCOMPLETE_IPI" in r.stdout
    r = _run(venv, tmp_path, "python", "-c",
             "from avicviz import host; print(host.format_report(host.check_host(host.EXAMPLE_HOSTS / 'amd-zen3-auto-6.18', 8)))")
    assert r.returncode == 0, r.stderr
    assert "AVIC for new VMs: OFF" in r.stdout
