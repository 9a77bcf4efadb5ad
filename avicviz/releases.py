"""Mainline Linux releases as data: what AVIC / x2AVIC does in each modelled range.

The parameters live in ``data/kernel_releases.csv`` (one row per range of mainline releases in
which nothing we model changes).  The file is read and checked once; a damaged or edited file
gives an error naming the file, the row and the column.  Stable backports are mentioned in the
prose, never modelled: a version like ``6.1.20`` means mainline ``v6.1``.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ._resources import resource_path

__all__ = [
    "Release",
    "release",
    "releases",
    "newest",
    "parse_version",
    "DATA_FILE",
    "CPU_KINDS",
    "GUEST_APIC_MODES",
]

#: The release table: ``data/`` in the repository, shipped as ``avicviz.data`` (_resources.py).
DATA_FILE = resource_path("data", "kernel_releases.csv")

#: CPU capability levels (CPUID Fn8000_000A: EDX[13] AVIC, EDX[18] x2AVIC, ECX[6] X2AVIC_EXT).
CPU_KINDS = ("avic", "x2avic", "x2avic-ext")
#: Guest local-APIC modes.
GUEST_APIC_MODES = ("xapic", "x2apic")

Version = tuple[int, int]


def parse_version(text: object, name: str = "kernel") -> Version:
    """Parse "6.3", "v6.3", "6.1.20" or "v6.19-rc3" into (major, minor).

    >>> parse_version("v6.3"), parse_version("6.1.20"), parse_version("6.19-rc3")
    ((6, 3), (6, 1), (6, 19))
    >>> parse_version("six")
    Traceback (most recent call last):
    ...
    ValueError: kernel='six' is not a Linux version: expected MAJOR.MINOR such as 6.3, v6.3 or 6.1.20
    """
    if (isinstance(text, tuple) and len(text) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in text)):
        return text  # type: ignore[return-value]
    m = re.fullmatch(r"\s*v?(\d+)\.(\d+)(?:\.\d+)?(?:-rc\d+)?\s*", str(text))
    if not m:
        raise ValueError(
            f"{name}={text!r} is not a Linux version: expected MAJOR.MINOR such as 6.3, v6.3 or 6.1.20"
        )
    return int(m.group(1)), int(m.group(2))


def _fmt(v: Version) -> str:
    return f"v{v[0]}.{v[1]}"


@dataclass(frozen=True)
class Release:
    """The AVIC-relevant behaviour of one mainline Linux release (one row of the data file).

    ``version`` is the release asked for; ``first``/``last`` the modelled range it falls in.

    >>> r = release("6.3")
    >>> r.name, r.range_name, r.gatag_vcpu_bits, r.gatag_vm_id_bits, r.gatag_vcpu_field
    ('v6.3', 'v6.3..v6.5', 9, 23, 'vcpu_id')
    >>> hex(r.max_index_mask), r.past_limit
    ('0x1ff', 'einval')
    """

    version: Version
    first: Version
    last: Version
    #: GATag: width of the vCPU field and of the VM-ID field (they add up to 32).
    gatag_vcpu_bits: int
    gatag_vm_id_bits: int
    #: What the GATag's vCPU field holds: "vcpu_id" (APIC ID) or "vcpu_idx" (creation order).
    gatag_vcpu_field: str
    #: Width of the host physical APIC ID field in a physical APIC ID table entry (8 or 12).
    host_apic_id_bits: int
    #: Does KVM support x2AVIC (v6.0+) / X2AVIC_EXT 4096-entry tables (v6.19+)?
    x2avic: bool
    x2avic_ext: bool
    #: Max index KVM programs for an xAPIC-mode guest, and the largest vCPU id KVM allows then.
    xavic_max_index: int
    xavic_max_id: int
    #: Max index for an x2APIC-mode guest on an x2AVIC CPU / on an X2AVIC_EXT CPU (None: n/a).
    x2avic_max_index: int | None
    x2avic_ext_max_index: int | None
    #: AVIC_PHYSICAL_MAX_INDEX_MASK: the bits of VMCB offset 0xF8 that hold the max index.
    max_index_mask: int
    #: v6.19+: max index = min(max_vcpu_ids - 1, the limit above).
    max_index_from_max_vcpu_ids: bool
    #: Largest physical APIC ID table, in 4 KiB pages.
    max_table_pages: int
    #: A vCPU id above the limit: "einval" (KVM_CREATE_VCPU fails) or "inhibit" (AVIC off for the VM).
    past_limit: str
    #: An x2APIC guest when KVM has no x2AVIC: "inhibit"; with x2AVIC support: "x2avic".
    x2apic_guest_without_x2avic: str
    #: v6.3+: a logical ID must have exactly one bit set; aliased logical IDs inhibit AVIC.
    logical_id_single_bit: bool
    logical_id_aliased_inhibit: bool
    #: AVIC_INCOMPLETE_IPI cause INVALID_TARGET: "ignored" (before v6.3) or "emulated".
    invalid_target: str
    #: Does the INVALID_IPI_VECTOR cause (4) exist (v6.6+)?
    invalid_ipi_vector_cause: bool
    #: KVM_MAX_VCPUS with the default configuration, and the largest configurable value.
    kvm_max_vcpus: int
    kvm_max_vcpus_configurable_max: int
    #: Number of vCPU ids (ids are 0 .. max_vcpu_ids - 1) with the default configuration.
    max_vcpu_ids: int
    #: KVM_CAP_MAX_VCPU_ID (per-VM max vCPU id) exists.
    per_vm_max_vcpu_id: bool
    #: Patch subject(s) or commit(s) this range's behaviour comes from.
    source: str
    #: What about this row is not verified against the kernel ("" if nothing).
    unverified: str

    # ---- derived -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The release asked for, as ``vMAJOR.MINOR``."""
        return _fmt(self.version)

    @property
    def range_name(self) -> str:
        """The modelled range this release belongs to, e.g. ``v6.3..v6.5``."""
        return _fmt(self.first) if self.first == self.last else f"{_fmt(self.first)}..{_fmt(self.last)}"

    @property
    def gatag_vcpu_mask(self) -> int:
        """AVIC_VCPU_IDX_MASK / AVIC_VCPU_ID_MASK of this release."""
        return (1 << self.gatag_vcpu_bits) - 1

    @property
    def gatag_vm_id_mask(self) -> int:
        """AVIC_VM_ID_MASK of this release."""
        return (1 << self.gatag_vm_id_bits) - 1

    @property
    def max_vm_id(self) -> int:
        """Largest VM ID the allocator hands out."""
        return self.gatag_vm_id_mask

    def cpu_max_id(self, cpu: str) -> int:
        """Largest vCPU id (APIC ID) the physical table can hold on this CPU kind.

        >>> release("6.3").cpu_max_id("x2avic"), release("6.19").cpu_max_id("x2avic-ext")
        (511, 4095)
        """
        cpu = check_cpu(cpu)
        if cpu == "x2avic-ext" and self.x2avic_ext:
            return int(self.x2avic_ext_max_index)  # type: ignore[arg-type]
        if cpu in ("x2avic", "x2avic-ext") and self.x2avic:
            return int(self.x2avic_max_index)  # type: ignore[arg-type]
        return self.xavic_max_id

    def effective_cpu(self, cpu: str) -> str:
        """The CPU capability this kernel can use (older kernels ignore x2AVIC / X2AVIC_EXT).

        >>> release("5.10").effective_cpu("x2avic"), release("6.3").effective_cpu("x2avic-ext")
        ('avic', 'x2avic')
        """
        cpu = check_cpu(cpu)
        if cpu == "x2avic-ext" and self.x2avic_ext:
            return "x2avic-ext"
        if cpu in ("x2avic", "x2avic-ext") and self.x2avic:
            return "x2avic"
        return "avic"

    def vcpu_id_limit(self, kvm_max_vcpus: int | None = None) -> int:
        """KVM_MAX_VCPU_IDS: vCPU ids must be below this (4 x KVM_MAX_VCPUS since v5.15).

        ``kvm_max_vcpus`` defaults to the largest configurable KVM_MAX_VCPUS of the release.

        >>> release("5.10").vcpu_id_limit(), release("6.3").vcpu_id_limit(), release("6.19").vcpu_id_limit()
        (1023, 4096, 16384)
        >>> release("6.19").vcpu_id_limit(1024)
        4096
        """
        k = self.kvm_max_vcpus_configurable_max if kvm_max_vcpus is None else kvm_max_vcpus
        if self.max_vcpu_ids == 4 * self.kvm_max_vcpus:
            return 4 * k
        return self.max_vcpu_ids

    def check_kvm_max_vcpus(self, value: object) -> int:
        """Validate a KVM_MAX_VCPUS setting for this release (None: the largest configurable)."""
        from ._validate import check_int

        if value is None:
            return self.kvm_max_vcpus_configurable_max
        return check_int("kvm_max_vcpus", value, self.kvm_max_vcpus, self.kvm_max_vcpus_configurable_max)

    def at(self, version: object) -> "Release":
        """The same range's parameters, labelled with another version inside the range."""
        v = parse_version(version)
        if not self.first <= v <= self.last:
            raise ValueError(f"kernel={version!r} is outside {self.range_name}")
        return replace(self, version=v)

    def __str__(self) -> str:
        return self.name


def check_cpu(cpu: object) -> str:
    """Validate a CPU kind name.

    >>> check_cpu("x2avic")
    'x2avic'
    >>> check_cpu("zen9")
    Traceback (most recent call last):
    ...
    ValueError: cpu='zen9' is not a known CPU kind: valid values avic, x2avic, x2avic-ext
    """
    if cpu not in CPU_KINDS:
        raise ValueError(f"cpu={cpu!r} is not a known CPU kind: valid values {', '.join(CPU_KINDS)}")
    return str(cpu)


def check_guest_apic(mode: object) -> str:
    """Validate a guest APIC mode name ("xapic" or "x2apic")."""
    if mode not in GUEST_APIC_MODES:
        raise ValueError(
            f"guest_apic={mode!r} is not a guest APIC mode: valid values {', '.join(GUEST_APIC_MODES)}"
        )
    return str(mode)


# ---- loading and checking the data file ---------------------------------------------------

def _version_cell(s: str) -> Version:
    m = re.fullmatch(r"(\d+)\.(\d+)", s)
    if not m:
        raise ValueError(f"{s!r} is not MAJOR.MINOR")
    return int(m.group(1)), int(m.group(2))


def _int_cell(lo: int, hi: int) -> Callable[[str], int]:
    def conv(s: str) -> int:
        v = int(s, 0)
        if not lo <= v <= hi:
            raise ValueError(f"{s!r} is outside {lo}..{hi}")
        return v
    return conv


def _opt_int_cell(lo: int, hi: int) -> Callable[[str], int | None]:
    inner = _int_cell(lo, hi)
    return lambda s: None if s == "" else inner(s)


def _bool_cell(s: str) -> bool:
    if s not in ("yes", "no"):
        raise ValueError(f"{s!r} is not yes/no")
    return s == "yes"


def _choice_cell(*choices: str) -> Callable[[str], str]:
    def conv(s: str) -> str:
        if s not in choices:
            raise ValueError(f"{s!r} is not one of {', '.join(choices)}")
        return s
    return conv


def _text_cell(s: str) -> str:
    return s


_COLUMNS: dict[str, Callable[[str], object]] = {
    "first": _version_cell,
    "last": _version_cell,
    "gatag_vcpu_bits": _int_cell(1, 31),
    "gatag_vm_id_bits": _int_cell(1, 31),
    "gatag_vcpu_field": _choice_cell("vcpu_id", "vcpu_idx"),
    "host_apic_id_bits": _int_cell(8, 12),
    "x2avic": _bool_cell,
    "x2avic_ext": _bool_cell,
    "xavic_max_index": _int_cell(0, 255),
    "xavic_max_id": _int_cell(0, 255),
    "x2avic_max_index": _opt_int_cell(0, 4095),
    "x2avic_ext_max_index": _opt_int_cell(0, 4095),
    "max_index_mask": _int_cell(0xFF, 0xFFF),
    "max_index_from_max_vcpu_ids": _bool_cell,
    "max_table_pages": _int_cell(1, 8),
    "past_limit": _choice_cell("einval", "inhibit"),
    "x2apic_guest_without_x2avic": _choice_cell("inhibit", "x2avic"),
    "logical_id_single_bit": _bool_cell,
    "logical_id_aliased_inhibit": _bool_cell,
    "invalid_target": _choice_cell("ignored", "emulated"),
    "invalid_ipi_vector_cause": _bool_cell,
    "kvm_max_vcpus": _int_cell(1, 16384),
    "kvm_max_vcpus_configurable_max": _int_cell(1, 16384),
    "max_vcpu_ids": _int_cell(1, 65536),
    "per_vm_max_vcpu_id": _bool_cell,
    "source": _text_cell,
    "unverified": _text_cell,
}


def _load(path: Path) -> tuple[Release, ...]:
    def err(row: int, col: str, msg: str) -> ValueError:
        return ValueError(f"{path}: row {row}, column {col!r}: {msg}")

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"{path}: cannot read the release table: {e.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    missing = [c for c in _COLUMNS if c not in header]
    if missing:
        raise err(1, missing[0], "column is missing from the header")
    extra = [c for c in header if c not in _COLUMNS]
    if extra:
        raise err(1, extra[0], "unknown column")
    out: list[Release] = []
    for rowno, raw in enumerate(reader, start=2):  # row 1 is the header
        if None in raw or any(v is None for v in raw.values()):
            raise err(rowno, header[-1], "row has the wrong number of cells")
        vals: dict[str, object] = {}
        for col, conv in _COLUMNS.items():
            try:
                vals[col] = conv(raw[col].strip())
            except ValueError as e:
                raise err(rowno, col, str(e)) from None
        if vals["first"] > vals["last"]:  # type: ignore[operator]
            raise err(rowno, "last", "range ends before it starts")
        if vals["gatag_vcpu_bits"] + vals["gatag_vm_id_bits"] != 32:  # type: ignore[operator]
            raise err(rowno, "gatag_vm_id_bits", "vCPU bits + VM-ID bits must be 32")
        if vals["x2avic"] and vals["x2avic_max_index"] is None:
            raise err(rowno, "x2avic_max_index", "x2AVIC rows need a max index")
        if vals["x2avic_ext"] and vals["x2avic_ext_max_index"] is None:
            raise err(rowno, "x2avic_ext_max_index", "X2AVIC_EXT rows need a max index")
        if out and vals["first"] <= out[-1].last:  # type: ignore[operator]
            raise err(rowno, "first", f"overlaps or is out of order after {out[-1].range_name}")
        out.append(Release(version=vals["first"], **vals))  # type: ignore[arg-type]
    if not out:
        raise ValueError(f"{path}: the release table has no rows")
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _table(path: str) -> tuple[Release, ...]:
    return _load(Path(path))


def releases(path: Path | str | None = None) -> tuple[Release, ...]:
    """All modelled ranges, oldest first, each labelled with its first version.

    >>> [r.range_name for r in releases()][-2:]
    ['v6.17..v6.18', 'v6.19']
    """
    return _table(str(path or DATA_FILE))


def newest() -> Release:
    """The newest modelled release (the default ``--kernel``).

    >>> newest().name
    'v6.19'
    """
    r = releases()[-1]
    return r.at(r.last)


def release(version: object = None) -> Release:
    """The model of mainline Linux ``version`` ("6.3", "v6.3", "6.1.20"; None: the newest).

    >>> release("6.1.20").name, release("6.1.20").gatag_vcpu_bits
    ('v6.1', 8)
    >>> release("3.10")
    Traceback (most recent call last):
    ...
    ValueError: kernel='3.10' is older than AVIC support in KVM: valid range v4.7..v6.19
    """
    if isinstance(version, Release):
        return version
    if version is None:
        return newest()
    v = parse_version(version)
    table = releases()
    lo, hi = table[0].first, table[-1].last
    rng = f"valid range {_fmt(lo)}..{_fmt(hi)}"
    if v < lo:
        raise ValueError(f"kernel={version!r} is older than AVIC support in KVM: {rng}")
    if v > hi:
        raise ValueError(f"kernel={version!r} is newer than the newest modelled release: {rng}")
    for r in table:
        if r.first <= v <= r.last:
            return r.at(v)
    raise ValueError(f"kernel={version!r} falls between modelled ranges: {rng}")  # pragma: no cover
