"""Files that ship inside the package: the release table and the workshop's demo notebooks.

In the repository they stay where a reader expects them (``data/`` and ``notebooks/demos/``);
pyproject.toml maps those folders onto the subpackages ``avicviz.data`` and ``avicviz.demos``
(setuptools ``package-dir``), so a wheel, ``pip install .``, ``pip install git+...`` and an
editable install all carry them, and they are read through :mod:`importlib.resources`.

One case needs no install at all: importing ``avicviz`` from a source checkout (``PYTHONPATH``
pointing at the repository), where the mapped subpackages do not exist as folders under
``avicviz/``.  Then the repository's own folders are used, so a checkout always reads its own
files and never those of some other install.

Standard library only (the model imports this module).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.resources
from pathlib import Path

__all__ = ["RESOURCES", "resource_dir", "resource_path"]

#: subpackage -> the folder it comes from in the repository
RESOURCES = {"data": "data", "demos": "notebooks/demos"}
#: one file every such folder holds (a namespace subpackage is found through it)
_ANCHORS = {"data": "kernel_releases.csv", "demos": "index.ipynb"}

_PACKAGE_DIR = Path(__file__).resolve().parent
_extracted = contextlib.ExitStack()
atexit.register(_extracted.close)


def _checkout_dir(kind: str) -> Path | None:
    """The repository folder when this package is imported from a source checkout."""
    root = _PACKAGE_DIR.parent
    folder = root / RESOURCES[kind]
    if (root / "pyproject.toml").is_file() and folder.is_dir() and not (_PACKAGE_DIR / kind).is_dir():
        return folder
    return None


def resource_dir(kind: str) -> Path:
    """The folder on disk holding the ``kind`` files (``"data"`` or ``"demos"``).

    >>> resource_dir("data").joinpath("kernel_releases.csv").is_file()
    True
    >>> resource_dir("demos").joinpath("index.ipynb").is_file()
    True
    >>> resource_dir("figures")
    Traceback (most recent call last):
    ...
    ValueError: kind='figures' is not a packaged resource: valid kinds are 'data', 'demos'
    """
    if kind not in RESOURCES:
        valid = ", ".join(repr(k) for k in RESOURCES)
        raise ValueError(f"kind={kind!r} is not a packaged resource: valid kinds are {valid}")
    here = _checkout_dir(kind)
    if here is not None:
        return here
    try:
        pkg = importlib.resources.files(f"avicviz.{kind}")
    except ModuleNotFoundError:
        raise FileNotFoundError(
            f"avicviz.{kind} is missing from this installation of avicviz (its files come from "
            f"{RESOURCES[kind]}/ in the repository); reinstall avicviz") from None
    # The subpackages have no __init__.py: files() gives a MultiplexedPath for them, whose
    # children are plain paths; the folder is the anchor file's parent.
    anchor = pkg / _ANCHORS[kind]
    if isinstance(anchor, Path):
        return anchor.parent
    # Installed inside a zip file: extract once for this process (Voilà needs a real folder).
    return _extracted.enter_context(importlib.resources.as_file(pkg))


def resource_path(kind: str, name: str) -> Path:
    """The path of one packaged file, e.g. ``resource_path("data", "kernel_releases.csv")``.

    >>> resource_path("data", "kernel_releases.csv").name
    'kernel_releases.csv'
    """
    return resource_dir(kind) / name
