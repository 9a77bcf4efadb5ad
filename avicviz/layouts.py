"""Every bit layout avicviz knows, described once with :mod:`avicviz.bitfield`.

Layouts that changed between releases are functions of a :class:`~avicviz.releases.Release`.
Names follow the kernel (arch/x86/include/asm/svm.h, drivers/iommu/amd/amd_iommu_types.h) and
the AMD manual (APM vol. 2, 15.29) so that a learner can grep for them.
"""

from __future__ import annotations

import functools

from .bitfield import Field, Layout
from .releases import Release, release

__all__ = [
    "gatag_layout",
    "physical_entry_layout",
    "LOGICAL_ENTRY",
    "IRTE_GA_LO",
    "IRTE_GA_HI",
    "GA_LOG_ENTRY",
    "vmcb_physical_table_layout",
    "PAGE_SIZE",
    "ENTRY_BYTES",
    "ENTRIES_PER_PAGE",
]

PAGE_SIZE = 4096
#: Bytes per physical APIC ID table entry (a u64).
ENTRY_BYTES = 8
#: 4096 / 8: why one table page holds 512 vCPUs.
ENTRIES_PER_PAGE = PAGE_SIZE // ENTRY_BYTES


@functools.lru_cache(maxsize=None)
def _gatag(vcpu_bits: int, field_name: str) -> Layout:
    return Layout(
        "GATag",
        32,
        (
            Field(field_name, vcpu_bits - 1, 0,
                  "vCPU " + ("id (APIC ID)" if field_name == "vcpu_id" else "index (creation order)"),
                  source="AVIC_VCPU_IDX_MASK" if field_name == "vcpu_idx" else "AVIC_VCPU_ID_MASK"),
            Field("vm_id", 31, vcpu_bits, "per-VM AVIC ID from avic_vm_init()",
                  source="AVIC_VM_ID_MASK"),
        ),
        "32-bit tag KVM writes into an IOMMU IRTE; the IOMMU copies it into the GA log",
    )


def gatag_layout(kernel: object = None) -> Layout:
    """The GATag layout of a release: vCPU field low, VM ID high.

    >>> [(f.name, f.bits) for f in gatag_layout("6.2")]
    [('vcpu_id', '7:0'), ('vm_id', '31:8')]
    >>> [(f.name, f.bits) for f in gatag_layout("6.19")]
    [('vcpu_idx', '11:0'), ('vm_id', '31:12')]
    """
    r = release(kernel)
    r.require_gatag("GATag layout")
    return _gatag(r.gatag_vcpu_bits, r.gatag_vcpu_field)


@functools.lru_cache(maxsize=None)
def _phys(host_bits: int) -> Layout:
    return Layout(
        "physical APIC ID table entry",
        64,
        (
            Field("host_apic_id", host_bits - 1, 0,
                  "physical APIC ID of the pCPU running this vCPU (doorbell target)",
                  source="AVIC_PHYSICAL_ID_ENTRY_HOST_PHYSICAL_ID_MASK"),
            Field("backing_page", 51, 12, "host physical address of the vAPIC backing page, bits 51:12",
                  source="AVIC_PHYSICAL_ID_ENTRY_BACKING_PAGE_MASK"),
            Field("ga_log_intr", 61, 61,
                  "KVM-internal flag in KVM's shadow copy only (v6.17+); never in the hardware table",
                  reserved=True),
            Field("is_running", 62, 62, "IsRunning: the vCPU is on a pCPU now; doorbell it",
                  source="AVIC_PHYSICAL_ID_ENTRY_IS_RUNNING_MASK"),
            Field("valid", 63, 63, "Valid: the entry may be used",
                  source="AVIC_PHYSICAL_ID_ENTRY_VALID_MASK"),
        ),
        "one u64 per guest physical APIC ID",
    )


def physical_entry_layout(kernel: object = None) -> Layout:
    """The 64-bit physical APIC ID table entry (host APIC ID field 8 bits before ~v5.18, then 12).

    >>> [(f.name, f.bits) for f in physical_entry_layout("6.3") if not f.reserved]
    [('host_apic_id', '11:0'), ('backing_page', '51:12'), ('is_running', '62'), ('valid', '63')]
    """
    return _phys(release(kernel).host_apic_id_bits)


#: Logical APIC ID table entry (xAVIC only; 32 bits).
LOGICAL_ENTRY = Layout(
    "logical APIC ID table entry",
    32,
    (
        Field("guest_physical_apic_id", 7, 0, "guest physical APIC ID of the vCPU",
              source="AVIC_LOGICAL_ID_ENTRY_GUEST_PHYSICAL_ID_MASK"),
        Field("valid", 31, 31, "entry is valid", source="AVIC_LOGICAL_ID_ENTRY_VALID_MASK"),
    ),
    "xAVIC only: maps a logical APIC ID bit to a physical APIC ID",
)

#: Low 64 bits of a 128-bit AMD IOMMU IRTE in guest (GA) mode.
IRTE_GA_LO = Layout(
    "IRTE (GA mode) bits 63:0",
    64,
    (
        Field("valid", 0, 0, "remapping entry is valid"),
        Field("no_fault", 1, 1, "suppress IO page faults"),
        Field("ga_log_intr", 2, 2, "GALogIntr: log to the GA log when the vCPU is not running"),
        Field("rsvd_5_3", 5, 3, "reserved", reserved=True),
        Field("is_run", 6, 6, "IsRun: vCPU running, ring the doorbell"),
        Field("guest_mode", 7, 7, "GuestMode: post into the vAPIC backing page"),
        Field("destination_lo", 31, 8, "host APIC ID bits 23:0 (doorbell target)"),
        Field("ga_tag", 63, 32, "GATag, copied into the GA log"),
    ),
)

#: High 64 bits of a 128-bit AMD IOMMU IRTE in guest (GA) mode.
IRTE_GA_HI = Layout(
    "IRTE (GA mode) bits 127:64",
    64,
    (
        Field("vector", 7, 0, "the guest's interrupt vector"),
        Field("rsvd_11_8", 11, 8, "reserved", reserved=True),
        Field("ga_root_ptr", 51, 12, "vAPIC backing page address >> 12"),
        Field("rsvd_55_52", 55, 52, "reserved", reserved=True),
        Field("destination_hi", 63, 56, "host APIC ID bits 31:24"),
    ),
)

#: One 64-bit entry of the IOMMU's GA log (512-entry ring).
GA_LOG_ENTRY = Layout(
    "GA log entry",
    64,
    (
        Field("ga_tag", 31, 0, "GATag copied from the IRTE"),
        Field("device_id", 47, 32, "PCI requester ID of the device"),
        Field("type", 63, 60, "entry type (1 = guest)"),
    ),
)


@functools.lru_cache(maxsize=None)
def _vmcb_f8(mask: int) -> Layout:
    top = mask.bit_length() - 1
    fields = [Field("max_index", top, 0, "AVIC_PHYSICAL_MAX_INDEX", source="AVIC_PHYSICAL_MAX_INDEX_MASK")]
    fields.append(Field("table_address", 51, 12, "physical APIC ID table host physical address bits 51:12"))
    return Layout("VMCB 0xF8 (avic_physical_id)", 64, tuple(fields))


def vmcb_physical_table_layout(kernel: object = None) -> Layout:
    """VMCB offset 0xF8: the physical table's address and, in its low bits, the max index.

    >>> vmcb_physical_table_layout("6.2")["max_index"].bits
    '9:0'
    >>> vmcb_physical_table_layout("6.3")["max_index"].bits
    '8:0'
    """
    r: Release = release(kernel)
    return _vmcb_f8(r.max_index_mask)
