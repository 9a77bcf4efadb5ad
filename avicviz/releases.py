"""Mainline Linux releases as data: what AVIC / x2AVIC does in each modelled range.

The parameters live in ``data/kernel_releases.csv`` (one row per range of mainline releases in
which nothing we model changes).  The file is read and checked once; a damaged or edited file
gives an error naming the file, the row and the column.

Stable backports live in ``data/stable_backports.csv``.  A patch-level version such as
``6.1.20`` is answered with mainline ``v6.1``'s behaviour; the backports that reached that
stable series are named on the release (:attr:`Release.backports`), and modelled only where
the first stable release carrying them is pinned in the table.

AVIC is opt-in: kvm_amd's ``avic`` parameter is off by default up to Linux 6.17, and from 6.18
on by default only on CPUs with x2AVIC (:meth:`Release.avic_default`).  Every AVIC behaviour
the model shows assumes ``avic=1`` unless the caller says otherwise (``AVIC_PARAMS``).
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
    "Backport",
    "release",
    "release_ranges",
    "mainline_releases",
    "stable_backports",
    "release_rows",
    "release_table",
    "newest",
    "AVIC_PARAMS",
    "parse_version",
    "DATA_FILE",
    "CPU_KINDS",
    "GUEST_APIC_MODES",
]

#: The release table: ``data/`` in the repository, shipped as ``avicviz.data`` (_resources.py).
DATA_FILE = resource_path("data", "kernel_releases.csv")
#: The stable-backport table, beside the release table.
BACKPORTS_FILE = resource_path("data", "stable_backports.csv")

#: Values of kvm_amd's ``avic`` module parameter the model takes: force on (``avic=1``), force
#: off (``avic=0``), or leave it at the release's default.
AVIC_PARAMS = ("on", "off", "default")

#: The last minor release of each finished major series (4.20, 5.19): a version past it does
#: not exist.
_LAST_MINOR = {4: 20, 5: 19}

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


def _parse_patch(text: object) -> int | None:
    """The stable patch level of "6.1.20" (20); None for a mainline version."""
    if isinstance(text, tuple):
        return None
    m = re.fullmatch(r"\s*v?\d+\.\d+\.(\d+)(?:-rc\d+)?\s*", str(text))
    return int(m.group(1)) if m else None


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
    #: kvm_amd's ``avic`` default: "off", or "x2avic" (on for CPUs with x2AVIC, v6.18+).
    avic_default: str
    #: Before v5.6 AVIC also needed ``kernel_irqchip=split`` (no dynamic APICv inhibits yet).
    avic_needs_split_irqchip: bool
    #: Per-VM AVIC IDs, the GATag, GA-mode IRTEs and the GA log exist (absent on the first
    #: AVIC releases).
    per_vm_id: bool
    #: The VM-ID allocator: "none", "bitmap" (lowest free ID, freed on destroy) or "counter"
    #: (counter + wrap + hash check, section 5 of the facts sheet).
    vm_id_allocator: str
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
    #: An x2APIC guest on a CPU (or kernel) without x2AVIC: "hidden" (before v5.7 KVM hides
    #: x2APIC from the guest's CPUID: the guest runs xAPIC, AVIC stays active), "inhibit"
    #: (v5.7..v5.19: AVIC inhibited) or "hybrid" (v6.0+: hybrid AVIC).
    x2apic_guest_without_x2avic: str
    #: v6.3+: a logical ID must have exactly one bit set; aliased logical IDs inhibit AVIC.
    logical_id_single_bit: bool
    logical_id_aliased_inhibit: bool
    #: AVIC_INCOMPLETE_IPI cause INVALID_TARGET: "ignored" (before v6.3) or "emulated".
    invalid_target: str
    #: Does the INVALID_IPI_VECTOR cause (4) exist (v6.6+)?
    invalid_ipi_vector_cause: bool
    #: kvm_amd's ``enable_ipiv`` parameter exists (v6.17+).
    enable_ipiv_param: bool
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
    #: The stable patch level asked for ("6.1.20": 20), None for a mainline release.
    patch: int | None = None
    #: Stable backports that reached this release's series (patch-level versions only).
    backports: tuple["Backport", ...] = ()

    # ---- derived -----------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The release asked for, as ``vMAJOR.MINOR`` (``vMAJOR.MINOR.PATCH`` for stable)."""
        return _fmt(self.version) + (f".{self.patch}" if self.patch is not None else "")

    @property
    def mainline_name(self) -> str:
        """The mainline release whose behaviour is modelled, ``vMAJOR.MINOR``."""
        return _fmt(self.version)

    @property
    def applied_backports(self) -> tuple["Backport", ...]:
        """Backports modelled for this patch level (their first stable release is pinned)."""
        return tuple(b for b in self.backports if b.applies_to(self))

    def avic_default_on(self, cpu: str) -> bool:
        """kvm_amd's ``avic`` default on this CPU kind: off up to v6.17; from v6.18 on for
        CPUs with x2AVIC (ca2967de5a5b).

        >>> release("6.17").avic_default_on("x2avic"), release("6.18").avic_default_on("x2avic")
        (False, True)
        >>> release("6.18").avic_default_on("avic")
        False
        """
        cpu = check_cpu(cpu)
        return self.avic_default == "x2avic" and cpu in ("x2avic", "x2avic-ext")

    def avic_enabled(self, avic: object, cpu: str) -> bool:
        """The effective kvm_amd ``avic`` value: ``avic`` is "on", "off" or "default".

        >>> release("5.10").avic_enabled("default", "x2avic"), release("5.10").avic_enabled("on", "avic")
        (False, True)
        """
        avic = check_avic(avic)
        if avic == "default":
            return self.avic_default_on(cpu)
        return avic == "on"

    def hybrid_avic(self, cpu: str, guest_apic: str) -> bool:
        """Hybrid AVIC (v6.0+): an x2APIC guest on a CPU whose AVIC this kernel cannot run in
        x2APIC mode.  Delivery into the backing page is accelerated; the sender's x2APIC
        MSR writes exit.  The one home of this rule.

        >>> release("6.3").hybrid_avic("avic", "x2apic"), release("5.10").hybrid_avic("avic", "x2apic")
        (True, False)
        >>> release("6.3").hybrid_avic("x2avic", "x2apic")
        False
        """
        return (check_guest_apic(guest_apic) == "x2apic" and self.effective_cpu(cpu) == "avic"
                and self.x2apic_guest_without_x2avic == "hybrid")

    def guest_apic_seen(self, guest_apic: str, avic_on: bool = True) -> str:
        """The APIC mode the guest really runs: before v5.7, with AVIC enabled, KVM hides
        x2APIC from the guest's CPUID and an "x2apic" guest runs in xAPIC mode.

        >>> release("5.6").guest_apic_seen("x2apic"), release("5.7").guest_apic_seen("x2apic")
        ('xapic', 'x2apic')
        """
        guest_apic = check_guest_apic(guest_apic)
        if avic_on and guest_apic == "x2apic" and self.x2apic_guest_without_x2avic == "hidden":
            return "xapic"
        return guest_apic

    def avic_mode(self, cpu: str, guest_apic: str) -> str:
        """The hardware AVIC mode a vCPU runs in: "xavic", "x2avic" or "x2avic-ext" (the mode
        the VMRUN max-index check uses).  Hybrid AVIC runs the hardware in xAVIC mode.

        >>> release("6.19").avic_mode("x2avic-ext", "x2apic"), release("6.3").avic_mode("x2avic-ext", "x2apic")
        ('x2avic-ext', 'x2avic')
        >>> release("6.19").avic_mode("x2avic", "xapic"), release("6.3").avic_mode("avic", "x2apic")
        ('xavic', 'xavic')
        """
        eff = self.effective_cpu(cpu)
        if self.guest_apic_seen(guest_apic) == "x2apic" and eff != "avic":
            return eff
        return "xavic"

    def no_gatag_reason(self, what: str = "GATag") -> str:
        """"" if this release has per-VM AVIC IDs; else why ``what`` does not apply (for
        readouts that say "not applicable" instead of showing a tag KVM never built).

        >>> release("4.7").no_gatag_reason()
        'kernel=v4.7 has no GATag: per-VM AVIC IDs, the GATag, GA-mode IRTEs and the GA log came after AVIC itself (5ea11f2b31b8, placed in v4.9 here, UNVERIFIED); valid range v4.9..v6.19'
        >>> release("4.9").no_gatag_reason()
        ''
        """
        if self.per_vm_id:
            return ""
        first = next(r for r in release_ranges() if r.per_vm_id)
        return (f"kernel={self.name} has no {what}: per-VM AVIC IDs, the GATag, GA-mode IRTEs and the "
                f"GA log came after AVIC itself (5ea11f2b31b8, placed in {first.first_name} here, "
                f"UNVERIFIED); valid range {first.first_name}..{_fmt(release_ranges()[-1].last)}")

    def require_gatag(self, what: str = "GATag") -> None:
        """Raise a ValueError (the text of :meth:`no_gatag_reason`) if this release predates
        per-VM AVIC IDs (no GATag, no GA log, no IOMMU posting)."""
        reason = self.no_gatag_reason(what)
        if reason:
            raise ValueError(reason)

    @property
    def first_name(self) -> str:
        """The first release of the modelled range, ``vMAJOR.MINOR``."""
        return _fmt(self.first)

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

        ``kvm_max_vcpus`` defaults to the release's default KVM_MAX_VCPUS (1024 from v5.15).

        >>> release("5.10").vcpu_id_limit(), release("6.3").vcpu_id_limit(), release("6.19").vcpu_id_limit()
        (1023, 4096, 4096)
        >>> release("6.19").vcpu_id_limit(4096)
        16384
        """
        k = self.kvm_max_vcpus if kvm_max_vcpus is None else kvm_max_vcpus
        if self.max_vcpu_ids == 4 * self.kvm_max_vcpus:
            return 4 * k
        return self.max_vcpu_ids

    def check_kvm_max_vcpus(self, value: object) -> int:
        """Validate a KVM_MAX_VCPUS setting for this release (None: the release's default).

        >>> release("6.19").check_kvm_max_vcpus(None), release("6.19").check_kvm_max_vcpus(4096)
        (1024, 4096)
        >>> release("6.3").check_kvm_max_vcpus(4096)
        Traceback (most recent call last):
        ...
        ValueError: kvm_max_vcpus=4096 is out of range on v6.3: valid range 1024..1024 (CONFIG_KVM_MAX_NR_VCPUS exists from v6.7)
        """
        from ._validate import check_int

        if value is None:
            return self.kvm_max_vcpus
        lo, hi = self.kvm_max_vcpus, self.kvm_max_vcpus_configurable_max
        try:
            return check_int("kvm_max_vcpus", value, lo, hi)
        except ValueError:
            if isinstance(value, bool) or not isinstance(value, int):
                raise
            hint = "" if hi > lo else " (CONFIG_KVM_MAX_NR_VCPUS exists from v6.7)"
            raise ValueError(f"kvm_max_vcpus={value} is out of range on {self.name}: "
                             f"valid range {lo}..{hi}{hint}") from None

    def at(self, version: object) -> "Release":
        """The same range's parameters, labelled with another version inside the range."""
        v = parse_version(version)
        if not self.first <= v <= self.last:
            raise ValueError(f"kernel={version!r} is outside {self.range_name}")
        return replace(self, version=v, patch=None, backports=())

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


def check_avic(avic: object) -> str:
    """Validate a kvm_amd ``avic`` setting: "on", "off" or "default".

    >>> check_avic("default")
    'default'
    >>> check_avic("auto")
    Traceback (most recent call last):
    ...
    ValueError: avic='auto' is not a kvm_amd avic setting: valid values on, off, default
    """
    if avic not in AVIC_PARAMS:
        raise ValueError(f"avic={avic!r} is not a kvm_amd avic setting: valid values {', '.join(AVIC_PARAMS)}")
    return str(avic)


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
    "avic_default": _choice_cell("off", "x2avic"),
    "avic_needs_split_irqchip": _bool_cell,
    "per_vm_id": _bool_cell,
    "vm_id_allocator": _choice_cell("none", "bitmap", "counter"),
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
    "x2apic_guest_without_x2avic": _choice_cell("hidden", "inhibit", "hybrid"),
    "logical_id_single_bit": _bool_cell,
    "logical_id_aliased_inhibit": _bool_cell,
    "invalid_target": _choice_cell("ignored", "emulated"),
    "invalid_ipi_vector_cause": _bool_cell,
    "enable_ipiv_param": _bool_cell,
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
        if vals["per_vm_id"] != (vals["vm_id_allocator"] != "none"):
            raise err(rowno, "vm_id_allocator", "a VM-ID allocator exists exactly where per-VM IDs do")
        if out and vals["first"] <= out[-1].last:  # type: ignore[operator]
            raise err(rowno, "first", f"overlaps or is out of order after {out[-1].range_name}")
        out.append(Release(version=vals["first"], **vals))  # type: ignore[arg-type]
    if not out:
        raise ValueError(f"{path}: the release table has no rows")
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _table(path: str) -> tuple[Release, ...]:
    return _load(Path(path))


def release_ranges(path: Path | str | None = None) -> tuple[Release, ...]:
    """All modelled ranges, oldest first, each labelled with its first version.

    >>> [r.range_name for r in release_ranges()][-3:]
    ['v6.17', 'v6.18', 'v6.19']
    """
    return _table(str(path or DATA_FILE))


def mainline_releases() -> tuple[str, ...]:
    """Every mainline release the model answers for, oldest first, as "MAJOR.MINOR": the
    choices a release picker offers (each is accepted by :func:`release`).

    >>> m = mainline_releases(); m[:3], m[-2:], len(m)
    (('4.7', '4.8', '4.9'), ('6.18', '6.19'), 54)
    >>> "4.20" in m and "5.19" in m and "4.21" not in m
    True
    """
    rs = release_ranges()
    lo, hi = rs[0].first, rs[-1].last
    out = []
    for major in range(lo[0], hi[0] + 1):
        start = lo[1] if major == lo[0] else 0
        top = hi[1] if major == hi[0] else _LAST_MINOR[major]
        out += [f"{major}.{m}" for m in range(start, top + 1)]
    return tuple(out)


def newest() -> Release:
    """The newest modelled release (the default ``--kernel``).

    >>> newest().name
    'v6.19'
    """
    r = release_ranges()[-1]
    return r.at(r.last)


def release(version: object = None) -> Release:
    """The model of Linux ``version`` ("6.3", "v6.3", "6.1.20"; None: the newest).

    A stable version answers with its mainline release's behaviour and names the backports
    that reached its series (see :func:`stable_backports`).

    >>> release("6.1.20").name, release("6.1.20").mainline_name, release("6.1.20").gatag_vcpu_bits
    ('v6.1.20', 'v6.1', 8)
    >>> release("3.10")
    Traceback (most recent call last):
    ...
    ValueError: kernel='3.10' is older than AVIC support in KVM: valid range v4.7..v6.19
    >>> release("4.21")
    Traceback (most recent call last):
    ...
    ValueError: kernel='4.21' is not a mainline Linux release: the 4.x series ended with 4.20; valid range v4.7..v6.19
    """
    if isinstance(version, Release):
        return version
    if version is None:
        return newest()
    v = parse_version(version)
    patch = _parse_patch(version)
    table = release_ranges()
    lo, hi = table[0].first, table[-1].last
    rng = f"valid range {_fmt(lo)}..{_fmt(hi)}"
    if v < lo:
        raise ValueError(f"kernel={version!r} is older than AVIC support in KVM: {rng}")
    if v > hi:
        raise ValueError(f"kernel={version!r} is newer than the newest modelled release: {rng}")
    if v[0] in _LAST_MINOR and v[1] > _LAST_MINOR[v[0]]:
        raise ValueError(f"kernel={version!r} is not a mainline Linux release: the {v[0]}.x series "
                         f"ended with {v[0]}.{_LAST_MINOR[v[0]]}; {rng}")
    for r in table:
        if r.first <= v <= r.last:
            out = r.at(v)
            if patch is None:
                return out
            bps = tuple(b for b in stable_backports() if b.names(v))
            out = replace(out, patch=patch, backports=bps)
            changes: dict[str, object] = {}
            for b in out.applied_backports:
                changes.update(b.changes)
            return replace(out, **changes) if changes else out
    raise ValueError(f"kernel={version!r} falls between modelled ranges: {rng}")  # pragma: no cover


# ---- stable backports -------------------------------------------------------------------------

@dataclass(frozen=True)
class Backport:
    """A fix that reached a stable series (one row of ``data/stable_backports.csv``).

    ``series`` is the stable series ("6.1") or None where the facts say only "also in stable";
    ``first_stable`` the first patch level known to carry it (None: not pinned, so the model
    names the backport but does not apply it).
    """

    commit: str
    subject: str
    mainline: Version
    series: Version | None
    first_stable: int | None
    effect: tuple[tuple[str, str], ...]
    unverified: str

    @property
    def changes(self) -> dict[str, object]:
        """The release-table values the backport changes, converted like the data file's."""
        return {k: _COLUMNS[k](v) for k, v in self.effect}

    def names(self, v: Version) -> bool:
        """Is this backport worth naming for a stable release of mainline ``v``?"""
        if self.series is None:
            return v < self.mainline
        return v == self.series

    def applies_to(self, r: Release) -> bool:
        """Is this backport modelled for ``r`` (same series, patch level pinned and reached)?"""
        return (self.series == r.version and self.first_stable is not None
                and r.patch is not None and r.patch >= self.first_stable)

    def describe(self) -> str:
        """One line for readouts: commit, subject, where it went, what is not pinned."""
        head = (f"{self.commit} " if self.commit else "") + f'"{self.subject}"'
        where = (f"{self.series[0]}.{self.series[1]}.y" if self.series else "stable (series not pinned)")
        since = f" from .{self.first_stable}" if self.first_stable is not None else ""
        return f"{head}: mainline {_fmt(self.mainline)}, backported to {where}{since}"


_BACKPORT_COLUMNS = ("commit", "subject", "mainline", "series", "first_stable", "effect", "unverified")


def _load_backports(path: Path) -> tuple[Backport, ...]:
    def err(row: int, col: str, msg: str) -> ValueError:
        return ValueError(f"{path}: row {row}, column {col!r}: {msg}")

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"{path}: cannot read the backport table: {e.strerror}") from None
    reader = csv.DictReader(text.splitlines())
    header = list(reader.fieldnames or [])
    if header != list(_BACKPORT_COLUMNS):
        raise err(1, "header", f"expected columns {', '.join(_BACKPORT_COLUMNS)}")
    out = []
    for rowno, raw in enumerate(reader, start=2):
        if None in raw or any(v is None for v in raw.values()):
            raise err(rowno, header[-1], "row has the wrong number of cells")
        cells = {k: v.strip() for k, v in raw.items()}
        try:
            mainline = _version_cell(cells["mainline"])
        except ValueError as e:
            raise err(rowno, "mainline", str(e)) from None
        try:
            series = _version_cell(cells["series"]) if cells["series"] else None
        except ValueError as e:
            raise err(rowno, "series", str(e)) from None
        if series is not None and series >= mainline:
            raise err(rowno, "series", "a backport goes to an older series than its mainline release")
        try:
            first = _int_cell(1, 999)(cells["first_stable"]) if cells["first_stable"] else None
        except ValueError as e:
            raise err(rowno, "first_stable", str(e)) from None
        effect = []
        for part in filter(None, cells["effect"].split(";")):
            k, _, v = part.partition("=")
            if k not in _COLUMNS or k in ("first", "last", "source", "unverified"):
                raise err(rowno, "effect", f"{k!r} is not a release-table column a backport can change")
            try:
                _COLUMNS[k](v)
            except ValueError as e:
                raise err(rowno, "effect", f"{k}: {e}") from None
            effect.append((k, v))
        out.append(Backport(cells["commit"], cells["subject"], mainline, series, first,
                            tuple(effect), cells["unverified"]))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def _backports(path: str) -> tuple[Backport, ...]:
    return _load_backports(Path(path))


def stable_backports(path: Path | str | None = None) -> tuple[Backport, ...]:
    """The AVIC fixes known to have reached stable series.

    >>> [b.describe() for b in stable_backports() if b.series == (6, 6)]
    ['574ef752d4ae "AVIC max index capped at max_vcpu_ids - 1": mainline v6.19, backported to 6.6.y']
    """
    return _backports(str(path or BACKPORTS_FILE))


# ---- the per-release cheat sheet ----------------------------------------------------------------

_PAST_LIMIT_TEXT = {"einval": "KVM_CREATE_VCPU fails (-EINVAL)",
                    "inhibit": "AVIC inhibited (PHYSICAL_ID_TOO_BIG)"}
_X2APIC_TEXT = {"hidden": "x2APIC hidden from the guest (runs xAPIC, AVIC on)",
                "inhibit": "AVIC inhibited (X2APIC)",
                "hybrid": "hybrid AVIC without x2AVIC; x2AVIC where the CPU has it"}


def _hex_or_none(v: int | None) -> str | None:
    return None if v is None else f"0x{v:X}"


def release_rows() -> list[dict]:
    """The cheat sheet as plain rows, one per modelled range (the CLI's ``releases`` and
    :func:`release_table` share it).  Values are numbers, text or None (not applicable).

    >>> rows = release_rows(); rows[0]["range"], rows[0]["gatag"], rows[-1]["max_table_pages"]
    ('v4.7', None, 8)
    """
    rows = []
    for r in release_ranges():
        rows.append({
            "range": r.range_name,
            "first": f"{r.first[0]}.{r.first[1]}",
            "last": f"{r.last[0]}.{r.last[1]}",
            "avic_default": "off" if r.avic_default == "off" else "on with x2AVIC, else off",
            "kernel_irqchip_split_needed": r.avic_needs_split_irqchip,
            "xavic_max_index": _hex_or_none(r.xavic_max_index),
            "x2avic_max_index": _hex_or_none(r.x2avic_max_index),
            "x2avic_ext_max_index": _hex_or_none(r.x2avic_ext_max_index),
            "max_index_mask": f"0x{r.max_index_mask:X}",
            "max_table_pages": r.max_table_pages,
            "host_apic_id_bits": r.host_apic_id_bits,
            "gatag": (f"{r.gatag_vcpu_bits}-bit {r.gatag_vcpu_field} / {r.gatag_vm_id_bits}-bit vm_id"
                      if r.per_vm_id else None),
            "vm_ids": ({"bitmap": "bitmap, lowest free", "counter": "counter, wraps"}[r.vm_id_allocator]
                       + f", 1..0x{r.gatag_vm_id_mask:X}") if r.per_vm_id else None,
            "kvm_max_vcpus_default": r.kvm_max_vcpus,
            "kvm_max_vcpus_max": r.kvm_max_vcpus_configurable_max,
            "vcpu_id_limit": r.vcpu_id_limit(),
            "past_limit": _PAST_LIMIT_TEXT[r.past_limit],
            "x2apic_guest_without_x2avic": _X2APIC_TEXT[r.x2apic_guest_without_x2avic],
            "invalid_target": r.invalid_target,
            "enable_ipiv_param": r.enable_ipiv_param,
            "source": r.source,
            "unverified": r.unverified or None,
        })
    return rows


def release_table():
    """The per-release cheat sheet as a pandas DataFrame, indexed by range (``v6.3..v6.5``).

    Columns: AVIC default, max index per mode, table pages, GATag split and field, VM IDs,
    KVM_MAX_VCPUS default and maximum, vCPU-ID limit (with the default KVM_MAX_VCPUS),
    past-limit behaviour, source and what is UNVERIFIED.

    >>> t = release_table(); t.loc["v6.19", "x2avic_ext_max_index"], t.loc["v4.9..v4.13", "gatag"]
    ('0xFFF', '8-bit vcpu_id / 24-bit vm_id')
    >>> bool(t["gatag"].isna()["v4.7"]), int(t.loc["v6.19", "kvm_max_vcpus_default"])
    (True, 1024)
    """
    import pandas as pd  # imported here: `import avicviz` stays fast

    return pd.DataFrame(release_rows()).set_index("range")
