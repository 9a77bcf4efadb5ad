"""Live explorers for the notebooks: one class per topic, each owning one persistent figure.

Importing this package needs ipywidgets, anywidget and matplotlib (``import avicviz`` does not).
Explorers are imported lazily, so ``from avicviz.widgets import GATagExplorer`` loads only
the module it needs.
"""

from __future__ import annotations

import importlib

#: Public name -> module (inside avicviz.widgets) that defines it.
_WHERE = {
    "Explorer": "_base",
    # predict-then-check questions (the module is not named "check": that name is the function's)
    "Check": "checks",
    "check": "checks",
    # notebook 1: the physical APIC ID table
    "PhysicalTableExplorer": "tables",
    "EntryExplorer": "tables",
    # notebook 2: the GATag
    "GATagExplorer": "gatag",
    "AliasingExplorer": "gatag",
    "VMIDExplorer": "gatag",
    # notebook 3: past 512 vCPUs
    "Past512Explorer": "past512",
    "SweepExplorer": "past512",
    "CostExplorer": "past512",
    # notebook 4: device interrupts
    "DeviceInterruptExplorer": "device",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        mod = importlib.import_module(f"{__name__}.{_WHERE[name]}")
        return getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
