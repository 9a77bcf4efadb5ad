"""QEMU's generic x86 APIC ID scheme: why a VM's APIC IDs are not 0..n-1.

QEMU builds each APIC ID from the vCPU's topology coordinates, giving every level a field
``ceil(log2(count))`` bits wide (0 bits for a count of 1), stacked from the SMT field upward
(include/hw/i386/topology.h, x86_apicid_from_topo_ids).  Padding each level to a power of two
leaves holes, so the largest APIC ID can exceed the vCPU count by a lot.  QEMU's EPYC-specific
variant with a node field is not modelled.
"""

from __future__ import annotations

from dataclasses import dataclass

import lazy_loader

np = lazy_loader.load("numpy")  # imported on first use: keeps `import avicviz` fast

from ._validate import check_int

__all__ = ["Topology", "field_width", "parse_topology"]

_LEVELS = ("sockets", "dies", "modules", "cores", "threads")


def field_width(count: int) -> int:
    """Bits QEMU gives a topology level with ``count`` members.

    >>> [field_width(n) for n in (1, 2, 3, 4, 5, 160, 240, 256)]
    [0, 1, 2, 2, 3, 8, 8, 8]
    """
    count = check_int("count", count, 1)
    return (count - 1).bit_length()


@dataclass(frozen=True)
class Topology:
    """``-smp`` topology: sockets x dies x modules x cores x threads.

    >>> t = Topology(sockets=3, cores=160)
    >>> t.vcpus, t.max_apic_id, int(t.apic_ids()[160])
    (480, 671, 256)
    >>> Topology(sockets=2, cores=240).max_apic_id
    495
    """

    sockets: int = 1
    dies: int = 1
    modules: int = 1
    cores: int = 1
    threads: int = 1

    def __post_init__(self) -> None:
        for name in _LEVELS:
            check_int(name, getattr(self, name), 1, 1 << 16)

    @property
    def vcpus(self) -> int:
        return self.sockets * self.dies * self.modules * self.cores * self.threads

    def widths(self) -> dict[str, int]:
        """Bits per level (the socket field takes whatever is left above the others)."""
        return {name: field_width(getattr(self, name)) for name in _LEVELS}

    def offsets(self) -> dict[str, int]:
        """Bit offset of each level's field inside the APIC ID."""
        w = self.widths()
        off, out = 0, {}
        for name in reversed(_LEVELS):
            out[name] = off
            off += w[name]
        return out

    def apic_ids(self) -> np.ndarray:
        """APIC IDs in QEMU's vCPU order (socket-major, thread fastest)."""
        off = self.offsets()
        # one axis per level; broadcasting builds the full grid once, in ``ids``
        axes = np.meshgrid(*(np.arange(getattr(self, n), dtype=np.int64) for n in _LEVELS),
                           indexing="ij", sparse=True)
        ids = np.zeros(tuple(getattr(self, n) for n in _LEVELS), dtype=np.int64)
        for name, g in zip(_LEVELS, axes):
            ids |= g << off[name]
        return ids.reshape(-1)

    @property
    def max_apic_id(self) -> int:
        return int(self.apic_ids().max())

    def describe(self) -> str:
        """``-smp`` style text, e.g. ``480 vCPUs = sockets=3,cores=160``."""
        parts = [f"{n}={getattr(self, n)}" for n in _LEVELS if n in ("sockets", "cores") or getattr(self, n) != 1]
        return f"{self.vcpus} vCPUs = " + ",".join(parts)


def parse_topology(text: str) -> Topology:
    """Parse ``sockets=S,cores=C,threads=T[,dies=D,modules=M]``.

    >>> parse_topology("sockets=3,cores=160,threads=1").max_apic_id
    671
    >>> parse_topology("sockets=0,cores=4")
    Traceback (most recent call last):
    ...
    ValueError: sockets=0 is out of range: valid range 1..65536 (0x10000)
    """
    vals: dict[str, int] = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        key, sep, val = part.partition("=")
        key = key.strip()
        if not sep or key not in _LEVELS:
            raise ValueError(
                f"topology={text!r}: {part.strip()!r} is not LEVEL=N with LEVEL one of "
                + ", ".join(_LEVELS)
            )
        try:
            vals[key] = int(val.strip(), 10)
        except ValueError:
            raise ValueError(f"{key}={val.strip()!r} is not an integer: valid range 1..65536") from None
    return Topology(**vals)
