"""What an IPI costs, from ASSUMED per-path costs: the model behind the past-512 cost charts.

No AVIC latency has been published.  The defaults borrow the only published numbers, Intel's
IPIv cover letter (Zeng Guang, Mar 2022, kvm-unit-tests vmexit/ipi, x2APIC: 4338 cycles per
IPI with a VM exit, 3645 with IPI virtualization); they are labelled assumptions, not AVIC
measurements, and every function takes its own.
"""

from __future__ import annotations

import lazy_loader

np = lazy_loader.load("numpy")  # imported on first use: keeps `import avicviz` fast

from .vm import Sweep, VMReport

__all__ = ["ASSUMED_COSTS", "COST_SOURCE", "PATH_COST", "expected_cost", "report_cost"]

#: Default ASSUMED costs in CPU cycles per IPI (see the module docstring for their source).
ASSUMED_COSTS = {"accelerated": 3645, "incomplete_ipi": 4338, "emulated": 4338}
COST_SOURCE = ("ASSUMED costs; the only published numbers are Intel IPIv's "
               "(x2APIC 4338 -> 3645 cycles/IPI), not AVIC measurements")

#: Which assumed cost each IPI path of :data:`avicviz.vm.IPI_PATHS` pays.
PATH_COST = {"accelerated": "accelerated", "target_not_running": "incomplete_ipi",
             "invalid_target": "incomplete_ipi", "invalid_target_dropped": "incomplete_ipi",
             "emulated": "emulated", "send_exits": "emulated"}


def expected_cost(s: Sweep, accelerated: float = ASSUMED_COSTS["accelerated"],
                  incomplete_ipi: float = ASSUMED_COSTS["incomplete_ipi"],
                  emulated: float = ASSUMED_COSTS["emulated"], max_vcpus: int = 4096) -> np.ndarray:
    """Expected cycles per IPI to a uniformly random vCPU, for counts 1..max_vcpus (NaN: no VM).

    AVIC active: accelerated targets cost ``accelerated``, the rest (beyond the max index) take
    an AVIC_INCOMPLETE_IPI exit (``incomplete_ipi``).  AVIC off or inhibited, and hybrid AVIC
    where the sender's x2APIC write exits: ``emulated``.  All three are ASSUMED numbers.

    >>> from avicviz.vm import sweep
    >>> c = expected_cost(sweep("6.17"), 1000, 5000, 8000); float(c[511]), float(c[599])
    (1000.0, 8000.0)
    >>> c = expected_cost(sweep("6.3", policy="partial-avic"), 1000, 5000, 8000); round(float(c[1023]))
    3000
    """
    out = np.full(max_vcpus, np.nan)
    m = min(max_vcpus, s.counts.size)
    n = s.counts[:m].astype(float)
    acc = s.accelerated[:m].astype(float)
    active = s.avic_active[:m]
    if s.hybrid:
        on = np.full(m, float(emulated))
    else:
        on = (acc * accelerated + (n - acc) * incomplete_ipi) / n
    cost = np.where(active, on, float(emulated))
    out[:m] = np.where(s.starts[:m], cost, np.nan)
    return out


def report_cost(report: VMReport, accelerated: float = ASSUMED_COSTS["accelerated"],
                incomplete_ipi: float = ASSUMED_COSTS["incomplete_ipi"],
                emulated: float = ASSUMED_COSTS["emulated"]) -> float:
    """Expected cycles per IPI for one simulated VM, from its per-vCPU paths (NaN: no VM).

    >>> from avicviz.vm import simulate
    >>> report_cost(simulate(600, kernel="6.3", policy="partial-avic"), 1000, 5000, 8000) == (512 * 1000 + 88 * 5000) / 600
    True
    """
    if not report.starts:
        return float("nan")
    cost = {"accelerated": accelerated, "incomplete_ipi": incomplete_ipi, "emulated": emulated}
    counts = report.path_counts()
    total = sum(counts[p] * cost[PATH_COST[p]] for p in PATH_COST)
    return float(total / report.vcpus)
