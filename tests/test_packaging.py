"""Packaging promises: import isolation, pyproject <-> environment.yml, docstring examples."""

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import avicviz

ROOT = Path(__file__).resolve().parent.parent
#: avicviz/*.py is the model, except the command line and the server plumbing (kernel_socket.py is
#: imported only by a Jupyter server that is told to use it)
MODEL_MODULES = sorted(p for p in (ROOT / "avicviz").glob("*.py")
                       if p.name not in ("cli.py", "demo.py", "kernel_socket.py"))


def test_import_avicviz_pulls_in_no_gui_modules():
    code = ("import sys, avicviz; bad = [m for m in ('matplotlib', 'ipywidgets', 'IPython', 'ipympl', "
            "'pandas') if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_model_sources_import_only_numpy_and_stdlib():
    allowed_third_party = {"numpy", "lazy_loader"}
    for p in MODEL_MODULES:
        tree = ast.parse(p.read_text())
        lazy = set()  # imports inside functions may also use pandas (release_table's DataFrame)
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef):
                lazy |= {id(n) for n in ast.walk(fn)}
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for n in names:
                top = n.split(".")[0]
                ok = top in sys.stdlib_module_names or top in allowed_third_party
                ok = ok or (top == "pandas" and id(node) in lazy)
                assert ok, f"{p.name} imports {n}"


def _req_name(spec: str) -> str:
    return re.split(r"[<>=!~\[ ;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _min_version(spec: str) -> tuple[str | None, str | None]:
    """(minimum, upper bound) of a requirement, e.g. ('3.8', '3.11') for '>=3.8,<3.11'."""
    lo = re.search(r">=\s*([\w.]+)", spec)
    hi = re.search(r"<\s*([\w.]+)", spec)
    return (lo.group(1) if lo else None, hi.group(1) if hi else None)


#: conda-forge names that differ from the PyPI names
CONDA_NAMES: dict[str, str] = {}


def test_make_lab_starts_jupyterlab_with_the_no_delay_kernel_socket():
    from avicviz import servers

    make = subprocess.run(["make", "-n", "-o", "install", "lab"], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout
    line = make.replace("\\\n", " ").split("jupyter lab", 1)[1].splitlines()[0]
    assert f"--ServerApp.kernel_websocket_connection_class={servers.NODELAY_CLASS}" in line
    module, cls = servers.NODELAY_CLASS.rsplit(".", 1)
    assert cls in (ROOT / Path(*module.split("."))).with_suffix(".py").read_text()


def test_environment_yml_lists_the_same_dependencies():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = py["optional-dependencies"]
    specs = py["dependencies"] + extras["lab"] + extras["demo"]
    wanted = {(CONDA_NAMES.get(_req_name(s), _req_name(s)), _min_version(s)) for s in specs}
    env = (ROOT / "environment.yml").read_text()
    listed = set()
    for line in env.splitlines():
        m = re.match(r"\s*-\s+([A-Za-z0-9_.\-]+)\s*(>=\s*[\w.]+(?:\s*,\s*<\s*[\w.]+)?)?\s*(#.*)?$", line)
        if m and m.group(1).lower() not in ("pip", "python"):
            listed.add((m.group(1).lower().replace("_", "-"), _min_version(m.group(2) or "")))
    assert wanted <= listed, f"missing from environment.yml: {sorted(wanted - listed)}"
    # repo2docker reads only an exact "python=3.X"; any 3.X allowed by requires-python will do
    minor = re.search(r"^\s*-\s+python\s*=\s*3\.(\d+)\s*$", env, re.M)
    assert minor and int(minor.group(1)) >= 11, "environment.yml must name python=3.11 or newer"


def test_every_public_model_function_has_a_runnable_example():
    import inspect

    missing = []
    for name in avicviz.__all__:
        obj = getattr(avicviz, name)
        if inspect.isfunction(obj) and obj.__module__.startswith("avicviz"):
            if ">>>" not in (obj.__doc__ or ""):
                missing.append(name)
    assert missing == []


def test_version_is_exposed():
    assert re.match(r"\d+\.\d+", avicviz.__version__)


def test_no_dependency_is_capped_and_the_oldest_constraints_match_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = py["dependencies"] + [s for extra in py["optional-dependencies"].values() for s in extra]
    assert [s for s in specs if "<" in s] == []  # newest releases allowed, tested by `make test`
    out = subprocess.run([sys.executable, str(ROOT / ".ci" / "oldest_constraints.py")],
                         capture_output=True, text=True, check=True).stdout.split()
    pins = dict(line.split("==") for line in out)
    assert pins["matplotlib"] == "3.8" and pins["anywidget"] == "0.9" and pins["ipywidgets"] == "8.1"
    assert len(pins) == len({_req_name(s) for s in specs} - {"avicviz"})
