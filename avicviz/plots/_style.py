"""Shared look: a colour-blind-safe palette (Okabe-Ito) and small helpers used by every plot."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure

__all__ = ["PALETTE", "FIELD_COLOURS", "STATE_COLOURS", "PATH_COLOURS", "RELEASE_COLOURS",
           "field_colour", "new_figure"]

#: Okabe-Ito colours, safe for the common colour-vision deficiencies.
PALETTE = {
    "orange": "#E69F00",
    "sky": "#56B4E9",
    "green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "black": "#000000",
    "grey": "#BBBBBB",
    "light": "#EEEEEE",
}

#: Colours for bit fields, by field name (fields not listed cycle through CYCLE).
FIELD_COLOURS = {
    "vcpu_id": PALETTE["orange"],
    "vcpu_idx": PALETTE["orange"],
    "vm_id": PALETTE["sky"],
    "host_apic_id": PALETTE["green"],
    "backing_page": PALETTE["sky"],
    "is_running": PALETTE["vermillion"],
    "valid": PALETTE["blue"],
    "reserved": PALETTE["light"],
    "ga_tag": PALETTE["orange"],
    "max_index": PALETTE["green"],
}
_CYCLE = [PALETTE[k] for k in ("blue", "orange", "green", "purple", "sky", "vermillion", "yellow")]

#: Physical-table entry states (codes of PhysicalTable.state()).
STATE_COLOURS = {
    0: PALETTE["light"],      # empty
    1: PALETTE["sky"],        # valid, not running
    2: PALETTE["green"],      # valid and running
    3: PALETTE["vermillion"], # beyond the max index
}
STATE_LABELS = {0: "empty", 1: "valid, not running", 2: "valid + IsRunning", 3: "beyond max index"}

#: IPI paths (avicviz.vm.IPI_PATHS) -> colour.
PATH_COLOURS = {
    "accelerated": PALETTE["green"],
    "target_not_running": PALETTE["yellow"],
    "invalid_target": PALETTE["orange"],
    "invalid_target_dropped": PALETTE["purple"],
    "emulated": PALETTE["vermillion"],
    "not_created": PALETTE["grey"],
    "send_exits": PALETTE["sky"],
}

#: One colour per modelled release range, oldest first (index with the range's position).
RELEASE_COLOURS = [PALETTE[k] for k in
                   ("grey", "purple", "yellow", "vermillion", "orange", "sky", "blue", "green", "black")]


def field_colour(name: str, i: int = 0) -> str:
    """Colour of a bit field by name, falling back to a cycle position."""
    if name.startswith("rsvd") or name == "reserved":
        return PALETTE["light"]
    return FIELD_COLOURS.get(name, _CYCLE[i % len(_CYCLE)])


def new_figure(width: float = 8.0, height: float = 3.0) -> Figure:
    """A figure not registered with pyplot (works under any backend, closes nothing)."""
    return Figure(figsize=(width, height), layout="constrained")


def colour_cells(codes: np.ndarray, colours: list[str]) -> np.ndarray:
    """RGBA bytes for an array of small integer codes: cell ``i`` gets ``colours[codes[i]]``.

    Images of codes are drawn from these colours directly: matplotlib then resamples bytes
    instead of normalising and colour-mapping every screen pixel, about 3x faster per redraw.

    >>> colour_cells(np.array([[0, 1]]), ["#000000", "#E69F00"]).tolist()
    [[[0, 0, 0, 255], [230, 159, 0, 255]]]
    """
    table = np.round(to_rgba_array(colours) * 255).astype(np.uint8)
    codes = np.asarray(codes)
    if codes.size and not (0 <= codes.min() and codes.max() < len(table)):
        raise ValueError(f"codes must lie in 0..{len(table) - 1}, got {codes.min()}..{codes.max()}")
    return table[codes]
