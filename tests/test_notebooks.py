"""Every notebook: stored without outputs, well-formed for learners, and executed headless.

Execution uses nbclient with the interpreter running the tests; a notebook fails on any error
output and on any stderr output (warnings from avicviz or its dependencies included).  The
notebooks' own "sanity-check" cells assert the numbers their prose states.
"""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
LESSONS = sorted(NB_DIR.glob("[0-9][0-9]_*.ipynb"))
ALL = sorted(NB_DIR.rglob("*.ipynb"))
ALL = [p for p in ALL if ".ipynb_checkpoints" not in p.parts]


def _id(p: Path) -> str:
    return str(p.relative_to(NB_DIR))


def test_lessons_exist():
    names = [p.name[:2] for p in LESSONS]
    assert names == ["00", "01", "02", "03", "04", "05"], names


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} of {path.name} has stored outputs"
            assert cell.execution_count is None, f"cell {i} of {path.name} has an execution count"


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


@pytest.mark.parametrize("path", LESSONS, ids=_id)
def test_lesson_structure(path):
    nb = nbformat.read(path, as_version=4)
    md = _markdown(nb).lower()
    for part in ("learning objectives", "prerequisites", "estimated time", "recap", "questions"):
        assert part in md, f"{path.name} lacks a '{part}' section"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert re.search(r'\bcheck\("[a-z0-9-]+"\)', code), f"{path.name} has no predict-then-check question"
    assert re.search(r"^\s*assert ", code, re.M), f"{path.name} has no sanity-check assert cell"
    for c in nb.cells:  # thin notebooks: no helper code hidden in cells
        if c.cell_type == "code":
            assert not re.search(r"^\s*(def|class) ", c.source, re.M), f"{path.name} defines code in a cell"


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_links_and_images_resolve(path):
    nb = nbformat.read(path, as_version=4)
    md = _markdown(nb)
    glossary = (NB_DIR / "glossary.md").read_text() if (NB_DIR / "glossary.md").exists() else ""
    anchors = set(re.findall(r'<a id="([^"]+)"', glossary)) | set(re.findall(r"<a name=\"([^\"]+)\"", glossary))
    for m in re.finditer(r"!\[([^\]]*)\]\(([^)\s]+)\)", md):
        alt, target = m.groups()
        assert alt.strip(), f"{path.name}: image {target} has no alt text"
        assert (path.parent / target).exists(), f"{path.name}: missing image {target}"
    for m in re.finditer(r"(?<!!)\[[^\]]+\]\(([^)\s#]*)(#[^)\s]+)?\)", md):
        target, anchor = m.groups()
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        if target:
            assert (path.parent / target).exists(), f"{path.name}: broken link {target}"
        if target.endswith("glossary.md") and anchor:
            assert anchor[1:] in anchors, f"{path.name}: glossary has no anchor {anchor}"


@pytest.mark.parametrize("path", ALL, ids=_id)
def test_executes_without_errors_or_warnings(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    env_backup = os.environ.get("MPLBACKEND")
    client = NotebookClient(nb, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    finally:
        if env_backup is not None:
            os.environ["MPLBACKEND"] = env_backup
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                problems.append(f"cell {i} wrote to stderr: {out.text[:300]}")
    assert problems == []
