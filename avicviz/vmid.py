"""KVM's per-VM AVIC ID allocator (avic_vm_init), simulated.

A module-wide counter hands out IDs ``(next + 1) & VM_MASK``.  Zero is never used: reaching it
sets a sticky "wrapped" flag and the counter moves on.  Only after the first wrap does KVM check
the live VMs and skip an ID still in use.  Destroying a VM frees its ID without rewinding the
counter.  If every ID is in use the kernel's loop never ends; the simulation raises instead.
The VM-ID mask shrinks as the GATag's vCPU field grows: 24 bits up to v6.2, 23 bits in
v6.3..v6.18, 20 bits from v6.19.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ._validate import check_int
from .releases import Release, release

__all__ = ["VMIDAllocator", "id_space"]


def id_space(kernel: object = None) -> int:
    """How many distinct VM IDs a release can hand out (zero is never used).

    >>> id_space("6.2"), id_space("6.3"), id_space("6.19")
    (16777215, 8388607, 1048575)
    """
    return release(kernel).gatag_vm_id_mask


@dataclass(frozen=True)
class VMIDAllocator:
    """Immutable allocator state; :meth:`create` and :meth:`destroy` return a new state.

    >>> a = VMIDAllocator.for_kernel("6.19")
    >>> a, first = a.create(); a, second = a.create(); first, second
    (1, 2)
    >>> a = VMIDAllocator.for_kernel("6.19", next_vm_id=0xFFFFE)
    >>> a, x = a.create(); a, y = a.create(); x, y, a.wrapped
    (1048575, 1, True)
    """

    kernel: Release
    next_vm_id: int = 0
    wrapped: bool = False
    live: tuple[int, ...] = field(default=())  # IDs of live VMs, oldest first (may repeat pre-wrap)

    @classmethod
    def for_kernel(cls, kernel: object = None, next_vm_id: int = 0, wrapped: bool = False) -> "VMIDAllocator":
        """A fresh allocator (as after module load), optionally with the counter preset."""
        r = release(kernel)
        check_int("next_vm_id", next_vm_id, 0, r.gatag_vm_id_mask)
        return cls(r, next_vm_id, bool(wrapped), ())

    @property
    def mask(self) -> int:
        return self.kernel.gatag_vm_id_mask

    def create(self) -> tuple["VMIDAllocator", int]:
        """Create a VM: returns the new state and the VM's ID."""
        nxt, wrapped = self.next_vm_id, self.wrapped
        live = set(self.live)
        for _ in range(self.mask + 2):
            nxt = (nxt + 1) & self.mask
            if nxt == 0:
                wrapped = True
                continue
            if wrapped and nxt in live:
                continue
            return replace(self, next_vm_id=nxt, wrapped=wrapped, live=self.live + (nxt,)), nxt
        raise RuntimeError(
            f"every one of the {self.mask} VM IDs of {self.kernel.name} is in use: "
            "KVM's allocation loop would never end"
        )

    def destroy(self, vm_id: int) -> "VMIDAllocator":
        """Destroy the oldest live VM with this ID (the counter is not rewound)."""
        vm_id = check_int("vm_id", vm_id, 1, self.mask)
        if vm_id not in self.live:
            raise ValueError(f"vm_id={vm_id} is not a live VM: live IDs {list(self.live)[:8]}")
        i = self.live.index(vm_id)
        return replace(self, live=self.live[:i] + self.live[i + 1:])

    def duplicates(self) -> list[int]:
        """IDs held by more than one live VM (impossible after a wrap, possible never before)."""
        seen, dup = set(), []
        for v in self.live:
            if v in seen and v not in dup:
                dup.append(v)
            seen.add(v)
        return dup

    def lookup(self, vm_id: int) -> int | None:
        """Position (in ``live``) of the VM that KVM's GA-log handler finds for ``vm_id``."""
        return self.live.index(vm_id) if vm_id in self.live else None
