"""A VM on a Linux release and a CPU: does it start, is AVIC on, and how does each IPI travel?

Two assumptions are inputs, and every result states them: kvm_amd's ``avic`` parameter
(``avic="on"`` by default, the case the suite teaches; ``"off"``; or ``"default"``, what the
release does on that CPU: off up to v6.17, on for x2AVIC CPUs from v6.18), and KVM_MAX_VCPUS
(the release's default, 1024 from v5.15, unless ``kvm_max_vcpus`` is given).  With AVIC off no
AVIC rule applies: the VM starts as far as KVM's own limits allow and every IPI and device
interrupt is emulated.

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
from .releases import AVIC_PARAMS, Release, check_avic, check_cpu, check_guest_apic, release
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
    "AVIC_PARAMS",
    "HYBRID_TEXT",
]

#: How readouts name hybrid AVIC (v6.0+, x2APIC guest, CPU without x2AVIC).
HYBRID_TEXT = "hybrid AVIC: delivery accelerated, the sender's x2APIC writes exit"

POLICIES = ("kernel", "partial-avic")

#: How an IPI aimed at a vCPU is delivered.  Codes are the indexes into this tuple.
IPI_PATHS = (
    "accelerated",          # AVIC: IRR set in the backing page + doorbell, no exit
    "target_not_running",   # IsRunning never set (enable_ipiv=0): AVIC_INCOMPLETE_IPI, KVM kicks
    "invalid_target",       # beyond max index / no entry: AVIC_INCOMPLETE_IPI, KVM emulates (v6.3+)
    "invalid_target_dropped",  # same exit before v6.3: KVM did not emulate it
    "emulated",             # AVIC off or inhibited for the VM: ICR write exits, KVM's APIC emulation
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


def _avic_param_text(r: Release, requested: str, enabled: bool, cpu: str) -> str:
    default = "on" if r.avic_default_on(cpu) else "off"
    if requested == "default":
        return f"kvm_amd avic left at {r.name}'s default on this CPU: {default} (avic={int(enabled)})"
    return f"kvm_amd avic={int(enabled)} assumed; this release's default: {default}"


def _kvm_max_vcpus_text(r: Release, kmax: int, given: bool) -> str:
    if given:
        return f"KVM_MAX_VCPUS {kmax} (given; {r.name}'s default is {r.kvm_max_vcpus})"
    extra = (f"; CONFIG_KVM_MAX_NR_VCPUS allows up to {r.kvm_max_vcpus_configurable_max}"
             if r.kvm_max_vcpus_configurable_max > r.kvm_max_vcpus else "")
    return f"KVM_MAX_VCPUS {kmax} ({r.name}'s default{extra})"


@dataclass(frozen=True, eq=False)
class VMReport:
    """Everything :func:`simulate` found out about one VM.  Arrays are per vCPU, in creation order."""

    kernel: Release
    cpu: str
    effective_cpu: str
    guest_apic: str
    #: The APIC mode the guest really runs (before v5.7 KVM hides x2APIC when AVIC is on).
    guest_apic_seen: str
    policy: str
    #: kvm_amd ``avic`` as asked ("on", "off", "default") and its effective value.
    avic_requested: str
    avic_enabled: bool
    enable_ipiv: bool
    kvm_max_vcpus: int
    #: True if ``kvm_max_vcpus`` is the release's default (not given by the caller).
    kvm_max_vcpus_default: bool
    max_vcpu_ids: int | None
    apic_ids: np.ndarray
    starts: bool
    error: str | None
    failing_vcpu: int | None  # index of the vCPU whose creation fails
    avic_active: bool
    hybrid: bool  # hybrid AVIC: delivery accelerated, the sender's x2APIC writes exit
    inhibit_reasons: tuple[str, ...]
    max_index: int | None  # None: AVIC off, no physical APIC ID table
    table_pages: int  # 0: AVIC off
    in_table: np.ndarray  # bool: the vCPU's APIC ID is <= max index (hardware-addressable)
    ipi_path: np.ndarray  # int8 codes into IPI_PATHS
    gatag_woken: np.ndarray  # vcpu_id a GA-log wakeup for this vCPU reaches (-1: none; -2: not posted)
    notes: tuple[str, ...]

    @property
    def vcpus(self) -> int:
        return int(self.apic_ids.size)

    @property
    def max_apic_id(self) -> int:
        return int(self.apic_ids.max())

    @property
    def avic_param(self) -> str:
        """The effective kvm_amd ``avic`` value: "on" or "off"."""
        return "on" if self.avic_enabled else "off"

    @property
    def avic_param_text(self) -> str:
        """e.g. "kvm_amd avic=1 assumed; this release's default: off"."""
        return _avic_param_text(self.kernel, self.avic_requested, self.avic_enabled, self.cpu)

    @property
    def kvm_max_vcpus_text(self) -> str:
        """The KVM_MAX_VCPUS assumption, e.g. "KVM_MAX_VCPUS 1024 (v6.19's default; ...)"."""
        return _kvm_max_vcpus_text(self.kernel, self.kvm_max_vcpus, not self.kvm_max_vcpus_default)

    @property
    def avic_status(self) -> str:
        """What AVIC does for this VM, in one phrase for readouts.

        >>> simulate(8, kernel="6.3", cpu="avic").avic_status
        "active (hybrid AVIC: delivery accelerated, the sender's x2APIC writes exit)"
        >>> simulate(8, kernel="6.3", avic="default").avic_status
        'off (kvm_amd avic=0)'
        """
        if not self.starts:
            return "not applicable: the VM does not start"
        if not self.avic_enabled:
            return "off (kvm_amd avic=0)"
        if not self.avic_active:
            return ("inhibited (" + ", ".join(self.inhibit_reasons)
                    + "): every vCPU uses KVM's emulated APIC")
        if self.hybrid:
            return f"active ({HYBRID_TEXT})"
        return "active"

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
        r = self.kernel
        return {
            "kernel": r.name,
            "modelled_as": r.mainline_name,
            "stable_backports": [b.describe() for b in r.backports],
            "cpu": self.cpu,
            "guest_apic": self.guest_apic,
            "guest_apic_seen": self.guest_apic_seen,
            "policy": self.policy,
            "avic_param": self.avic_param,
            "avic_requested": self.avic_requested,
            "avic_release_default": "on" if r.avic_default_on(self.cpu) else "off",
            "kvm_max_vcpus": self.kvm_max_vcpus,
            "kvm_max_vcpus_assumed": "release default" if self.kvm_max_vcpus_default else "given",
            "vcpus": self.vcpus,
            "max_apic_id": self.max_apic_id,
            "starts": self.starts,
            "error": self.error,
            "avic_active": self.avic_active,
            "hybrid_avic": self.hybrid,
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
             kvm_max_vcpus: object, avic: object) -> tuple[Release, str, str, int, int, str, bool]:
    """Validate the arguments simulate() and sweep() share; returns the release, the checked
    CPU kind and guest APIC mode, KVM_MAX_VCPUS, the vCPU-id limit, the avic setting asked for
    and whether AVIC is enabled."""
    r = release(kernel)
    cpu = check_cpu(cpu)
    guest_apic = check_guest_apic(guest_apic)
    if policy not in POLICIES:
        raise ValueError(f"policy={policy!r} is not a policy: valid values {', '.join(POLICIES)}")
    avic = check_avic(avic)
    kmax = r.check_kvm_max_vcpus(kvm_max_vcpus)
    return r, cpu, guest_apic, kmax, r.vcpu_id_limit(kmax), avic, r.avic_enabled(avic, cpu)


def simulate(vcpus: int | None = None, *, apic_ids: Sequence[int] | None = None,
             topology: Topology | str | None = None, kernel: object = None,
             cpu: str = "x2avic", guest_apic: str = "x2apic", policy: str = "kernel",
             avic: str = "on", enable_ipiv: bool = True, kvm_max_vcpus: int | None = None,
             max_vcpu_ids: int | None = None, running: Sequence[bool] | None = None) -> VMReport:
    """Start a VM on a release and a CPU, and report what AVIC does for it.

    ``avic`` is kvm_amd's parameter: "on" (default: the case the suite teaches), "off", or
    "default" (the release's own default on this CPU).  ``kvm_max_vcpus`` is KVM_MAX_VCPUS
    (default: the release's default, 1024 from v5.15; up to 4096 from v6.7);
    ``max_vcpu_ids`` the VM's KVM_CAP_MAX_VCPU_ID (default: KVM's).  ``enable_ipiv=False``
    (kvm_amd parameter, v6.17+) leaves IsRunning clear.  ``running`` says, per vCPU, whether
    it is on a pCPU right now (default: all running); an IPI to a vCPU that is not running
    sets its IRR and exits with AVIC_INCOMPLETE_IPI cause TARGET_NOT_RUNNING.

    >>> r = simulate(600, kernel="6.3"); r.starts, r.error
    (False, 'KVM_CREATE_VCPU fails with -EINVAL for vCPU #512 (vcpu_id 512): ids above 0x1FF do not fit the physical APIC ID table')
    >>> r = simulate(600, kernel="6.3", avic="off"); r.starts, r.avic_active, r.path_counts()["emulated"]
    (True, False, 600)
    >>> r = simulate(600, kernel="6.17"); r.starts, r.avic_active, r.inhibit_reasons
    (True, False, ('APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG',))
    >>> r = simulate(600, kernel="6.19", cpu="x2avic-ext"); r.avic_active, r.accelerated_vcpus, r.table_pages
    (True, 600, 8)
    >>> simulate(300, kernel="6.2").gatag_aliased_vcpus[:3]
    [256, 257, 258]
    """
    r, cpu, guest_apic, kmax, id_limit, avic, avic_on = _checked(
        kernel, cpu, guest_apic, policy, kvm_max_vcpus, avic)
    if not enable_ipiv and not r.enable_ipiv_param:
        raise ValueError(f"enable_ipiv=False: kvm_amd has no enable_ipiv parameter on {r.name} "
                         "(it exists from v6.17): valid value True")
    ids = _apic_ids(vcpus, apic_ids, topology)
    n = ids.size
    too_big_id = int(ids.max())
    if too_big_id >= id_limit:
        raise ValueError(
            f"apic_id={too_big_id} is beyond KVM's vCPU-ID limit on {r.name} with KVM_MAX_VCPUS "
            f"{kmax}: valid range 0..{id_limit - 1}"
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
    seen = r.guest_apic_seen(guest_apic, avic_on)
    notes: list[str] = [_avic_param_text(r, avic, avic_on, cpu),
                        _kvm_max_vcpus_text(r, kmax, kvm_max_vcpus is not None)]
    for b in r.backports:
        notes.append(f"stable backport to this series: {b.describe()}; "
                     + ("modelled" if b.applies_to(r) else
                        f"NOT modelled ({b.unverified})" if b.unverified else "NOT modelled"))
    if r.patch is not None and not r.applied_backports:
        notes.append(f"{r.name} is modelled as mainline {r.mainline_name}")
    if eff != cpu and avic_on:
        notes.append(f"{r.name} cannot use the CPU's {cpu} capability; it runs as {eff}")
    if avic_on:
        mi: int | None = max_index(r, eff, seen, max_vcpu_ids)
        pages = table_pages(r, eff, max_vcpu_ids)
    else:
        mi, pages = None, 0
    cpu_max = r.cpu_max_id(eff)

    # ---- does the VM start? -------------------------------------------------------------
    error: str | None = None
    failing: int | None = None
    if n > kmax:
        failing = kmax
        error = f"KVM_CREATE_VCPU fails with -EINVAL for vCPU #{kmax}: KVM_MAX_VCPUS is {kmax}"
    eff_max_ids = max_vcpu_ids if max_vcpu_ids is not None else id_limit
    over_cap = np.flatnonzero(ids >= eff_max_ids)
    if over_cap.size and (failing is None or over_cap[0] < failing):
        failing = int(over_cap[0])
        error = (f"KVM_CREATE_VCPU fails with -EINVAL for vCPU #{failing} (vcpu_id {int(ids[failing])}): "
                 f"the VM's max_vcpu_ids is {eff_max_ids}")
    over = np.flatnonzero(ids > cpu_max)
    if avic_on and policy == "kernel" and r.past_limit == "einval" and over.size:
        i = int(over[0])
        if failing is None or i < failing:
            failing = i
            error = (f"KVM_CREATE_VCPU fails with -EINVAL for vCPU #{i} (vcpu_id {int(ids[i])}): "
                     f"ids above 0x{cpu_max:X} do not fit the physical APIC ID table")
    starts = error is None

    # ---- inhibits (only a VM that starts with AVIC enabled has any) -------------------------
    inhibits: list[str] = []
    hybrid = avic_on and starts and r.hybrid_avic(cpu, seen)
    if avic_on and starts:
        if seen != guest_apic:
            notes.append(f"{r.name}: with AVIC enabled KVM hides x2APIC from the guest's CPUID, so the "
                         "guest runs in xAPIC mode and AVIC stays active (x2APIC guests are inhibited "
                         "from v5.7 instead)")
        if seen == "x2apic" and eff == "avic" and not hybrid:
            inhibits.append(X2APIC_INHIBIT)
            notes.append(f"{r.name} has no x2AVIC support: an x2APIC guest runs with AVIC inhibited")
        if hybrid:
            notes.append(f"no x2AVIC on this CPU: KVM runs the x2APIC guest in {HYBRID_TEXT} "
                         "(KVM emulates the x2APIC MSR accesses; hybrid mode's finer details are "
                         "UNVERIFIED here)")
        if policy == "kernel" and r.past_limit == "inhibit" and over.size:
            inhibits.append(TOO_BIG_INHIBIT)
        if r.avic_needs_split_irqchip:
            notes.append("before v5.6 AVIC also needs kernel_irqchip=split (assumed set here)")
    avic_active = starts and avic_on and not inhibits

    # ---- per-vCPU IPI paths --------------------------------------------------------------
    in_table = ids <= mi if mi is not None else np.zeros(n, dtype=bool)
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
    if seen == "xapic" and int(ids.max()) > 0xFE:
        notes.append("an xAPIC guest addresses APIC IDs 0..254 only (0xFF is broadcast); "
                     "KVM's further handling of larger ids in xAPIC mode is not modelled")
    if not enable_ipiv:
        notes.append("enable_ipiv=0: IsRunning is never set, so every non-self IPI exits; "
                     "the receiving side stays accelerated")

    # ---- device interrupts: posted (GA-mode IRTE, GATag) only while AVIC is active ----------
    woken = np.full(n, -2, dtype=np.int64)  # -2: not posted (legacy remapping)
    if starts and not avic_on:
        notes.append("AVIC off: every IPI and device interrupt is emulated; no physical APIC ID "
                     "table, no GA-mode IRTE, no GATag")
    elif starts and not avic_active:
        notes.append("AVIC inhibited: the VM's device interrupts are not posted (legacy "
                     "remapping), so its GATags are never used")
    elif avic_active and not r.per_vm_id:
        notes.append(f"{r.name} predates per-VM AVIC IDs: no GATag, no GA log, no IOMMU posting; "
                     "device interrupts use legacy remapping")
    elif avic_active:
        posted = in_table
        a = aliases(np.asarray(ids, dtype=np.int64), r)
        woken = np.where(posted, a.woken, -2)
    if policy == "partial-avic":
        notes.append("WHAT-IF policy from the Feb 2023 LKML thread, never merged")
    return VMReport(
        kernel=r, cpu=cpu, effective_cpu=eff, guest_apic=guest_apic, guest_apic_seen=seen,
        policy=policy, avic_requested=avic, avic_enabled=avic_on, enable_ipiv=bool(enable_ipiv),
        kvm_max_vcpus=kmax, kvm_max_vcpus_default=kvm_max_vcpus is None, max_vcpu_ids=max_vcpu_ids,
        apic_ids=ids, starts=starts, error=error, failing_vcpu=failing,
        avic_active=avic_active, hybrid=bool(hybrid), inhibit_reasons=tuple(inhibits), max_index=mi,
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
    avic_requested: str = "on"
    avic_enabled: bool = True
    kvm_max_vcpus: int = 0
    kvm_max_vcpus_default: bool = True

    @property
    def hybrid(self) -> bool:
        """Hybrid AVIC (every send exits; delivery accelerated), from :meth:`Release.hybrid_avic`."""
        seen = self.kernel.guest_apic_seen(self.guest_apic, self.avic_enabled)
        return self.avic_enabled and self.kernel.hybrid_avic(self.cpu, seen)

    @property
    def avic_param_text(self) -> str:
        return _avic_param_text(self.kernel, self.avic_requested, self.avic_enabled, self.cpu)

    @property
    def kvm_max_vcpus_text(self) -> str:
        return _kvm_max_vcpus_text(self.kernel, self.kvm_max_vcpus, not self.kvm_max_vcpus_default)

    @property
    def accelerated_fraction(self) -> np.ndarray:
        """Share of IPIs (uniform random targets) that need no VM exit; 0 where the VM fails."""
        return self.accelerated / self.counts


def sweep(kernel: object = None, cpu: str = "x2avic", guest_apic: str = "x2apic",
          max_vcpus: int | None = None, policy: str = "kernel", kvm_max_vcpus: int | None = None,
          avic: str = "on") -> Sweep:
    """:func:`simulate` for every count 1..``max_vcpus`` at once (dense APIC IDs), vectorised.

    ``max_vcpus`` defaults to the release's vCPU-ID limit, at most 4096, so the defaults work
    on every release; ``kvm_max_vcpus`` and ``avic`` as for :func:`simulate`.

    >>> s = sweep("6.3"); int(s.accelerated[511]), bool(s.starts[512]), s.counts.size
    (512, False, 4096)
    >>> s = sweep("6.3", policy="partial-avic"); int(s.accelerated[999]), bool(s.avic_active[999])
    (512, True)
    >>> s = sweep("4.7"); s.counts.size, bool(s.starts[254]), bool(s.starts[255])
    (1023, True, False)
    """
    r, cpu, guest_apic, kmax, id_limit, avic, avic_on = _checked(
        kernel, cpu, guest_apic, policy, kvm_max_vcpus, avic)
    if max_vcpus is None:
        max_vcpus = min(4096, id_limit)
    max_vcpus = check_int("max_vcpus", max_vcpus, 1, id_limit)
    eff = r.effective_cpu(cpu)
    seen = r.guest_apic_seen(guest_apic, avic_on)
    cpu_max = r.cpu_max_id(eff)
    counts = np.arange(1, max_vcpus + 1, dtype=np.int64)
    top = counts - 1  # largest APIC ID
    starts = counts <= kmax
    if not avic_on:
        z = np.zeros_like(counts)
        return Sweep(r, cpu, guest_apic, policy, counts, starts, np.zeros_like(starts), z,
                     avic, False, kmax, kvm_max_vcpus is None)
    mi = max_index(r, eff, seen)
    if policy == "kernel" and r.past_limit == "einval":
        starts &= top <= cpu_max
    inhibited = np.zeros_like(starts)
    hybrid = r.hybrid_avic(cpu, seen)
    if seen == "x2apic" and eff == "avic" and not hybrid:
        inhibited |= True
    if policy == "kernel" and r.past_limit == "inhibit":
        inhibited |= top > cpu_max
    active = starts & ~inhibited
    accel = np.where(active, np.minimum(counts, mi + 1), 0)
    if hybrid:  # every send exits; nothing is accelerated end to end
        accel = np.zeros_like(accel)
    return Sweep(r, cpu, guest_apic, policy, counts, starts, active, accel,
                 avic, True, kmax, kvm_max_vcpus is None)
