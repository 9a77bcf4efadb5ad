"""A VM on a Linux release and a CPU: does it start, is AVIC on, and how does each IPI travel?

:func:`simulate` answers for one VM; :func:`sweep` answers for vCPU counts 1..N at once
(vectorised), for the past-512 charts.  Two policies are modelled:

* ``"kernel"``: what the named mainline release really does;
* ``"partial-avic"``: a WHAT-IF floated in the Feb 2023 LKML thread and never merged: vCPUs
  whose APIC ID fits the table keep AVIC; IPIs to the others take AVIC_INCOMPLETE_IPI exits
  with cause INVALID_TARGET and KVM emulates them (as v6.3+ KVM handles that cause).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import lazy_loader

np = lazy_loader.load("numpy")  # imported on first use: keeps `import avicviz` fast

from ._validate import check_int
from .gatag import aliases
from .releases import Release, check_cpu, check_guest_apic, release
from .tables import max_index, table_pages
from .topology import Topology, parse_topology

__all__ = [
    "VMReport",
    "simulate",
    "sweep",
    "Sweep",
    "IPI_PATHS",
    "POLICIES",
    "INHIBIT_REASONS",
]

POLICIES = ("kernel", "partial-avic")

#: How an IPI aimed at a vCPU is delivered.  Codes are the indexes into this tuple.
IPI_PATHS = (
    "accelerated",          # AVIC: IRR set in the backing page + doorbell, no exit
    "target_not_running",   # IsRunning never set (enable_ipiv=0): AVIC_INCOMPLETE_IPI, KVM kicks
    "invalid_target",       # beyond max index / no entry: AVIC_INCOMPLETE_IPI, KVM emulates (v6.3+)
    "invalid_target_dropped",  # same exit before v6.3: KVM did not emulate it
    "emulated",             # AVIC inhibited for the VM: ICR write exits, KVM's APIC emulation
    "not_created",          # the VM never started
    "send_exits",           # hybrid AVIC (v6.0+, x2APIC guest, no x2AVIC): the sender's x2APIC ICR
                            # write exits and KVM sends; the target still receives without an exit
)
_P = {name: i for i, name in enumerate(IPI_PATHS)}

#: APICv inhibit reasons by bit number (recent kernels), as KVM names them.
INHIBIT_REASONS = {
    0: "APICV_INHIBIT_REASON_DISABLED",
    1: "APICV_INHIBIT_REASON_HYPERV",
    2: "APICV_INHIBIT_REASON_ABSENT",
    3: "APICV_INHIBIT_REASON_BLOCKIRQ",
    4: "APICV_INHIBIT_REASON_PHYSICAL_ID_ALIASED",
    5: "APICV_INHIBIT_REASON_APIC_ID_MODIFIED",
    6: "APICV_INHIBIT_REASON_APIC_BASE_MODIFIED",
    7: "APICV_INHIBIT_REASON_NESTED",
    8: "APICV_INHIBIT_REASON_IRQWIN",
    9: "APICV_INHIBIT_REASON_PIT_REINJ",
    10: "APICV_INHIBIT_REASON_SEV",
    11: "APICV_INHIBIT_REASON_LOGICAL_ID_ALIASED",
    12: "APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG",
}
#: Before x2AVIC (v6.0) KVM inhibited AVIC for x2APIC guests with this reason.
X2APIC_INHIBIT = "APICV_INHIBIT_REASON_X2APIC"
TOO_BIG_INHIBIT = INHIBIT_REASONS[12]


@dataclass(frozen=True, eq=False)
class VMReport:
    """Everything :func:`simulate` found out about one VM.  Arrays are per vCPU, in creation order."""

    kernel: Release
    cpu: str
    effective_cpu: str
    guest_apic: str
    policy: str
    enable_ipiv: bool
    kvm_max_vcpus: int
    max_vcpu_ids: int | None
    apic_ids: np.ndarray
    starts: bool
    error: str | None
    failing_vcpu: int | None  # index of the vCPU whose creation fails
    avic_active: bool
    inhibit_reasons: tuple[str, ...]
    max_index: int
    table_pages: int
    in_table: np.ndarray  # bool: the vCPU's APIC ID is <= max index (hardware-addressable)
    ipi_path: np.ndarray  # int8 codes into IPI_PATHS
    gatag_woken: np.ndarray  # vcpu_id a GA-log wakeup for this vCPU reaches (-1: none / n.a.)
    notes: tuple[str, ...]

    @property
    def vcpus(self) -> int:
        return int(self.apic_ids.size)

    @property
    def max_apic_id(self) -> int:
        return int(self.apic_ids.max())

    @property
    def accelerated_vcpus(self) -> int:
        """vCPUs that receive IPIs with no VM exit at all."""
        return int((self.ipi_path == _P["accelerated"]).sum())

    @property
    def gatag_aliased_vcpus(self) -> list[int]:
        """vcpu_ids whose GA-log wakeups reach another vCPU (or none) while posting is on."""
        posted = self.gatag_woken != -2
        bad = posted & (self.gatag_woken != self.apic_ids)
        return [int(v) for v in self.apic_ids[bad]]

    def path_counts(self) -> dict[str, int]:
        """How many vCPUs take each IPI path."""
        counts = np.bincount(self.ipi_path.astype(np.int64), minlength=len(IPI_PATHS))
        return {name: int(c) for name, c in zip(IPI_PATHS, counts)}

    def path_of(self, vcpu_id: int) -> str:
        """The IPI path to the vCPU with this APIC ID."""
        hits = np.flatnonzero(self.apic_ids == vcpu_id)
        if hits.size == 0:
            raise ValueError(f"vcpu_id={vcpu_id} is not a vCPU of this VM")
        return IPI_PATHS[int(self.ipi_path[hits[0]])]

    def as_dict(self) -> dict:
        """The CLI's JSON form."""
        return {
            "kernel": self.kernel.name,
            "cpu": self.cpu,
            "guest_apic": self.guest_apic,
            "policy": self.policy,
            "vcpus": self.vcpus,
            "max_apic_id": self.max_apic_id,
            "starts": self.starts,
            "error": self.error,
            "avic_active": self.avic_active,
            "inhibit_reasons": list(self.inhibit_reasons),
            "max_index": self.max_index,
            "table_pages": self.table_pages,
            "accelerated_vcpus": self.accelerated_vcpus,
            "addressable_vcpus": int(self.in_table.sum()),
            "gatag_aliased_vcpus": self.gatag_aliased_vcpus,
            "ipi_paths": self.path_counts(),
            "notes": list(self.notes),
        }


def _apic_ids(vcpus, apic_ids, topology) -> np.ndarray:
    given = [x is not None for x in (vcpus, apic_ids, topology)]
    if sum(given) != 1:
        raise ValueError("give exactly one of vcpus (a count), apic_ids (a list) or topology")
    if vcpus is not None:
        n = check_int("vcpus", vcpus, 1, 1 << 16)
        return np.arange(n, dtype=np.int64)
    if topology is not None:
        topo = parse_topology(topology) if isinstance(topology, str) else topology
        if not isinstance(topo, Topology):
            raise ValueError(f"topology={topology!r} is not a Topology or 'sockets=S,cores=C,...' text")
        return topo.apic_ids()
    ids = [check_int("apic_ids[]", a, 0, 0xFFFFFFFF) for a in apic_ids]
    if not ids:
        raise ValueError("apic_ids=[] is empty: give at least one APIC ID")
    arr = np.asarray(ids, dtype=np.int64)
    if np.unique(arr).size != arr.size:
        dup = next(a for a in ids if ids.count(a) > 1)
        raise ValueError(f"apic_ids lists APIC ID {dup} twice: each vCPU needs its own id")
    return arr


def _checked(kernel: object, cpu: object, guest_apic: object, policy: object,
             kvm_max_vcpus: object) -> tuple[Release, str, str, int, int]:
    """Validate the arguments simulate() and sweep() share; returns the release, the checked
    CPU kind and guest APIC mode, KVM_MAX_VCPUS and the vCPU-id limit."""
    r = release(kernel)
    cpu = check_cpu(cpu)
    guest_apic = check_guest_apic(guest_apic)
    if policy not in POLICIES:
        raise ValueError(f"policy={policy!r} is not a policy: valid values {', '.join(POLICIES)}")
    kmax = r.check_kvm_max_vcpus(kvm_max_vcpus)
    return r, cpu, guest_apic, kmax, r.vcpu_id_limit(kmax)


def simulate(vcpus: int | None = None, *, apic_ids: Sequence[int] | None = None,
             topology: Topology | str | None = None, kernel: object = None,
             cpu: str = "x2avic", guest_apic: str = "x2apic", policy: str = "kernel",
             enable_ipiv: bool = True, kvm_max_vcpus: int | None = None,
             max_vcpu_ids: int | None = None, running: Sequence[bool] | None = None) -> VMReport:
    """Start a VM on a release and a CPU, and report what AVIC does for it.

    ``kvm_max_vcpus`` is KVM_MAX_VCPUS (default: the largest the release can be configured
    with, CONFIG_KVM_MAX_NR_VCPUS=4096 from v6.7); ``max_vcpu_ids`` the VM's
    KVM_CAP_MAX_VCPU_ID (default: KVM's).  ``running`` says, per vCPU, whether it is on a
    pCPU right now (default: all running); an IPI to a vCPU that is not running sets its IRR and
    exits with AVIC_INCOMPLETE_IPI cause TARGET_NOT_RUNNING so that KVM can wake it.

    >>> r = simulate(600, kernel="6.3"); r.starts, r.error
    (False, 'KVM_CREATE_VCPU fails with -EINVAL for vCPU #512 (vcpu_id 512): ids above 0x1FF do not fit the physical APIC ID table')
    >>> r = simulate(600, kernel="6.17"); r.starts, r.avic_active, r.inhibit_reasons
    (True, False, ('APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG',))
    >>> r = simulate(600, kernel="6.19", cpu="x2avic-ext"); r.avic_active, r.accelerated_vcpus, r.table_pages
    (True, 600, 8)
    >>> simulate(300, kernel="6.2").gatag_aliased_vcpus[:3]
    [256, 257, 258]
    """
    r, cpu, guest_apic, kmax, id_limit = _checked(kernel, cpu, guest_apic, policy, kvm_max_vcpus)
    ids = _apic_ids(vcpus, apic_ids, topology)
    n = ids.size
    if n > id_limit:
        raise ValueError(
            f"vcpus={n} is beyond KVM's vCPU-ID limit on {r.name}: valid range 1..{id_limit}"
        )
    too_big_id = int(ids.max())
    if too_big_id >= id_limit:
        raise ValueError(
            f"apic_id={too_big_id} is beyond KVM's vCPU-ID limit on {r.name}: "
            f"valid range 0..{id_limit - 1}"
        )
    if max_vcpu_ids is not None:
        if not r.per_vm_max_vcpu_id:
            raise ValueError(f"max_vcpu_ids: KVM_CAP_MAX_VCPU_ID does not exist on {r.name} (added in v6.0)")
        max_vcpu_ids = check_int("max_vcpu_ids", max_vcpu_ids, 1, id_limit)
    run = None
    if running is not None:
        run = np.asarray(list(running), dtype=bool)
        if run.size != ids.size:
            raise ValueError(f"running has {run.size} values: valid length {ids.size} (one per vCPU)")
    eff = r.effective_cpu(cpu)
    notes: list[str] = []
    if eff != cpu:
        notes.append(f"{r.name} cannot use the CPU's {cpu} capability; it runs as {eff}")
    cpu_max = r.cpu_max_id(eff)
    mi = max_index(r, eff, guest_apic, max_vcpu_ids)
    pages = table_pages(r, eff, max_vcpu_ids)

    # ---- does the VM start? -------------------------------------------------------------
    error: str | None = None
    failing: int | None = None
    if n > kmax:
        failing = kmax
        error = (f"KVM_CREATE_VCPU fails with -EINVAL for vCPU #{kmax}: KVM_MAX_VCPUS is {kmax}")
    eff_max_ids = max_vcpu_ids if max_vcpu_ids is not None else id_limit
    over_cap = np.flatnonzero(ids >= eff_max_ids)
    if over_cap.size and (failing is None or over_cap[0] < failing):
        failing = int(over_cap[0])
        error = (f"KVM_CREATE_VCPU fails with -EINVAL for vCPU #{failing} (vcpu_id {int(ids[failing])}): "
                 f"the VM's max_vcpu_ids is {eff_max_ids}")
    over = np.flatnonzero(ids > cpu_max)
    if policy == "kernel" and r.past_limit == "einval" and over.size:
        i = int(over[0])
        if failing is None or i < failing:
            failing = i
            error = (f"KVM_CREATE_VCPU fails with -EINVAL for vCPU #{i} (vcpu_id {int(ids[i])}): "
                     f"ids above 0x{cpu_max:X} do not fit the physical APIC ID table")
    starts = error is None

    # ---- inhibits -----------------------------------------------------------------------
    inhibits: list[str] = []
    hybrid = guest_apic == "x2apic" and eff == "avic" and r.x2apic_guest_without_x2avic == "x2avic"
    if guest_apic == "x2apic" and eff == "avic" and not hybrid:
        inhibits.append(X2APIC_INHIBIT)
        notes.append(f"{r.name} has no x2AVIC support: an x2APIC guest runs with AVIC inhibited")
    if hybrid:
        notes.append("no x2AVIC on this CPU: KVM runs the x2APIC guest in hybrid AVIC mode (v6.0+): "
                     "it emulates the guest's x2APIC MSR accesses, so sending an IPI exits, while "
                     "delivery into the target's backing page stays accelerated (the hybrid mode's "
                     "finer details are UNVERIFIED here)")
    if policy == "kernel" and r.past_limit == "inhibit" and over.size:
        inhibits.append(TOO_BIG_INHIBIT)
    avic_active = starts and not inhibits

    # ---- per-vCPU IPI paths --------------------------------------------------------------
    in_table = ids <= mi
    if not starts:
        path = np.full(n, _P["not_created"], dtype=np.int8)
    elif not avic_active:
        path = np.full(n, _P["emulated"], dtype=np.int8)
    else:
        beyond = _P["invalid_target"] if r.invalid_target == "emulated" else _P["invalid_target_dropped"]
        if policy == "partial-avic":
            beyond = _P["invalid_target"]
        hit = np.full(n, _P["accelerated"] if enable_ipiv else _P["target_not_running"], dtype=np.int8)
        if run is not None:
            hit[~run] = _P["target_not_running"]
        if hybrid:
            hit[:] = _P["send_exits"]
        path = np.where(in_table, hit, beyond).astype(np.int8)
    if guest_apic == "xapic" and int(ids.max()) > 0xFE:
        notes.append("an xAPIC guest addresses APIC IDs 0..254 only (0xFF is broadcast); "
                     "KVM's further handling of larger ids in xAPIC mode is not modelled")
    if not enable_ipiv:
        notes.append("enable_ipiv=0: IsRunning is never set, so every non-self IPI exits; "
                     "the receiving side stays accelerated")

    # ---- GATag wakeups (device interrupts are posted only while AVIC is active) -----------
    woken = np.full(n, -2, dtype=np.int64)  # -2: not posted (legacy remapping)
    if avic_active:
        posted = in_table
        a = aliases(np.asarray(ids, dtype=np.int64), r)
        woken = np.where(posted, a.woken, -2)
    if policy == "partial-avic":
        notes.append("WHAT-IF policy from the Feb 2023 LKML thread, never merged")
    return VMReport(
        kernel=r, cpu=cpu, effective_cpu=eff, guest_apic=guest_apic, policy=policy,
        enable_ipiv=bool(enable_ipiv), kvm_max_vcpus=kmax, max_vcpu_ids=max_vcpu_ids,
        apic_ids=ids, starts=starts, error=error, failing_vcpu=failing,
        avic_active=avic_active, inhibit_reasons=tuple(inhibits), max_index=mi,
        table_pages=pages, in_table=in_table, ipi_path=path, gatag_woken=woken,
        notes=tuple(notes),
    )


@dataclass(frozen=True, eq=False)
class Sweep:
    """Per vCPU count (dense APIC IDs 0..n-1): does it start, is AVIC on, how many vCPUs accelerate."""

    kernel: Release
    cpu: str
    guest_apic: str
    policy: str
    counts: np.ndarray
    starts: np.ndarray
    avic_active: np.ndarray
    accelerated: np.ndarray  # vCPUs that receive IPIs without exits

    @property
    def accelerated_fraction(self) -> np.ndarray:
        """Share of IPIs (uniform random targets) that need no VM exit; 0 where the VM fails."""
        return self.accelerated / self.counts


def sweep(kernel: object = None, cpu: str = "x2avic", guest_apic: str = "x2apic",
          max_vcpus: int = 4096, policy: str = "kernel", kvm_max_vcpus: int | None = None) -> Sweep:
    """:func:`simulate` for every count 1..``max_vcpus`` at once (dense APIC IDs), vectorised.

    >>> s = sweep("6.3"); int(s.accelerated[511]), bool(s.starts[512])
    (512, False)
    >>> s = sweep("6.3", policy="partial-avic"); int(s.accelerated[999]), bool(s.avic_active[999])
    (512, True)
    """
    r, cpu, guest_apic, kmax, id_limit = _checked(kernel, cpu, guest_apic, policy, kvm_max_vcpus)
    max_vcpus = check_int("max_vcpus", max_vcpus, 1, id_limit)
    eff = r.effective_cpu(cpu)
    cpu_max = r.cpu_max_id(eff)
    mi = max_index(r, eff, guest_apic)
    counts = np.arange(1, max_vcpus + 1, dtype=np.int64)
    top = counts - 1  # largest APIC ID
    starts = counts <= kmax
    if policy == "kernel" and r.past_limit == "einval":
        starts &= top <= cpu_max
    inhibited = np.zeros_like(starts)
    hybrid = guest_apic == "x2apic" and eff == "avic" and r.x2apic_guest_without_x2avic == "x2avic"
    if guest_apic == "x2apic" and eff == "avic" and not hybrid:
        inhibited |= True
    if policy == "kernel" and r.past_limit == "inhibit":
        inhibited |= top > cpu_max
    active = starts & ~inhibited
    accel = np.where(active, np.minimum(counts, mi + 1), 0)
    if hybrid:  # every send exits; nothing is accelerated end to end
        accel = np.zeros_like(accel)
    return Sweep(r, cpu, guest_apic, policy, counts, starts, active, accel)
