"""Beyond one machine: what repo2docker (Binder, JupyterHub images) reads installs avicviz and
opens the first lesson.  `jupyter-repo2docker --no-build` on a clean clone prints the Dockerfile
it would build (no Docker needed); then the clone's postBuild runs against a fresh virtual
environment, as the image build would run it, and avicviz must import from there."""

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from avicviz import servers

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("r2d") / "avicviz"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(dst)], check=True)
    return dst


@pytest.fixture(scope="module")
def dockerfile(clone) -> str:
    exe = shutil.which("jupyter-repo2docker", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                                    os.environ.get("PATH", "")]))
    assert exe, "jupyter-repo2docker is not installed (pip install -e '.[dev]')"
    r = subprocess.run([exe, "--no-build", "--debug", "."], cwd=clone, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout + r.stderr


def test_image_installs_environment_yml_for_python_3_12(dockerfile):
    assert "Python version unspecified" not in dockerfile
    assert re.search(r"environment-2epy-2d3-2e12", dockerfile), "base environment is not Python 3.12"
    assert re.search(r'env update -p \$\{NB_PYTHON_PREFIX\} --file "environment.yml"', dockerfile)


def test_image_runs_postbuild_after_copying_the_repository(dockerfile):
    copy = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    run = dockerfile.index("RUN ./postBuild")
    assert copy < run


def test_postbuild_installs_avicviz_and_opens_the_first_lesson(clone, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c",
                                "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    # what environment.yml would have installed: the test interpreter's packages (pip included)
    (site / "_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_"))}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{env['PATH']}", NB_PYTHON_PREFIX=str(venv), HOME=str(tmp_path))
    r = subprocess.run(["bash", "postBuild"], cwd=clone, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    r = subprocess.run([str(venv / "bin" / "python"), "-c",
                        "import avicviz, avicviz.demo as d, avicviz.kernel_socket; print(avicviz.__file__); "
                        "print(d.demos_dir())"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    pkg, demos = r.stdout.split()
    assert pkg.startswith(str(site)) and demos.startswith(str(site))
    conf = json.loads((venv / "etc" / "jupyter" / "jupyter_server_config.d" / "avicviz.json").read_text())
    assert conf["ServerApp"]["kernel_websocket_connection_class"] == servers.NODELAY_CLASS
    url = conf["ServerApp"]["default_url"]
    assert url.startswith("/lab/tree/")
    assert (clone / url.removeprefix("/lab/tree/")).is_file()  # the notebook exists in the image's folder
