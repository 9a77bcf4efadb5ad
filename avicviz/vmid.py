"""KVM's per-VM AVIC ID allocator (avic_vm_init), simulated, in both of its eras.

* ``"counter"`` (section 5 of the facts sheet; commonly placed around v4.14, UNVERIFIED): a
  module-wide counter hands out IDs ``(next + 1) & VM_MASK``.  Zero is never used: reaching it
  sets a sticky "wrapped" flag and the counter moves on.  Only after the first wrap does KVM
  check the live VMs and skip an ID still in use.  Destroying a VM frees its ID without
  rewinding the counter.  If every ID is in use the kernel's loop never ends; the simulation
  raises instead.
* ``"bitmap"`` (the first allocator, from the per-VM ID patch 5ea11f2b31b8): a bitmap of IDs in
  use; a new VM takes the lowest free ID from 1 and destroying a VM frees its bit, so IDs are
  reused at once.  (Lowest-free order is this model's reading of the bitmap; UNVERIFIED.)

Releases before per-VM IDs have no allocator at all.  The VM-ID mask shrinks as the GATag's
vCPU field grows: 24 bits up to v6.2, 23 bits in v6.3..v6.18, 20 bits from v6.19.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ._validate import check_int
from .releases import Release, release

__all__ = ["VMIDAllocator", "AllocationRun", "id_space"]


def id_space(kernel: object = None) -> int:
    """How many distinct VM IDs a release can hand out (zero is never used).

    >>> id_space("6.2"), id_space("6.3"), id_space("6.19")
    (16777215, 8388607, 1048575)
    """
    r = release(kernel)
    r.require_gatag("per-VM AVIC ID")
    return r.gatag_vm_id_mask


@dataclass(frozen=True)
class AllocationRun:
    """The outcome of :meth:`VMIDAllocator.run`: one entry per new VM, in creation order."""

    state: "VMIDAllocator"
    ids: tuple[int, ...]
    alive: tuple[bool, ...]
    #: IDs the counter stepped over while handing these out, in order: 0 (never used) and IDs
    #: still in use after a wrap.  Always empty for the bitmap allocator.
    skipped: tuple[int, ...]


@dataclass(frozen=True)
class VMIDAllocator:
    """Immutable allocator state; :meth:`create` and :meth:`destroy` return a new state.

    >>> a = VMIDAllocator.for_kernel("6.19")
    >>> a, first = a.create(); a, second = a.create(); first, second
    (1, 2)
    >>> a = VMIDAllocator.for_kernel("6.19", next_vm_id=0xFFFFE)
    >>> a, x = a.create(); a, y = a.create(); x, y, a.wrapped
    (1048575, 1, True)
    >>> a = VMIDAllocator.for_kernel("4.9"); a, x = a.create(); a, y = a.create()
    >>> a = a.destroy(x); a, z = a.create(); (x, y, z), a.kind
    ((1, 2, 1), 'bitmap')
    """

    kernel: Release
    next_vm_id: int = 0
    wrapped: bool = False
    live: tuple[int, ...] = field(default=())  # IDs of live VMs, oldest first (may repeat pre-wrap)

    @classmethod
    def for_kernel(cls, kernel: object = None, next_vm_id: int = 0, wrapped: bool = False) -> "VMIDAllocator":
        """A fresh allocator (as after module load), optionally with the counter preset."""
        r = release(kernel)
        r.require_gatag("per-VM AVIC ID allocator")
        check_int("next_vm_id", next_vm_id, 0, r.gatag_vm_id_mask)
        if r.vm_id_allocator == "bitmap" and (next_vm_id or wrapped):
            raise ValueError(f"next_vm_id={next_vm_id}: {r.name}'s bitmap allocator has no counter "
                             "to preset (valid value 0, wrapped=False)")
        return cls(r, next_vm_id, bool(wrapped), ())

    @property
    def kind(self) -> str:
        """"bitmap" or "counter": which allocator the release has."""
        return self.kernel.vm_id_allocator

    @property
    def mask(self) -> int:
        return self.kernel.gatag_vm_id_mask

    def create(self) -> tuple["VMIDAllocator", int]:
        """Create a VM: returns the new state and the VM's ID."""
        state, vm_id, _ = self._create()
        return state, vm_id

    def _create(self) -> tuple["VMIDAllocator", int, list[int]]:
        live = set(self.live)
        if self.kind == "bitmap":
            vm_id = 1
            while vm_id in live:
                vm_id += 1
            if vm_id > self.mask:
                raise RuntimeError(f"every one of the {self.mask} VM IDs of {self.kernel.name} is in use: "
                                   "the bitmap has no free ID and VM creation fails")
            return replace(self, live=self.live + (vm_id,)), vm_id, []
        nxt, wrapped = self.next_vm_id, self.wrapped
        skipped: list[int] = []
        for _ in range(self.mask + 2):
            nxt = (nxt + 1) & self.mask
            if nxt == 0:
                wrapped = True
                skipped.append(0)
                continue
            if wrapped and nxt in live:
                skipped.append(nxt)
                continue
            return replace(self, next_vm_id=nxt, wrapped=wrapped, live=self.live + (nxt,)), nxt, skipped
        raise RuntimeError(
            f"every one of the {self.mask} VM IDs of {self.kernel.name} is in use: "
            "KVM's allocation loop would never end"
        )

    def run(self, created: int, destroyed: int = 0) -> AllocationRun:
        """Create ``created`` VMs one after another; the first ``destroyed`` of them are
        destroyed right after creation (short-lived VMs).  Returns every ID handed out and the
        IDs the counter stepped over.

        >>> a = VMIDAllocator.for_kernel("6.19", next_vm_id=0xFFFFD)
        >>> a = VMIDAllocator(a.kernel, 0xFFFFD, False, (1, 2))
        >>> run = a.run(4); run.ids, run.skipped
        ((1048574, 1048575, 3, 4), (0, 1, 2))
        """
        created = check_int("created", created, 0, self.mask)
        destroyed = check_int("destroyed", destroyed, 0, created)
        state, ids, alive, skipped = self, [], [], []
        for i in range(created):
            state, v, sk = state._create()
            skipped += sk
            ids.append(v)
            if i < destroyed:
                state = state.destroy(v)
            alive.append(i >= destroyed)
        return AllocationRun(state, tuple(ids), tuple(alive), tuple(skipped))

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
