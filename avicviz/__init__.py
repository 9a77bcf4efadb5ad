"""avicviz: AMD AVIC / x2AVIC in Linux KVM, modelled bit for bit, release by release.

The model (this package's top-level modules) imports only numpy and the standard library.
Charts live in :mod:`avicviz.plots` and live explorers in :mod:`avicviz.widgets`; import them
explicitly.

>>> import avicviz as av
>>> av.encode(vm_id=1, vcpu=300, kernel="6.2").decoded_vcpu
44
"""

from __future__ import annotations

from .bitfield import Field, Layout
from .gatag import Aliases, GATag, aliases, decode, encode, lossless
from .iommu import IRTE, DeviceInterrupt, GALogEntry, decode_ga_log_entry, decode_irte, deliver, make_irte
from .layouts import (
    ENTRIES_PER_PAGE,
    GA_LOG_ENTRY,
    IRTE_GA_HI,
    IRTE_GA_LO,
    LOGICAL_ENTRY,
    gatag_layout,
    physical_entry_layout,
    vmcb_physical_table_layout,
)
from .releases import (
    AVIC_PARAMS,
    CPU_KINDS,
    GUEST_APIC_MODES,
    Backport,
    Release,
    mainline_releases,
    newest,
    release,
    release_ranges,
    release_rows,
    release_table,
    stable_backports,
)
from .tables import (
    HW_MAX_INDEX,
    EntryLoad,
    PhysicalEntry,
    PhysicalTable,
    decode_entry,
    encode_entry,
    load_entry,
    pages_for,
    logical_index,
    logical_table,
    max_index,
    physical_table,
    table_pages,
    vmrun_check,
)
from .topology import Topology, parse_topology
from .vm import HYBRID_TEXT, IPI_PATHS, Sweep, VMReport, simulate, sweep
from .vmid import AllocationRun, VMIDAllocator, id_space


def __getattr__(name: str):
    # The version is looked up on first use: importlib.metadata alone costs ~40 ms at import.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("avicviz")
        except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Field", "Layout", "GATag", "Aliases", "encode", "decode", "lossless", "aliases",
    "IRTE", "DeviceInterrupt", "deliver", "make_irte", "GALogEntry", "decode_ga_log_entry",
    "decode_irte", "ENTRIES_PER_PAGE", "GA_LOG_ENTRY",
    "IRTE_GA_HI", "IRTE_GA_LO", "LOGICAL_ENTRY", "gatag_layout", "physical_entry_layout",
    "vmcb_physical_table_layout", "AVIC_PARAMS", "CPU_KINDS", "GUEST_APIC_MODES", "Backport",
    "Release", "newest", "release", "release_ranges", "mainline_releases", "stable_backports",
    "release_rows", "release_table", "HW_MAX_INDEX", "EntryLoad", "PhysicalEntry",
    "PhysicalTable", "decode_entry", "encode_entry", "load_entry", "pages_for", "logical_index", "logical_table", "max_index", "physical_table",
    "table_pages", "vmrun_check", "Topology", "parse_topology", "IPI_PATHS", "Sweep",
    "VMReport", "simulate", "sweep", "HYBRID_TEXT", "VMIDAllocator", "AllocationRun", "id_space",
    "__version__",
]
