"""Colour-blind safe colours: every colour avicviz's charts and widgets name is an Okabe-Ito
colour or a neutral grey (so meaning never rests on a hue a reader may not tell apart)."""

import re
from pathlib import Path

import pytest

from avicviz.plots._style import PALETTE

ROOT = Path(__file__).resolve().parent.parent
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"}
SOURCES = sorted([*(ROOT / "avicviz" / "plots").glob("*.py"), *(ROOT / "avicviz" / "widgets").glob("*.py")])


def _grey(hex6: str) -> bool:
    r, g, b = (hex6[i:i + 2] for i in (1, 3, 5))
    return r == g == b


def test_the_palette_is_okabe_ito_and_greys():
    for name, colour in PALETTE.items():
        assert colour.upper() in OKABE_ITO or _grey(colour), name


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_source_names_only_okabe_ito_or_grey(path):
    text = path.read_text()
    for colour in re.findall(r"#[0-9A-Fa-f]{6}\b", text):
        assert colour.upper() in OKABE_ITO or _grey(colour.upper()), f"{path.name} uses {colour}"
    named = re.findall(r"""colou?r\s*=\s*["'](red|green|blue|orange|yellow|purple|magenta|cyan|C\d)["']""", text)
    assert named == [], f"{path.name} uses matplotlib's own colours {named}"
