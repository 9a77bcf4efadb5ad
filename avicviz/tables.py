"""The physical and logical APIC ID tables, the max index and the hardware's VMRUN check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import lazy_loader

np = lazy_loader.load("numpy")  # imported on first use: keeps `import avicviz` fast

from ._validate import check_int
from .layouts import ENTRIES_PER_PAGE, LOGICAL_ENTRY, physical_entry_layout
from .releases import Release, check_cpu, check_guest_apic, release

__all__ = [
    "PhysicalEntry",
    "decode_entry",
    "encode_entry",
    "max_index",
    "table_pages",
    "pages_for",
    "EntryLoad",
    "load_entry",
    "HW_MAX_INDEX",
    "vmrun_check",
    "PhysicalTable",
    "physical_table",
    "logical_index",
    "default_ldr",
    "LogicalTable",
    "logical_table",
]

#: Largest max index VMRUN accepts in each AVIC mode (APM vol. 2, 15.29.4.3; X2AVIC_EXT: 4095).
HW_MAX_INDEX = {"xavic": 255, "x2avic": 511, "x2avic-ext": 4095}


@dataclass(frozen=True)
class PhysicalEntry:
    """One decoded 64-bit physical APIC ID table entry."""

    value: int
    host_apic_id: int
    backing_page: int  # host physical address (page aligned)
    is_running: bool
    valid: bool
    reserved_bits: int  # the set bits that no hardware field owns (0 if none)

    @property
    def hex(self) -> str:
        return f"0x{self.value:016X}"

    def as_dict(self) -> dict:
        return {
            "value": self.value,
            "value_hex": self.hex,
            "host_apic_id": self.host_apic_id,
            "backing_page": self.backing_page,
            "backing_page_hex": f"0x{self.backing_page:X}",
            "is_running": self.is_running,
            "valid": self.valid,
            "reserved_bits": self.reserved_bits,
            "reserved_bits_hex": f"0x{self.reserved_bits:X}",
        }


def decode_entry(value: int, kernel: object = None) -> PhysicalEntry:
    """Decode a physical APIC ID table entry.

    >>> e = decode_entry(0xC000_0001_2345_6007)
    >>> e.host_apic_id, hex(e.backing_page), e.is_running, e.valid, e.reserved_bits
    (7, '0x123456000', True, True, 0)
    >>> hex(decode_entry(1 << 61).reserved_bits)
    '0x2000000000000000'
    """
    lay = physical_entry_layout(kernel)
    value = check_int("value", value, 0, lay.max_value)
    f = lay.unpack(value)
    return PhysicalEntry(
        value=value,
        host_apic_id=f["host_apic_id"],
        backing_page=f["backing_page"] << 12,
        is_running=bool(f["is_running"]),
        valid=bool(f["valid"]),
        reserved_bits=value & lay.reserved_mask,
    )


def _host_id_check(r: Release, host_apic_id: object) -> int:
    """The host APIC ID rule of avic_vcpu_load: an ID wider than the field is not truncated;
    KVM WARNs and writes nothing (8-bit field before v5.18, 12-bit since 4a204f789587)."""
    top = (1 << r.host_apic_id_bits) - 1
    v = check_int("host_apic_id", host_apic_id, 0, 0xFFFFFFFF)
    if v > top:
        raise ValueError(
            f"host_apic_id={v} is out of range on {r.name}: valid range 0..{top} (0x{top:X}); "
            f"KVM WARNs and writes no entry, so IsRunning stays 0"
            + (" (the field is 12 bits from v5.18, 4a204f789587)" if r.host_apic_id_bits == 8 else "")
        )
    return v


def encode_entry(host_apic_id: int, backing_page: int, is_running: bool, valid: bool = True,
                 kernel: object = None) -> int:
    """Build an entry; ``backing_page`` is the page's host physical address (4 KiB aligned).

    A host APIC ID wider than the release's field is an error, as in KVM, which WARNs and
    writes nothing (see :func:`load_entry` for what the table then holds).

    >>> hex(encode_entry(7, 0x123456000, True))
    '0xc000000123456007'
    >>> encode_entry(300, 0x1000, False, kernel="5.10")
    Traceback (most recent call last):
    ...
    ValueError: host_apic_id=300 is out of range on v5.10: valid range 0..255 (0xFF); KVM WARNs and writes no entry, so IsRunning stays 0 (the field is 12 bits from v5.18, 4a204f789587)
    """
    r = release(kernel)
    lay = physical_entry_layout(r)
    backing_page = check_int("backing_page", backing_page, 0, (1 << 52) - 1)
    if backing_page & 0xFFF:
        raise ValueError(
            f"backing_page=0x{backing_page:X} is not 4 KiB aligned: the low 12 bits must be 0"
        )
    return lay.pack(
        host_apic_id=_host_id_check(r, host_apic_id),
        backing_page=backing_page >> 12,
        is_running=int(bool(is_running)),
        valid=int(bool(valid)),
    )


@dataclass(frozen=True)
class EntryLoad:
    """What KVM's avic_vcpu_load does to a vCPU's entry when it runs on a pCPU."""

    kernel: Release
    before: int
    after: int
    written: bool
    note: str

    @property
    def entry(self) -> PhysicalEntry:
        return decode_entry(self.after, self.kernel)


def load_entry(entry: int, host_apic_id: int, kernel: object = None) -> EntryLoad:
    """avic_vcpu_load: put the pCPU's host APIC ID in the entry and set IsRunning.

    If the host APIC ID does not fit the release's field (8 bits before v5.18, 12 since),
    KVM WARNs and returns without writing: the entry keeps its old value, IsRunning stays 0,
    and IPIs to the vCPU exit with TARGET_NOT_RUNNING.  Nothing is truncated.

    >>> e = encode_entry(0, 0x123456000, False, kernel="5.10")
    >>> x = load_entry(e, 300, "5.10"); x.written, x.entry.is_running, x.entry.host_apic_id
    (False, False, 0)
    >>> x = load_entry(e, 300, "5.18"); x.written, x.entry.is_running, x.entry.host_apic_id
    (True, True, 300)
    """
    r = release(kernel)
    lay = physical_entry_layout(r)
    entry = check_int("entry", entry, 0, lay.max_value)
    hid = check_int("host_apic_id", host_apic_id, 0, 0xFFFFFFFF)
    top = lay["host_apic_id"].max_value
    if hid > top:
        return EntryLoad(r, entry, entry, False,
                         f"host APIC ID {hid} > 0x{top:X}: {r.name}'s {lay['host_apic_id'].width}-bit field "
                         "cannot hold it; KVM WARNs and writes nothing (IsRunning stays 0)")
    f = lay["host_apic_id"]
    after = f.insert(entry, hid) | (1 << 62)
    return EntryLoad(r, entry, after, True, f"host APIC ID {hid} written, IsRunning set")


def max_index(kernel: object = None, cpu: str = "x2avic", guest_apic: str = "x2apic",
              max_vcpu_ids: int | None = None) -> int:
    """AVIC_PHYSICAL_MAX_INDEX as KVM programs it into VMCB 0xF8 for one vCPU.

    ``max_vcpu_ids`` is the VM's KVM_CAP_MAX_VCPU_ID (None: KVM's default); it matters from
    v6.19, where the index is ``min(max_vcpu_ids - 1, limit)``.

    >>> max_index("5.10", "avic", "xapic"), max_index("6.3", "x2avic", "xapic")
    (255, 254)
    >>> max_index("6.3", "x2avic", "x2apic"), max_index("6.19", "x2avic-ext", "x2apic")
    (511, 4095)
    >>> max_index("6.19", "x2avic-ext", "x2apic", max_vcpu_ids=600)
    599
    """
    r = release(kernel)
    cpu = r.effective_cpu(cpu)
    guest_apic = check_guest_apic(guest_apic)
    if guest_apic == "x2apic" and cpu != "avic":
        limit = r.x2avic_ext_max_index if cpu == "x2avic-ext" else r.x2avic_max_index
    else:
        limit = r.xavic_max_index
    assert limit is not None
    ids = _max_vcpu_ids(r, max_vcpu_ids)  # validated on every release
    if r.max_index_from_max_vcpu_ids:
        return min(ids - 1, limit)
    return limit


def _max_vcpu_ids(r: Release, max_vcpu_ids: int | None) -> int:
    if max_vcpu_ids is None:
        return r.vcpu_id_limit()  # KVM's default (default KVM_MAX_VCPUS)
    return check_int("max_vcpu_ids", max_vcpu_ids, 1, r.vcpu_id_limit(r.kvm_max_vcpus_configurable_max))


def pages_for(max_physical_id: int) -> int:
    """4 KiB pages KVM allocates for a table whose largest index is ``max_physical_id``:
    ``1 << get_order((max_physical_id + 1) * 8)``, a power of two (v6.19, 940fc47cfb0d).

    >>> [pages_for(i) for i in (511, 512, 599, 1023, 1024, 1499, 2047, 2048, 4095)]
    [1, 2, 2, 2, 4, 4, 4, 8, 8]
    """
    i = check_int("max_physical_id", max_physical_id, 0, 0xFFF)
    size = (i + 1) * 8
    pages = -(-size // 4096)
    return 1 << (pages - 1).bit_length()


def table_pages(kernel: object = None, cpu: str = "x2avic", max_vcpu_ids: int | None = None) -> int:
    """4 KiB pages in a VM's physical APIC ID table (one page = 512 entries).

    Before v6.19 always one page.  From v6.19 KVM allocates ``get_order((max_physical_id + 1)
    * 8)`` pages with ``max_physical_id = min(max_vcpu_ids - 1, 0xFFF / 0x1FF)``: 1, 2, 4 or 8
    pages, never 3, 5, 6 or 7 (940fc47cfb0d).

    >>> table_pages("6.3", "x2avic-ext"), table_pages("6.19", "x2avic-ext"), table_pages("6.19", "x2avic")
    (1, 8, 1)
    >>> [table_pages("6.19", "x2avic-ext", max_vcpu_ids=n) for n in (600, 1024, 1025, 1500, 2049)]
    [2, 2, 4, 4, 8]
    """
    r = release(kernel)
    if r.max_table_pages == 1:
        return 1
    return pages_for(max_index(r, cpu, "x2apic", max_vcpu_ids))


def vmrun_check(max_index_value: int, avic_mode: str) -> str | None:
    """The hardware's check on VMRUN: None if fine, else the VMEXIT it fails with.

    ``avic_mode`` is "xavic", "x2avic" or "x2avic-ext" (x2AVIC on a CPU with X2AVIC_EXT).

    >>> vmrun_check(511, "x2avic") is None, vmrun_check(512, "x2avic"), vmrun_check(256, "xavic")
    (True, 'VMEXIT_INVALID', 'VMEXIT_INVALID')
    """
    if avic_mode not in HW_MAX_INDEX:
        raise ValueError(
            f"avic_mode={avic_mode!r} is not an AVIC mode: valid values {', '.join(HW_MAX_INDEX)}"
        )
    v = check_int("max_index", max_index_value, 0, 0xFFF)
    return "VMEXIT_INVALID" if v > HW_MAX_INDEX[avic_mode] else None


@dataclass(frozen=True, eq=False)
class PhysicalTable:
    """A VM's physical APIC ID table: ``pages * 512`` u64 entries indexed by guest APIC ID."""

    kernel: Release
    entries: np.ndarray  # uint64
    max_index: int

    @property
    def pages(self) -> int:
        return self.entries.size // ENTRIES_PER_PAGE

    def entry(self, index: int) -> PhysicalEntry:
        check_int("index", index, 0, self.entries.size - 1)
        return decode_entry(int(self.entries[index]), self.kernel)

    def state(self) -> np.ndarray:
        """Per-entry state codes: 0 empty, 1 valid, 2 valid+running, 3 beyond max index."""
        e = self.entries
        valid = (e >> np.uint64(63)) & np.uint64(1)
        run = (e >> np.uint64(62)) & np.uint64(1)
        st = np.where(valid == 1, np.where(run == 1, 2, 1), 0).astype(np.int8)
        st[self.max_index + 1:] = np.where(st[self.max_index + 1:] > 0, 3, st[self.max_index + 1:])
        return st


def physical_table(apic_ids: Sequence[int], kernel: object = None, cpu: str = "x2avic",
                   guest_apic: str = "x2apic", running: Sequence[bool] | None = None,
                   host_apic_ids: Sequence[int] | None = None,
                   max_vcpu_ids: int | None = None) -> PhysicalTable:
    """Fill a VM's physical table the way KVM does: one valid entry per vCPU at its APIC ID.

    vCPUs whose APIC ID does not fit the table get no entry.  Host APIC IDs default to
    ``2 * idx`` (one vCPU per core on an SMT host) and backing pages to made-up, distinct
    addresses: real ones vary from boot to boot.

    >>> t = physical_table(range(4), "6.3", running=[True, False, True, False])
    >>> t.pages, t.max_index, t.entry(2).is_running, t.entry(3).valid, t.entry(4).valid
    (1, 511, True, True, False)
    """
    r = release(kernel)
    ids = np.asarray(list(apic_ids), dtype=np.int64)
    n = ids.size
    pages = table_pages(r, cpu, max_vcpu_ids)
    mi = max_index(r, cpu, guest_apic, max_vcpu_ids)
    size = pages * ENTRIES_PER_PAGE
    entries = np.zeros(size, dtype=np.uint64)
    lay = physical_entry_layout(r)
    host_max = lay["host_apic_id"].max_value
    idx = np.arange(n, dtype=np.int64)
    host = (np.asarray(host_apic_ids, dtype=np.int64) if host_apic_ids is not None
            else (2 * idx) % (host_max + 1))
    if host.size != n:
        raise ValueError(f"host_apic_ids has {host.size} values: valid length {n} (one per vCPU)")
    for h in host[(host < 0) | (host > host_max)][:1]:
        _host_id_check(r, int(h))  # raises, naming the value and KVM's rule
    run = np.asarray(running, dtype=bool) if running is not None else np.ones(n, dtype=bool)
    if run.size != n:
        raise ValueError(f"running must give one value per vCPU ({n}), got {run.size}")
    fits = ids < size
    backing = (np.uint64(0x1_0000_0000) + idx.astype(np.uint64) * np.uint64(0x1000))
    val = (host.astype(np.uint64) | backing | (np.uint64(1) << np.uint64(63))
           | (run.astype(np.uint64) << np.uint64(62)))
    entries[ids[fits]] = val[fits]
    return PhysicalTable(r, entries, mi)


# ---- logical table (xAVIC only) ------------------------------------------------------------

def logical_index(ldr: int, mode: str, kernel: object = None) -> int | None:
    """Index into the logical APIC ID table for an 8-bit logical APIC ID (LDR bits 31:24).

    Flat mode: the position of the set bit (0..7).  Cluster mode: cluster * 4 + bit, with the
    cluster in the high nibble (15 is rejected) and the bit in the low nibble (0..3).  From
    v6.3 exactly one bit must be set, or the vCPU gets no entry (None).  Before v6.3 KVM's
    handling of several set bits is not modelled here (UNVERIFIED): the lowest bit is used.

    >>> logical_index(0b0000_1000, "flat"), logical_index(0x34, "cluster")
    (3, 14)
    >>> logical_index(0x03, "flat", "6.3") is None, logical_index(0xF1, "cluster") is None
    (True, True)
    """
    ldr = check_int("ldr", ldr, 0, 0xFF)
    if mode not in ("flat", "cluster"):
        raise ValueError(f"mode={mode!r} is not a logical destination mode: valid values flat, cluster")
    r = release(kernel)
    bits = ldr if mode == "flat" else ldr & 0xF
    if bits == 0:
        return None
    if r.logical_id_single_bit and bits & (bits - 1):
        return None
    bit = (bits & -bits).bit_length() - 1
    if mode == "flat":
        return bit
    cluster = ldr >> 4
    if cluster == 0xF:
        return None
    return cluster * 4 + bit


def default_ldr(apic_id: int, mode: str) -> int | None:
    """A typical guest's logical ID for a vCPU: flat ``1 << id`` (ids 0..7), cluster
    ``(id // 4) << 4 | 1 << (id % 4)`` (ids 0..59); None where the mode has no room.

    >>> default_ldr(2, "flat"), hex(default_ldr(9, "cluster")), default_ldr(8, "flat")
    (4, '0x22', None)
    """
    apic_id = check_int("apic_id", apic_id, 0, 0xFFFFFFFF)
    if mode == "flat":
        return 1 << apic_id if apic_id < 8 else None
    if mode == "cluster":
        return ((apic_id // 4) << 4) | (1 << (apic_id % 4)) if apic_id < 60 else None
    raise ValueError(f"mode={mode!r} is not a logical destination mode: valid values flat, cluster")


@dataclass(frozen=True, eq=False)
class LogicalTable:
    """The xAVIC logical table: entries (u32) and which vCPUs share an index."""

    kernel: Release
    mode: str
    entries: np.ndarray  # uint32, 8 (flat) or 60 (cluster) used entries
    index_of: Mapping[int, int | None]  # apic_id -> index or None
    aliased: tuple[int, ...]  # apic_ids whose logical ID another vCPU also uses

    @property
    def inhibit(self) -> str | None:
        """v6.3+: aliased logical IDs inhibit AVIC (LOGICAL_ID_ALIASED)."""
        if self.aliased and self.kernel.logical_id_aliased_inhibit:
            return "APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED"
        return None


def logical_table(ldrs: Mapping[int, int], mode: str, kernel: object = None) -> LogicalTable:
    """Build the logical table from ``{apic_id: logical_id}``.

    >>> t = logical_table({0: 1, 1: 2, 2: 2}, "flat", "6.3")
    >>> [hex(e) for e in t.entries[:2]], t.aliased, t.inhibit
    (['0x80000000', '0x80000002'], (1, 2), 'APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED')
    """
    r = release(kernel)
    size = 8 if mode == "flat" else 60
    entries = np.zeros(size, dtype=np.uint32)
    index_of: dict[int, int | None] = {}
    users: dict[int, list[int]] = {}
    for apic_id, ldr in ldrs.items():
        apic_id = check_int("apic_id", apic_id, 0, 0xFF)
        i = logical_index(ldr, mode, r)
        index_of[apic_id] = i
        if i is None:
            continue
        users.setdefault(i, []).append(apic_id)
        entries[i] = LOGICAL_ENTRY.pack(guest_physical_apic_id=apic_id, valid=1)
    aliased = tuple(sorted(a for us in users.values() if len(us) > 1 for a in us))
    return LogicalTable(r, mode, entries, index_of, aliased)
