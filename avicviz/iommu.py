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

__all__ = ["IRTE", "make_irte", "DeviceInterrupt", "deliver", "OUTCOMES"]

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
