"""Charts of a trace summary (:class:`avicviz.trace.TraceSummary`): pure ``(summary, ax) -> artists``."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from ._style import PALETTE
from ..trace import TraceSummary

__all__ = ["ipi_rate", "vcpu_picture", "inhibit_timeline"]

_CAUSE_COLOURS = [PALETTE[k] for k in ("vermillion", "orange", "blue", "purple", "green")]


def ipi_rate(s: TraceSummary, ax: Axes) -> list:
    """Incomplete-IPI exits per second, stacked by cause (the kernel's cause names)."""
    secs, by_cause = s.ipi_rate()
    bottom = np.zeros(len(secs))
    artists = []
    for i, (name, counts) in enumerate(by_cause.items()):
        c = np.asarray(counts, dtype=float)
        artists.append(ax.bar(secs, c, bottom=bottom, width=0.9, align="edge",
                              color=_CAUSE_COLOURS[i % len(_CAUSE_COLOURS)], label=name.removeprefix("AVIC_IPI_FAILURE_")))
        bottom += c
    ax.set_xlabel("seconds since the first AVIC event")
    ax.set_ylabel("AVIC_INCOMPLETE_IPI exits per second")
    ax.set_title("Incomplete-IPI exits per second, by cause")
    if by_cause:
        ax.legend(title="cause", loc="lower left", fontsize="small", framealpha=0.9)
    else:
        ax.text(0.5, 0.5, "no incomplete-IPI exits in this trace", ha="center", va="center", transform=ax.transAxes)
    return artists


def vcpu_picture(s: TraceSummary, ax: Axes) -> list:
    """Per vCPU: incomplete IPIs it sent, its unaccelerated APIC accesses, GA-log wakeups aimed at it."""
    rows = s.vcpu_rows()
    v = np.array([r["vcpu"] for r in rows])
    sent = np.array([sum(n for (vc, _), n in s.ipi_by_vcpu.items() if vc == r["vcpu"]) for r in rows])
    unacc = np.array([r["unaccelerated_access"] for r in rows])
    ga = np.array([r["ga_log_wakeups"] for r in rows])
    w = 0.27
    arts = [ax.bar(v - w, sent, w, color=PALETTE["vermillion"], label="incomplete IPIs sent"),
            ax.bar(v, unacc, w, color=PALETTE["blue"], label="unaccelerated APIC accesses"),
            ax.bar(v + w, ga, w, color=PALETTE["green"], label="GA-log wakeups (device interrupts)")]
    ax.set_xlabel("vCPU (the tracepoints' vcpu / vcpuid field)")
    ax.set_ylabel("events in the trace")
    ax.set_title("Per-vCPU picture")
    if len(v):
        ax.set_xticks(v)
    ax.legend(loc="lower left", fontsize="small", framealpha=0.9)
    return arts


def inhibit_timeline(s: TraceSummary, ax: Axes) -> list:
    """One row per inhibit reason seen: a bar while the reason is set."""
    t0 = s.first_time or 0.0
    end = (s.last_time or t0) - t0
    reasons = sorted({c.reason for c in s.inhibit_changes})
    names = {c.reason: c.name for c in s.inhibit_changes}
    arts = []
    for row, bit in enumerate(reasons):
        spans, since = [], None
        for c in s.inhibit_changes:
            if c.reason != bit:
                continue
            if c.set and since is None:
                since = c.time - t0
            elif not c.set and since is not None:
                spans.append((since, max(c.time - t0 - since, end * 0.002)))
                since = None
        if since is not None:
            spans.append((since, max(end - since, end * 0.002)))
        arts.append(ax.broken_barh(spans, (row - 0.35, 0.7), color=PALETTE["vermillion"]))
    ax.set_yticks(range(len(reasons)), [names[b].removeprefix("APICV_INHIBIT_REASON_") + f" (bit {b})" for b in reasons])
    ax.set_xlim(0, max(end, 1e-6))
    ax.set_ylim(-0.6, max(len(reasons), 1) - 0.4)
    ax.set_xlabel("seconds since the first AVIC event")
    ax.set_title("APICv/AVIC inhibit reasons over time (bar: reason set, AVIC off for the VM)")
    if not reasons:
        ax.text(0.5, 0.5, "no inhibit changes in this trace", ha="center", va="center", transform=ax.transAxes)
    return arts
