"""The GATag: the 32-bit tag KVM stores in each GA-mode IRTE, per release.

The hardware never interprets the tag: the IOMMU only copies it into the GA log, and KVM's
GA-log handler (``avic_ga_log_notifier``) splits it back into a VM ID and a vCPU number.
KVM builds it as ``((vm_id & VM_MASK) << VCPU_BITS) | (vcpu & VCPU_MASK)``: a value wider than
its field is silently truncated.  That truncation is not an error here: it is what the model
exists to show (``lossless`` is False, and :func:`aliases` tells which vCPU a wakeup reaches).

The GATag came with per-VM AVIC IDs, after AVIC itself: on a release without them every
function here raises a ValueError saying so rather than showing a tag KVM never built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import lazy_loader

np = lazy_loader.load("numpy")  # imported on first use: keeps `import avicviz` fast

from ._validate import check_int
from .releases import Release, release

__all__ = ["GATag", "encode", "decode", "lossless", "Aliases", "aliases", "U32_MAX"]

U32_MAX = 0xFFFFFFFF


@dataclass(frozen=True)
class GATag:
    """One tag as KVM would build it, plus what KVM's GA-log handler reads back.

    ``vm_id`` / ``vcpu`` are the values asked for; ``decoded_*`` what the tag really holds.
    """

    kernel: Release
    vm_id: int
    vcpu: int
    tag: int

    @property
    def vcpu_field(self) -> str:
        """``"vcpu_id"`` (<= v6.16) or ``"vcpu_idx"`` (v6.17+)."""
        return self.kernel.gatag_vcpu_field

    @property
    def vcpu_bits(self) -> int:
        return self.kernel.gatag_vcpu_bits

    @property
    def vm_id_bits(self) -> int:
        return self.kernel.gatag_vm_id_bits

    @property
    def tag_hex(self) -> str:
        """The tag as ``0x`` + 8 hex digits."""
        return f"0x{self.tag:08X}"

    @property
    def decoded_vm_id(self) -> int:
        return self.tag >> self.vcpu_bits

    @property
    def decoded_vcpu(self) -> int:
        return self.tag & self.kernel.gatag_vcpu_mask

    @property
    def lossless(self) -> bool:
        """Does decoding give back the VM ID and vCPU that were encoded?"""
        return self.decoded_vm_id == self.vm_id and self.decoded_vcpu == self.vcpu

    def as_dict(self) -> dict:
        """The CLI's JSON form."""
        return {
            "kernel": self.kernel.name,
            "vm_id": self.vm_id,
            "vcpu": self.vcpu,
            "vcpu_field": self.vcpu_field,
            "vcpu_bits": self.vcpu_bits,
            "vm_id_bits": self.vm_id_bits,
            "gatag": self.tag,
            "gatag_hex": self.tag_hex,
            "decoded_vm_id": self.decoded_vm_id,
            "decoded_vcpu": self.decoded_vcpu,
            "lossless": self.lossless,
        }


def encode(vm_id: int, vcpu: int, kernel: object = None) -> GATag:
    """Build the GATag KVM of release ``kernel`` would write for ``vm_id`` and ``vcpu``.

    ``vcpu`` is what the release puts in the tag: the vCPU id before v6.17, its index since.

    >>> t = encode(1, 300, "6.3"); t.tag_hex, t.lossless
    ('0x0000032C', True)
    >>> t = encode(1, 300, "6.2"); t.tag_hex, t.decoded_vcpu, t.lossless
    ('0x0000012C', 44, False)
    >>> encode(0xFFFFF, 0xFFF, "6.19").tag_hex
    '0xFFFFFFFF'
    """
    r = release(kernel)
    r.require_gatag()
    vm_id = check_int("vm_id", vm_id, 0, U32_MAX)
    vcpu = check_int("vcpu", vcpu, 0, U32_MAX)
    tag = ((vm_id & r.gatag_vm_id_mask) << r.gatag_vcpu_bits) | (vcpu & r.gatag_vcpu_mask)
    return GATag(r, vm_id, vcpu, tag)


def decode(tag: int, kernel: object = None) -> GATag:
    """Split a tag the way KVM's GA-log handler of release ``kernel`` does.

    >>> t = decode(0x32C, "6.3"); t.decoded_vm_id, t.decoded_vcpu
    (1, 300)
    >>> t = decode(0x32C, "6.2"); t.decoded_vm_id, t.decoded_vcpu
    (3, 44)
    """
    r = release(kernel)
    r.require_gatag()
    tag = check_int("tag", tag, 0, U32_MAX)
    return GATag(r, tag >> r.gatag_vcpu_bits, tag & r.gatag_vcpu_mask, tag)


def lossless(vm_id: int, vcpu: int, kernel: object = None) -> bool:
    """True if the tag of ``(vm_id, vcpu)`` decodes to the same pair on ``kernel``.

    >>> lossless(1, 255, "6.2"), lossless(1, 256, "6.2"), lossless(1, 256, "6.3")
    (True, False, True)
    """
    return encode(vm_id, vcpu, kernel).lossless


def encode_array(vm_ids, vcpus, kernel: object = None) -> np.ndarray:
    """Vectorised :func:`encode` (no range checks beyond 32 bits); returns uint64 tags.

    >>> [hex(t) for t in encode_array(1, [0, 255, 256], "6.2")]
    ['0x100', '0x1ff', '0x100']
    """
    r = release(kernel)
    r.require_gatag()
    vm = np.asarray(vm_ids, dtype=np.uint64)
    vc = np.asarray(vcpus, dtype=np.uint64)
    if (vm > U32_MAX).any() or (vc > U32_MAX).any():
        raise ValueError("vm_id/vcpu out of range: valid range 0..4294967295 (0xFFFFFFFF)")
    return ((vm & np.uint64(r.gatag_vm_id_mask)) << np.uint64(r.gatag_vcpu_bits)) | (
        vc & np.uint64(r.gatag_vcpu_mask)
    )


@dataclass(frozen=True, eq=False)
class Aliases:
    """Which vCPU a GA-log wakeup reaches, for every vCPU of one VM on one release.

    Arrays are indexed by vCPU index (creation order).  ``woken[i]`` is the vcpu_id of the vCPU
    KVM's GA-log handler wakes for vCPU ``i``'s device interrupts, or -1 if it finds none.
    """

    kernel: Release
    vm_id: int
    vcpu_ids: np.ndarray
    field_values: np.ndarray
    tags: np.ndarray
    decoded: np.ndarray
    woken: np.ndarray

    @property
    def aliased(self) -> np.ndarray:
        """Boolean mask: the wakeup for this vCPU reaches another vCPU (or none)."""
        return self.woken != self.vcpu_ids

    @property
    def aliased_vcpus(self) -> list[int]:
        """vcpu_ids whose device-interrupt wakeups go astray."""
        return [int(v) for v in self.vcpu_ids[self.aliased]]

    def wakes(self, vcpu_id: int) -> int | None:
        """The vcpu_id woken for a device interrupt aimed at ``vcpu_id`` (None: nobody)."""
        hits = np.flatnonzero(self.vcpu_ids == vcpu_id)
        if hits.size == 0:
            raise ValueError(f"vcpu_id={vcpu_id} is not a vCPU of this VM")
        w = int(self.woken[hits[0]])
        return None if w < 0 else w


def aliases(vcpus: int | Sequence[int], kernel: object = None, vm_id: int = 1) -> Aliases:
    """Analyse GATag aliasing for a VM: ``vcpus`` is a count (ids 0..n-1) or explicit vcpu_ids.

    Before v6.17 the tag holds the vcpu_id and KVM looks the vCPU up by id; since v6.17 it holds
    the index and KVM looks it up by index.

    >>> a = aliases(300, "6.2"); a.wakes(300 - 1), len(a.aliased_vcpus), a.aliased_vcpus[0]
    (43, 44, 256)
    >>> aliases(300, "6.3").aliased_vcpus
    []
    """
    r = release(kernel)
    r.require_gatag()
    vm_id = check_int("vm_id", vm_id, 0, U32_MAX)
    if isinstance(vcpus, (int, np.integer)) and not isinstance(vcpus, bool):
        n = check_int("vcpus", vcpus, 1, 1 << 16)
        ids = np.arange(n, dtype=np.int64)
    else:
        arr = vcpus if isinstance(vcpus, np.ndarray) else None
        if arr is not None and arr.ndim == 1 and arr.dtype.kind in "iu":  # checked at once
            bad = (arr < 0) | (arr > U32_MAX)
            if bad.any():
                check_int("vcpu_id", int(arr[np.argmax(bad)]), 0, U32_MAX)  # raises, naming it
            ids = arr.astype(np.int64)
        else:
            ids = np.asarray([check_int("vcpu_id", v, 0, U32_MAX) for v in vcpus], dtype=np.int64)
        if ids.size == 0:
            raise ValueError("vcpus=[] is empty: give at least one vCPU")
        if np.unique(ids).size != ids.size:
            raise ValueError("vcpus contains a repeated vcpu_id: each vCPU needs its own id")
    n = ids.size
    idx = np.arange(n, dtype=np.int64)
    fv = ids if r.gatag_vcpu_field == "vcpu_id" else idx
    tags = encode_array(vm_id, fv, r).astype(np.int64)
    dec = tags & r.gatag_vcpu_mask
    if r.gatag_vcpu_field == "vcpu_id":
        # kvm_get_vcpu_by_id: the first vCPU whose id equals the decoded value
        order = np.argsort(ids, kind="stable")
        pos = np.searchsorted(ids[order], dec)
        pos_c = np.minimum(pos, n - 1)
        found = ids[order][pos_c] == dec
        woken = np.where(found, ids[order][pos_c], -1)
    else:
        woken = np.where(dec < n, ids[np.minimum(dec, n - 1)], -1)
    # A different VM ID (vm_id beyond its field) means KVM finds another VM, or none.
    if (vm_id & r.gatag_vm_id_mask) != vm_id:
        woken = np.full(n, -1, dtype=np.int64)
    return Aliases(r, vm_id, ids, fv, tags, dec, woken)
