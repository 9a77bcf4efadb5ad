"""The device-interrupt path: an AMD IOMMU IRTE in guest (GA) mode, the GA log, KVM's wakeup.

Semantics follow the Linux AMD IOMMU driver and KVM; the IOMMU specification's own text is
UNVERIFIED here.  The IOMMU never reads the CPU's physical APIC ID table: KVM keeps the IRTE's
IsRun / destination in step with the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ._validate import check_int
from .gatag import aliases, decode, encode
from .layouts import GA_LOG_ENTRY, IRTE_GA_HI, IRTE_GA_LO
from .releases import Release, release

__all__ = ["IRTE", "make_irte", "decode_irte", "GALogEntry", "decode_ga_log_entry",
           "DeviceInterrupt", "deliver", "OUTCOMES", "GA_LOG_TYPE_GUEST"]

#: GA-log entry type 1: a guest (GA-mode) interrupt arrived for a vCPU that was not running.
GA_LOG_TYPE_GUEST = 1

#: Possible fates of one device interrupt.
OUTCOMES = (
    "doorbell",     # guest_mode, is_run: IRR set, doorbell to the pCPU: no exit at all
    "ga_log",       # guest_mode, not running, ga_log_intr: IRR set, GA log entry, KVM wakes a vCPU
    "irr_only",     # guest_mode, not running, no ga_log_intr: IRR set, seen at the next VMRUN
    "remapped",     # guest_mode=0: legacy interrupt remapping, the host handles it
)


@dataclass(frozen=True)
class IRTE:
    """A 128-bit GA-mode IRTE as two 64-bit halves."""

    lo: int
    hi: int

    @property
    def value(self) -> int:
        return (self.hi << 64) | self.lo

    @property
    def hex(self) -> str:
        return f"0x{self.value:032X}"

    def fields(self) -> dict[str, int]:
        out = IRTE_GA_LO.unpack(self.lo)
        out.update(IRTE_GA_HI.unpack(self.hi))
        return out

    @property
    def destination(self) -> int:
        """Host APIC ID (32 bits, split over both halves)."""
        f = self.fields()
        return (f["destination_hi"] << 24) | f["destination_lo"]

    @property
    def reserved_bits(self) -> int:
        """Set bits in the reserved ranges (5:3, 75:72, 119:116 of the 128-bit entry)."""
        return ((self.hi & IRTE_GA_HI.reserved_mask) << 64) | (self.lo & IRTE_GA_LO.reserved_mask)

    def as_dict(self) -> dict:
        """The CLI's JSON form: every field, the destination, the reserved bits."""
        f = self.fields()
        return {"lo": f"0x{self.lo:016X}", "hi": f"0x{self.hi:016X}", **f,
                "destination": self.destination,
                "backing_page": f"0x{f['ga_root_ptr'] << 12:X}",
                "reserved_bits": f"0x{self.reserved_bits:X}"}

    @classmethod
    def from_value(cls, value: int) -> "IRTE":
        value = check_int("irte", value, 0, (1 << 128) - 1)
        return cls(value & ((1 << 64) - 1), value >> 64)


def make_irte(ga_tag: int, vector: int, destination: int = 0, backing_page: int = 0x1_0000_0000,
              is_run: bool = False, ga_log_intr: bool = True, guest_mode: bool = True,
              valid: bool = True) -> IRTE:
    """Build a GA-mode IRTE.

    >>> e = make_irte(0x32C, vector=0x41, destination=6, is_run=True)
    >>> e.fields()["ga_tag"], e.fields()["is_run"], e.destination, hex(e.fields()["vector"])
    (812, 1, 6, '0x41')
    """
    ga_tag = check_int("ga_tag", ga_tag, 0, 0xFFFFFFFF)
    destination = check_int("destination", destination, 0, 0xFFFFFFFF)
    backing_page = check_int("backing_page", backing_page, 0, (1 << 52) - 1)
    if backing_page & 0xFFF:
        raise ValueError(f"backing_page=0x{backing_page:X} is not 4 KiB aligned: the low 12 bits must be 0")
    lo = IRTE_GA_LO.pack(valid=int(valid), ga_log_intr=int(ga_log_intr), is_run=int(is_run),
                         guest_mode=int(guest_mode), destination_lo=destination & 0xFFFFFF,
                         ga_tag=ga_tag)
    hi = IRTE_GA_HI.pack(vector=check_int("vector", vector, 0, 255),
                         ga_root_ptr=backing_page >> 12, destination_hi=destination >> 24)
    return IRTE(lo, hi)


def decode_irte(lo: int, hi: int) -> IRTE:
    """A GA-mode IRTE from its two 64-bit halves (bits 63:0 and 127:64).

    >>> e = decode_irte(0x0000032C000006C5, 0x0000000100000041)
    >>> e.fields()["ga_tag"], e.fields()["guest_mode"], e.destination, hex(e.fields()["vector"])
    (812, 1, 6, '0x41')
    >>> hex(decode_irte(0x8, 0).reserved_bits)
    '0x8'
    """
    return IRTE(check_int("LO", lo, 0, (1 << 64) - 1), check_int("HI", hi, 0, (1 << 64) - 1))


@dataclass(frozen=True)
class GALogEntry:
    """One decoded 64-bit GA-log entry: the IOMMU's note that a posted interrupt found its
    vCPU not running (tag 31:0, device id 47:32, type 63:60; no vector)."""

    kernel: Release
    value: int
    type: int
    device_id: int
    ga_tag: int
    reserved_bits: int

    @property
    def device_bdf(self) -> str:
        """The device id as PCI bus:device.function."""
        d = self.device_id
        return f"{d >> 8:02x}:{(d >> 3) & 0x1F:02x}.{d & 7}"

    @property
    def is_guest(self) -> bool:
        """Type 1 (GA_GUEST_NR): the only type KVM's GA-log handler acts on."""
        return self.type == GA_LOG_TYPE_GUEST

    @property
    def vm_id(self) -> int:
        """The VM ID KVM's handler reads from the tag on this release."""
        return self.ga_tag >> self.kernel.gatag_vcpu_bits

    @property
    def vcpu(self) -> int:
        """The vcpu_id (<= v6.16) or vcpu_idx (v6.17+) KVM's handler reads from the tag."""
        return self.ga_tag & self.kernel.gatag_vcpu_mask

    def as_dict(self) -> dict:
        return {"kernel": self.kernel.name, "value": self.value, "value_hex": f"0x{self.value:016X}",
                "type": self.type, "guest": self.is_guest, "device_id": self.device_id,
                "device_bdf": self.device_bdf, "gatag": self.ga_tag, "gatag_hex": f"0x{self.ga_tag:08X}",
                "vm_id": self.vm_id, "vcpu": self.vcpu, "vcpu_field": self.kernel.gatag_vcpu_field,
                "reserved_bits": self.reserved_bits, "reserved_bits_hex": f"0x{self.reserved_bits:X}"}


def decode_ga_log_entry(value: int, kernel: object = None) -> GALogEntry:
    """Decode a 64-bit GA-log entry and split its GATag as KVM of release ``kernel`` does.

    >>> e = decode_ga_log_entry(0x1000010000000B2C, "6.3")
    >>> e.type, e.device_bdf, hex(e.ga_tag), e.vm_id, e.vcpu
    (1, '01:00.0', '0xb2c', 5, 300)
    >>> decode_ga_log_entry(0x1000010000000B2C, "4.7")
    Traceback (most recent call last):
    ...
    ValueError: kernel=v4.7 has no GA log: per-VM AVIC IDs, the GATag, GA-mode IRTEs and the GA log came after AVIC itself (5ea11f2b31b8, placed in v4.9 here, UNVERIFIED); valid range v4.9..v6.19
    """
    r = release(kernel)
    r.require_gatag("GA log")
    value = check_int("VALUE", value, 0, (1 << 64) - 1)
    f = GA_LOG_ENTRY.unpack(value)
    return GALogEntry(r, value, f["type"], f["device_id"], f["ga_tag"], value & GA_LOG_ENTRY.reserved_mask)


@dataclass(frozen=True)
class DeviceInterrupt:
    """What happened to one device interrupt."""

    kernel: Release
    irte: IRTE
    outcome: str
    steps: tuple[str, ...]
    ga_log_entry: int | None  # 64-bit GA log entry, when one is written
    decoded_vm_id: int | None
    decoded_vcpu: int | None
    woken_vcpu: int | None  # vcpu_id KVM wakes (None: nobody, or no GA log entry)
    intended_vcpu: int | None

    @property
    def wrong_vcpu(self) -> bool:
        """A GA-log wakeup reached a vCPU other than the intended one (or none)."""
        return self.outcome == "ga_log" and self.intended_vcpu is not None and self.woken_vcpu != self.intended_vcpu


def deliver(irte: IRTE, kernel: object = None, vm_id: int = 1, vcpu_ids: Sequence[int] | int | None = None,
            intended_vcpu: int | None = None, device_id: int = 0x0100) -> DeviceInterrupt:
    """Follow one device interrupt through ``irte`` on release ``kernel``.

    ``vcpu_ids`` describes the VM whose ID is ``vm_id`` (a count or explicit ids, creation
    order) so that KVM's lookup can be replayed; ``intended_vcpu`` is the vcpu_id the interrupt
    was meant for.

    >>> t = encode(1, 300, "6.2").tag
    >>> d = deliver(make_irte(t, 0x41), "6.2", vm_id=1, vcpu_ids=301, intended_vcpu=300)
    >>> d.outcome, d.decoded_vcpu, d.woken_vcpu, d.wrong_vcpu
    ('ga_log', 44, 44, True)
    >>> deliver(make_irte(t, 0x41, is_run=True), "6.2").outcome
    'doorbell'
    """
    r = release(kernel)
    r.require_gatag("GA-mode IRTE")
    f = irte.fields()
    steps: list[str] = []
    if not f["valid"]:
        return DeviceInterrupt(r, irte, "remapped", ("IRTE not valid: the IOMMU blocks the interrupt",),
                               None, None, None, None, intended_vcpu)
    if not f["guest_mode"]:
        steps.append("GuestMode=0: legacy remapping, the host takes the interrupt and KVM injects it")
        return DeviceInterrupt(r, irte, "remapped", tuple(steps), None, None, None, None, intended_vcpu)
    steps.append(f"GuestMode=1: the IOMMU sets IRR bit 0x{f['vector']:02X} in the vAPIC backing page "
                 f"at 0x{f['ga_root_ptr'] << 12:X}")
    if f["is_run"]:
        steps.append(f"IsRun=1: doorbell to host APIC ID {irte.destination}; the running vCPU "
                     "takes the interrupt without a VM exit")
        return DeviceInterrupt(r, irte, "doorbell", tuple(steps), None, None, None, None, intended_vcpu)
    if not f["ga_log_intr"]:
        steps.append("IsRun=0, GALogIntr=0: nothing else happens; the vCPU sees the IRR bit at its next VMRUN")
        return DeviceInterrupt(r, irte, "irr_only", tuple(steps), None, None, None, None, intended_vcpu)
    device_id = check_int("device_id", device_id, 0, 0xFFFF)
    entry = GA_LOG_ENTRY.pack(ga_tag=f["ga_tag"], device_id=device_id, type=1)
    steps.append(f"IsRun=0, GALogIntr=1: GA log entry 0x{entry:016X} (tag 0x{f['ga_tag']:08X}), "
                 "then the GA-log interrupt")
    d = decode(f["ga_tag"], r)
    steps.append(f"KVM ({r.name}) decodes the tag: vm_id {d.decoded_vm_id}, "
                 f"{r.gatag_vcpu_field} {d.decoded_vcpu}")
    woken: int | None = None
    if vcpu_ids is not None and d.decoded_vm_id == check_int("vm_id", vm_id, 0, 0xFFFFFFFF):
        a = aliases(vcpu_ids, r, vm_id=vm_id)
        n = a.vcpu_ids.size
        if r.gatag_vcpu_field == "vcpu_id":
            hits = [int(v) for v in a.vcpu_ids if v == d.decoded_vcpu]
            woken = hits[0] if hits else None
        else:
            woken = int(a.vcpu_ids[d.decoded_vcpu]) if d.decoded_vcpu < n else None
        steps.append(f"KVM wakes vcpu_id {woken}" if woken is not None else
                     "no vCPU with that number: nothing is woken")
    elif vcpu_ids is not None:
        steps.append(f"no live VM with vm_id {d.decoded_vm_id} in this picture: nothing is woken")
    return DeviceInterrupt(r, irte, "ga_log", tuple(steps), entry, d.decoded_vm_id, d.decoded_vcpu,
                           woken, intended_vcpu)
