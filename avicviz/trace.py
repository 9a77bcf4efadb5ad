"""Read a recorded KVM trace and summarise its AVIC events, streaming.

Input: the text that ``trace-cmd report``, ``perf script`` or tracefs' ``trace`` file print.
Each of these writes one event per line as ``<task-pid> [cpu] <flags> <seconds>: [kvm:]<event>:
<fields>``; the parser finds the event name, the timestamp before it and the fields after it,
and skips (and counts) every other line.  Memory stays flat in the file's size: the file is read
in 1 MiB blocks and only per-cause, per-vCPU and per-second counters are kept (plus the first
:data:`MAX_TIMELINE` inhibit changes); the per-second counters grow with the seconds the trace
spans, not with its lines.

The field formats are the kernel's ``TP_printk`` strings in ``arch/x86/kvm/trace.h``:

=============================== ================================================ =======================
event                           TP_printk                                        releases
=============================== ================================================ =======================
kvm_avic_incomplete_ipi         ``vcpu=%u, icrh:icrl=%#010x:%08x, id=%u,         AVIC (4.7?) .. v6.19;
                                index=%u``                                       a trailing ``\\n``
                                                                                 before about v5.4
kvm_avic_unaccelerated_access   ``vcpu=%u, offset=%#x(%s), %s, %s, vec=%#x``     same
                                (register name, trap/fault, write/read)
kvm_avic_ga_log                 ``vmid=%u, vcpuid=%u``                           per-VM IDs (4.8/4.9,
                                                                                 not pinned) .. v6.19
kvm_avic_kick_vcpu_slowpath     ``icrh:icrl=%#08x:%08x, index=%u``               about v5.19 .. v6.19
kvm_avic_doorbell               ``vcpuid=%u, apicid=%u``                         about v5.19 .. v6.19
kvm_apicv_update_request        ``%s bit=%lu`` (activate/deactivate); later      v5.6 .. about v5.18
                                ``%s reason=%u``
kvm_apicv_inhibit_changed       ``%s reason=%u, inhibits=0x%lx`` (set/cleared);  about v5.19 .. v6.19
                                a 2024 patch appends the set reasons by name
                                (release not pinned)
=============================== ================================================ =======================

Releases marked "about" or "not pinned" were read from the patches, not pinned to a tag
(UNVERIFIED); so is AVIC's first release (4.7?).  Before about v5.4 each AVIC event ended in an extra newline, so the report has blank lines between events:
they are skipped.  ``kvm_avic_ga_log``'s ``vcpuid`` holds the vcpu_id up to v6.16 and the
vcpu_idx (creation order) from v6.17.  tracefs prints ``%#x`` of 0 as ``0x0``, trace-cmd and
perf (libtraceevent) as ``0``; both are read.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from types import MappingProxyType
from typing import Iterable, Mapping

from ._resources import resource_path
from .releases import Release, release

__all__ = [
    "TraceSummary",
    "InhibitChange",
    "summarize",
    "summarize_file",
    "format_summary",
    "ipi_cause_name",
    "inhibit_reason_names",
    "EVENTS",
    "IPI_CAUSES",
    "MAX_TIMELINE",
    "SAMPLE_TRACE",
]

#: The generated (not recorded) sample trace: data/sample_avic_trace.txt, shipped in avicviz.data.
SAMPLE_TRACE = resource_path("data", "sample_avic_trace.txt")

#: The tracepoints read, in the order the summary lists them.
EVENTS = (
    "kvm_avic_incomplete_ipi",
    "kvm_avic_unaccelerated_access",
    "kvm_avic_ga_log",
    "kvm_avic_kick_vcpu_slowpath",
    "kvm_avic_doorbell",
    "kvm_apicv_inhibit_changed",
    "kvm_apicv_update_request",
)

#: Inhibit changes kept for the timeline; later ones are only counted.
MAX_TIMELINE = 10_000
_BLOCK = 1 << 20

#: AVIC_INCOMPLETE_IPI causes (EXITINFO2[63:32], the tracepoint's ``id``), enum
#: avic_ipi_failure_cause: (name, what the hardware found, first release that defines it).
IPI_CAUSES = {
    0: ("AVIC_IPI_FAILURE_INVALID_INT_TYPE", "not a fixed, edge-triggered interrupt (NMI, INIT, SIPI, "
        "level...): AVIC does not deliver it"),
    1: ("AVIC_IPI_FAILURE_TARGET_NOT_RUNNING", "a target's IsRunning bit is 0 (halted or preempted vCPU, "
        "or enable_ipiv=0): IRR was set, KVM must wake or kick it"),
    2: ("AVIC_IPI_FAILURE_INVALID_TARGET", "the destination is beyond the table's max index or its entry "
        "is not valid"),
    3: ("AVIC_IPI_FAILURE_INVALID_BACKING_PAGE", "a target's backing-page address is invalid"),
    4: ("AVIC_IPI_FAILURE_INVALID_IPI_VECTOR", "the vector is invalid (0..15)"),
}


def ipi_cause_name(cause: int, kernel: object = None) -> str:
    """The kernel's name for an incomplete-IPI cause on ``kernel``.

    >>> ipi_cause_name(1), ipi_cause_name(4, "6.6"), ipi_cause_name(4, "6.5")
    ('AVIC_IPI_FAILURE_TARGET_NOT_RUNNING', 'AVIC_IPI_FAILURE_INVALID_IPI_VECTOR', 'unknown cause 4 (not defined on v6.5)')
    """
    r = release(kernel)
    if cause == 4 and not r.invalid_ipi_vector_cause:
        return f"unknown cause 4 (not defined on {r.name})"
    if cause not in IPI_CAUSES:
        return f"unknown cause {cause}"
    return IPI_CAUSES[cause][0]


def ipi_cause_action(cause: int, kernel: object = None) -> str:
    """What KVM does with an incomplete-IPI exit of this cause on ``kernel``."""
    r = release(kernel)
    if cause == 0:
        return "KVM emulates the ICR write (the IPI is sent the slow way)"
    if cause == 1:
        return "KVM wakes or kicks the target vCPUs (normal when targets are halted; with IPI "\
               "virtualization on, frequent ones mean vCPUs are often not running)"
    if cause == 2:
        return ("KVM emulates the IPI (since v6.3)" if r.invalid_target == "emulated" else
                f"KVM does not deliver it on {r.name} (emulation arrived in v6.3; stable backport 5aede752a839)")
    if cause == 3:
        return "KVM warns: a KVM bug or a corrupted table, not a guest problem"
    if cause == 4 and r.invalid_ipi_vector_cause:
        return "KVM ignores it (the guest used a reserved vector)"
    return f"{r.name} does not know this cause: it logs an error"


# ---- APICv inhibit reasons, by bit number, per range of releases ----------------------------------

_P = "APICV_INHIBIT_REASON_"
_INHIBITS_5_6 = {0: "DISABLE", 1: "HYPERV", 2: "NESTED", 3: "IRQWIN", 4: "PIT_REINJ", 5: "X2APIC",
                 6: "BLOCKIRQ", 7: "ABSENT", 8: "SEV"}
_INHIBITS_5_19 = {0: "DISABLE", 1: "HYPERV", 2: "ABSENT", 3: "BLOCKIRQ", 4: "APIC_ID_MODIFIED",
                  5: "APIC_BASE_MODIFIED", 6: "NESTED", 7: "IRQWIN", 8: "PIT_REINJ", 9: "SEV"}
_INHIBITS_6_3 = {0: "DISABLED", 1: "HYPERV", 2: "ABSENT", 3: "BLOCKIRQ", 4: "PHYSICAL_ID_ALIASED",
                 5: "APIC_ID_MODIFIED", 6: "APIC_BASE_MODIFIED", 7: "NESTED", 8: "IRQWIN",
                 9: "PIT_REINJ", 10: "SEV", 11: "LOGICAL_ID_ALIASED"}
_INHIBITS_6_17 = {**_INHIBITS_6_3, 12: "PHYSICAL_ID_TOO_BIG"}


def inhibit_reason_names(kernel: object = None) -> tuple[dict[int, str], str]:
    """The inhibit-reason names by bit number on ``kernel``, and how sure that table is.

    >>> names, note = inhibit_reason_names("6.17"); names[12]
    'APICV_INHIBIT_REASON_PHYSICAL_ID_TOO_BIG'
    >>> inhibit_reason_names("5.10")[0][5]
    'APICV_INHIBIT_REASON_X2APIC'
    """
    r = release(kernel)
    v = r.version
    if v < (5, 6):
        return {}, f"{r.name} has no APICv inhibit tracepoint (dynamic inhibits arrived in v5.6)"
    if v < (5, 19):
        return ({k: _P + n for k, n in _INHIBITS_5_6.items()},
                "bits 0..7 as #defined in kvm_host.h (X2APIC from 5.7; BLOCKIRQ, ABSENT and SEV "
                "added later, releases not pinned); SEV = 8 from the 2022 enum conversion")
    if v < (6, 3):
        return ({k: _P + n for k, n in _INHIBITS_5_19.items()},
                "UNVERIFIED: the order between the 2022 regrouping and v6.3 is not pinned to a tag "
                "(6.2-rc also had an X2APIC inhibit); trust names the trace prints over this table")
    table = _INHIBITS_6_17 if v >= (6, 17) else _INHIBITS_6_3
    return ({k: _P + n for k, n in table.items()},
            "kvm_host.h enum kvm_apicv_inhibit (bit 0 was named DISABLE before a rename to DISABLED, "
            "release not pinned)" + ("; PHYSICAL_ID_TOO_BIG since v6.17" if v >= (6, 17) else ""))


# ---- the summary -------------------------------------------------------------------------------

@dataclass(frozen=True)
class InhibitChange:
    """One ``kvm_apicv_inhibit_changed`` (or older ``kvm_apicv_update_request``) event."""

    time: float
    set: bool                  # True: the reason was set (APICv/AVIC inhibited by it)
    reason: int                # bit number
    name: str                  # the kernel's name on the chosen release (or as printed)
    inhibits: int | None       # all reasons set after the change (None: old tracepoint)
    line: int


@dataclass(frozen=True)
class TraceSummary:
    """What :func:`summarize` found.  Counters are read-only mappings."""

    source: str
    kernel: Release
    format: str
    lines: int
    event_lines: int
    comment_lines: int
    blank_lines: int
    other_lines: int
    malformed_lines: int
    malformed_examples: tuple[tuple[int, str], ...]
    first_time: float | None
    last_time: float | None
    events: Mapping[str, int]
    ipi_causes: Mapping[int, int]
    ipi_by_vcpu: Mapping[tuple[int, int], int]       # (sending vcpu, cause) -> count
    ipi_per_second: Mapping[tuple[int, int], int]    # (second since first event, cause) -> count
    ipi_index: Mapping[int, int]                     # target table index -> count
    unaccelerated: Mapping[tuple[int, str, str, str], int]  # (offset, register, trap/fault, read/write)
    unaccelerated_by_vcpu: Mapping[int, int]
    ga_log: Mapping[tuple[int, int], int]            # (vmid, vcpuid) -> wakeups
    kicks: Mapping[int, int]                         # slow-path kicks by table index
    doorbells: Mapping[tuple[int, int], int]         # (vcpuid, host apicid) -> count
    inhibit_changes: tuple[InhibitChange, ...]
    inhibit_changes_dropped: int
    inhibit_names_note: str
    exits_per_second: Mapping[tuple[int, str], int]  # (second, event) -> count
    warnings: tuple[str, ...] = ()

    @property
    def duration(self) -> float:
        """Seconds between the first and the last AVIC event (0 with fewer than two)."""
        if self.first_time is None or self.last_time is None:
            return 0.0
        return self.last_time - self.first_time

    @property
    def has_avic_events(self) -> bool:
        return self.event_lines > 0

    def cause_name(self, cause: int) -> str:
        return ipi_cause_name(cause, self.kernel)

    def inhibits_at_end(self) -> tuple[str, ...]:
        """Reasons still set after the last recorded change (from its ``inhibits`` mask)."""
        if not self.inhibit_changes:
            return ()
        last = self.inhibit_changes[-1]
        names, _ = inhibit_reason_names(self.kernel)
        if last.inhibits is None:  # old tracepoint: replay the changes
            state: set[int] = set()
            for c in self.inhibit_changes:
                (state.add if c.set else state.discard)(c.reason)
            return tuple(names.get(b, f"bit {b}") for b in sorted(state))
        return tuple(names.get(b, f"bit {b}") for b in range(64) if last.inhibits >> b & 1)

    # -- tables for pandas ------------------------------------------------------------------
    def ipi_cause_rows(self) -> list[dict]:
        """One row per incomplete-IPI cause seen: id, kernel name, count, share, what KVM does."""
        total = sum(self.ipi_causes.values()) or 1
        return [{"id": c, "cause": self.cause_name(c), "exits": n, "share": n / total,
                 "per_second": n / self.duration if self.duration >= 1 else None,
                 "kvm_action": ipi_cause_action(c, self.kernel)}
                for c, n in sorted(self.ipi_causes.items(), key=lambda kv: -kv[1])]

    def unaccelerated_rows(self) -> list[dict]:
        """One row per (register, trap/fault, read/write)."""
        return [{"offset": f"0x{off:03X}", "register": reg, "kind": ft, "access": rw, "exits": n}
                for (off, reg, ft, rw), n in sorted(self.unaccelerated.items(), key=lambda kv: -kv[1])]

    def vcpu_rows(self) -> list[dict]:
        """One row per vCPU: incomplete IPIs it sent (by cause), its unaccelerated accesses,
        GA-log wakeups and doorbells aimed at it (all VMs together)."""
        vcpus: set[int] = {v for v, _ in self.ipi_by_vcpu} | set(self.unaccelerated_by_vcpu) \
            | {v for _, v in self.ga_log} | {v for v, _ in self.doorbells}
        rows = []
        for v in sorted(vcpus):
            row = {"vcpu": v}
            for c in sorted({c for _, c in self.ipi_by_vcpu}):
                row[self.cause_name(c)] = self.ipi_by_vcpu.get((v, c), 0)
            row["unaccelerated_access"] = self.unaccelerated_by_vcpu.get(v, 0)
            row["ga_log_wakeups"] = sum(n for (_, vc), n in self.ga_log.items() if vc == v)
            row["doorbells"] = sum(n for (vc, _), n in self.doorbells.items() if vc == v)
            rows.append(row)
        return rows

    def inhibit_rows(self) -> list[dict]:
        """The inhibit timeline: time since the first event, set/cleared, reason."""
        t0 = self.first_time or 0.0
        return [{"time_s": c.time - t0, "change": "set" if c.set else "cleared", "bit": c.reason,
                 "reason": c.name, "inhibits": None if c.inhibits is None else f"0x{c.inhibits:X}"}
                for c in self.inhibit_changes]

    def ipi_rate(self) -> tuple[list[int], dict[str, list[int]]]:
        """Incomplete-IPI exits per second, by cause: (seconds, {cause name: counts})."""
        if not self.ipi_per_second:
            return [], {}
        last = max(s for s, _ in self.ipi_per_second)
        secs = list(range(last + 1))
        out = {}
        for c in sorted({c for _, c in self.ipi_per_second}):
            out[self.cause_name(c)] = [self.ipi_per_second.get((s, c), 0) for s in secs]
        return secs, out

    def as_dict(self) -> dict:
        """The CLI's JSON form."""
        return {
            "source": self.source,
            "format": self.format,
            "kernel": self.kernel.name,
            "lines": self.lines,
            "event_lines": self.event_lines,
            "other_lines": self.other_lines,
            "comment_lines": self.comment_lines,
            "blank_lines": self.blank_lines,
            "malformed_lines": self.malformed_lines,
            "malformed_examples": [{"line": n, "text": t} for n, t in self.malformed_examples],
            "first_time": self.first_time,
            "last_time": self.last_time,
            "duration_s": self.duration,
            "events": dict(self.events),
            "incomplete_ipi": self.ipi_cause_rows(),
            "unaccelerated_access": self.unaccelerated_rows(),
            "ga_log": [{"vmid": vm, "vcpuid": v, "wakeups": n} for (vm, v), n in sorted(self.ga_log.items())],
            "ga_log_vcpu_field": self.kernel.gatag_vcpu_field,
            "kick_vcpu_slowpath": sum(self.kicks.values()),
            "doorbells": [{"vcpuid": v, "host_apic_id": a, "count": n} for (v, a), n in sorted(self.doorbells.items())],
            "inhibit_changes": self.inhibit_rows(),
            "inhibit_changes_dropped": self.inhibit_changes_dropped,
            "inhibits_at_end": list(self.inhibits_at_end()),
            "inhibit_names_note": self.inhibit_names_note,
            "per_vcpu": self.vcpu_rows(),
            "warnings": list(self.warnings),
        }


# ---- parsing -----------------------------------------------------------------------------------

_EVA = re.compile(r"kvm_avic_(incomplete_ipi|unaccelerated_access|ga_log|kick_vcpu_slowpath|doorbell): *([^\n]*)")
_FIRST = itemgetter(0)
_IPI_ID = re.compile(r"kvm_avic_incomplete_ipi: *vcpu=\d+, icrh:icrl=[0-9a-fA-Fx]+:[0-9a-fA-F]+, id=(\d+)")
_EVI = re.compile(r"(kvm_apicv_inhibit_changed|kvm_apicv_update_request): *([^\n]*)")
_TS = re.compile(r"(\d+)\.(\d+):[ \t]*(kvm:)?[ \t]*$")
_HEX = r"(?:0x)?([0-9a-fA-F]+)"
_BODY = {
    "kvm_avic_incomplete_ipi": re.compile(
        rf"vcpu=(\d+), icrh:icrl={_HEX}:([0-9a-fA-F]+), id=(\d+), index=(\d+)\s*"),
    "kvm_avic_unaccelerated_access": re.compile(
        rf"vcpu=(\d+), offset={_HEX}\(([^)]*)\), (trap|fault), (read|write), vec={_HEX}\s*"),
    "kvm_avic_ga_log": re.compile(r"vmid=(\d+), vcpuid=(\d+)\s*"),
    "kvm_avic_kick_vcpu_slowpath": re.compile(rf"icrh:icrl={_HEX}:([0-9a-fA-F]+), index=(\d+)\s*"),
    "kvm_avic_doorbell": re.compile(r"vcpuid=(\d+), apicid=(\d+)\s*"),
    "kvm_apicv_inhibit_changed": re.compile(r"(set|cleared) reason=(\d+), inhibits=0x([0-9a-fA-F]+)(?: (\S+))?\s*"),
    "kvm_apicv_update_request": re.compile(r"(activate|deactivate) (?:bit|reason)=(\d+)\s*"),
}
_MENTIONS = ("kvm_avic_", "kvm_apicv_inhibit_changed", "kvm_apicv_update_request")


class _Acc:
    """Mutable counters while reading; frozen into a TraceSummary at the end."""

    def __init__(self) -> None:
        self.events = dict.fromkeys(EVENTS, 0)
        self.ipi_causes: dict = {}
        self.ipi_by_vcpu: dict = {}
        self.ipi_per_second: dict = {}
        self.ipi_index: dict = {}
        self.unacc: dict = {}
        self.unacc_vcpu: dict = {}
        self.ga_log: dict = {}
        self.kicks: dict = {}
        self.doorbells: dict = {}
        self.inhibits: list = []
        self.inhibits_dropped = 0
        self.per_second: dict = {}
        self.malformed = 0
        self.malformed_examples: list = []
        self.first: float | None = None
        self.last: float | None = None
        self.perf = 0
        self.lines = 0
        self.comments = 0
        self.blanks = 0
        self.parsed = 0
        self.header = ""
        self.cache: dict = {}


def _lineno(block: str, line0: int, pos: int) -> int:
    return line0 + block.count("\n", 0, pos) + 1


def _ts_after(block: str, pos: int):
    """The timestamp match of the first AVIC event at or after ``pos`` (None if there is none)."""
    m = _EVA.search(block, pos)
    while m is not None:
        t = _TS.search(block, max(m.start() - 48, 0), m.start())
        if t is not None:
            return m.start(), t
        m = _EVA.search(block, m.end())
    return None


def _second_spans(block: str) -> list[tuple[int, int, str, object]]:
    """Split a block into spans within which every AVIC event has the same whole second.

    Trace tools print events in time order, so the boundaries are found by bisection over line
    starts: a handful of searches per second of trace, not one per line.
    Returns (start, end, whole-second text, timestamp match of the span's first event).
    """
    spans = []
    pos = 0
    n = len(block)
    tail = block.rfind("kvm_avic_")
    last = _ts_after(block, block.rfind("\n", 0, tail) + 1) if tail >= 0 else None
    while pos < n:
        first = _ts_after(block, pos)
        if first is None:
            break
        lo, ft = first
        sec = ft.group(1)
        if last is not None and last[1].group(1) == sec:
            spans.append((pos, n, sec, ft))
            break
        hi = n  # invariant: the event at lo has second `sec`; no event at or after hi has
        while True:
            ls = block.rfind("\n", 0, (lo + hi) // 2) + 1
            if ls <= lo:  # the middle is on lo's own line: try the next line
                ls = block.find("\n", lo) + 1
                if ls == 0 or ls >= hi:
                    break
            x = _ts_after(block, ls)
            if x is None or x[0] >= hi or x[1].group(1) != sec:
                hi = ls
            else:
                lo = x[0]
        end = block.find("\n", lo) + 1 or n
        spans.append((pos, end, sec, ft))
        pos = end
    return spans


def _block(acc: _Acc, block: str, names: dict[int, str], line0: int) -> None:
    """Parse one block of whole lines (ending in a newline).

    Speed: the block is cut into spans of one whole second each (bisection on the sorted
    timestamps); in each span the (event, fields) pairs are found and counted by the regex
    engine and ``collections.Counter`` in C, and each distinct field text is parsed once.
    The rare inhibit events are read one by one, in order, for the timeline.
    """
    acc.lines += block.count("\n")
    acc.comments += block.count("\n#") + (block[:1] == "#")
    acc.blanks += block.count("\n\n") + (block[:1] == "\n")
    mentions = sum(block.count(m) for m in _MENTIONS)
    acc.perf += block.count("kvm:kvm_avic_")
    seen_total = 0
    for m in _EVI.finditer(block):
        seen_total += 1
        start = m.start()
        t = _TS.search(block, max(start - 48, 0), start)
        if t is None:
            ls = block.rfind("\n", 0, start) + 1
            acc.malformed += 1
            _bad_example(acc, _lineno(block, line0, start), block[ls:block.find("\n", start)])
            continue
        _inhibit(acc, m.group(1), m.group(2), t, names, block, line0, start)
    spans = _second_spans(block)
    if spans:
        ft = spans[0][3]
        if acc.first is None:
            acc.first = float(ft.group(1) + "." + ft.group(2))
        tail = block.rfind("kvm_avic_")  # the block's last AVIC event
        last = _ts_after(block, block.rfind("\n", 0, tail) + 1) if tail >= 0 else None
        if last is not None:
            acc.last = max(acc.last or 0.0, float(last[1].group(1) + "." + last[1].group(2)))
    first_sec = int(acc.first) if acc.first is not None else 0
    # 1. (event, fields) pairs per one-second span, counted by the regex engine and Counter (C)
    block_counts: Counter = Counter()
    span_pairs = []
    for start, end, sec_s, _ in spans:
        pairs = _EVA.findall(block, start, end)
        block_counts.update(pairs)
        span_pairs.append((int(sec_s) - first_sec, start, end, pairs))
    # 2. each distinct field text parsed once: the totals
    cache = acc.cache
    bad: set = set()
    ipi_causes, ipi_by_vcpu, ipi_index = acc.ipi_causes, acc.ipi_by_vcpu, acc.ipi_index
    unacc, unacc_vcpu = acc.unacc, acc.unacc_vcpu
    for key, n in block_counts.items():
        ev_short, text = key
        ev = "kvm_avic_" + ev_short
        seen_total += n
        b = cache.get(key)
        if b is None:
            mb = _BODY[ev].fullmatch(text)
            if mb is None:
                bad.add(key)
                acc.malformed += n
                _example_of(acc, block, line0, ev, text)
                continue
            b = mb.groups()
            if len(cache) > 200_000:
                cache.clear()
            cache[key] = b
        acc.parsed += n
        acc.events[ev] += n
        if ev_short == "incomplete_ipi":
            cause = int(b[3])
            ipi_causes[cause] = ipi_causes.get(cause, 0) + n
            k = (int(b[0]), cause)
            ipi_by_vcpu[k] = ipi_by_vcpu.get(k, 0) + n
            k = int(b[4])
            ipi_index[k] = ipi_index.get(k, 0) + n
        elif ev_short == "unaccelerated_access":
            k = (int(b[1], 16), b[2], b[3], b[4])
            unacc[k] = unacc.get(k, 0) + n
            k = int(b[0])
            unacc_vcpu[k] = unacc_vcpu.get(k, 0) + n
        elif ev_short == "ga_log":
            _add(acc.ga_log, (int(b[0]), int(b[1])), n)
        elif ev_short == "kick_vcpu_slowpath":
            _add(acc.kicks, int(b[2]), n)
        else:  # doorbell
            _add(acc.doorbells, (int(b[0]), int(b[1])), n)
    # 3. per-second counts, from the spans (damaged pairs left out)
    per_second, ipi_per_second = acc.per_second, acc.ipi_per_second
    for sec, start, end, pairs in span_pairs:
        if bad:
            pairs = [p for p in pairs if p not in bad]
            causes = Counter(cache[p][3] for p in pairs if p[0] == "incomplete_ipi")
        else:
            causes = Counter(_IPI_ID.findall(block, start, end))
        for ev_short, n in Counter(map(_FIRST, pairs)).items():
            k = (sec, "kvm_avic_" + ev_short)
            per_second[k] = per_second.get(k, 0) + n
        for cause_s, n in causes.items():
            k = (sec, int(cause_s))
            ipi_per_second[k] = ipi_per_second.get(k, 0) + n
    # event names that never reached a parseable "name: fields" (truncated, garbled)
    unparsed = mentions - seen_total
    if unparsed > 0:
        acc.malformed += unparsed


def _example_of(acc: _Acc, block: str, line0: int, ev: str, text: str) -> None:
    """Record the first line of ``block`` whose event ``ev`` has the fields ``text`` (damaged)."""
    if len(acc.malformed_examples) >= 5:
        return
    pos = block.find(ev)
    while pos >= 0:
        le = block.find("\n", pos)
        if block[pos:le].endswith(text):
            ls = block.rfind("\n", 0, pos) + 1
            _bad_example(acc, _lineno(block, line0, pos), block[ls:le])
            return
        pos = block.find(ev, le)


def _add(d: dict, k, n: int) -> None:
    d[k] = d.get(k, 0) + n


def _bad_example(acc: _Acc, lineno: int, text: str) -> None:
    if len(acc.malformed_examples) < 5:
        acc.malformed_examples.append((lineno, text[:200]))


def _inhibit(acc: _Acc, ev: str, text: str, t, names: dict[int, str], block: str, line0: int, start: int) -> None:
    b = _BODY[ev].fullmatch(text)
    if b is None:
        acc.malformed += 1
        ls = block.rfind("\n", 0, start) + 1
        _bad_example(acc, _lineno(block, line0, start), block[ls:block.find("\n", start)])
        return
    ts = float(t.group(1) + "." + t.group(2))
    if acc.first is None:
        acc.first = ts
    acc.last = max(acc.last or ts, ts)
    acc.parsed += 1
    if t.group(3):
        acc.perf += 1
    acc.events[ev] += 1
    k = (int(ts) - int(acc.first), ev)
    acc.per_second[k] = acc.per_second.get(k, 0) + 1
    if ev == "kvm_apicv_inhibit_changed":
        is_set = b.group(1) == "set"
        reason = int(b.group(2))
        mask = int(b.group(3), 16)
    else:  # kvm_apicv_update_request: "deactivate" = an inhibit reason set
        is_set = b.group(1) == "deactivate"
        reason = int(b.group(2))
        mask = None
    name = names.get(reason, f"unknown reason {reason}")
    printed = b.group(4) if ev == "kvm_apicv_inhibit_changed" else None
    if printed and mask:  # later kernels print the set reasons' names, in bit order
        bits = [i for i in range(64) if mask >> i & 1]
        parts = printed.split("|")
        if len(bits) == len(parts) and reason in bits:
            name = _P + parts[bits.index(reason)].removeprefix(_P)
    if len(acc.inhibits) < MAX_TIMELINE:
        acc.inhibits.append(InhibitChange(ts, is_set, reason, name, mask, _lineno(block, line0, start)))
    else:
        acc.inhibits_dropped += 1


def _detect_format(acc: _Acc) -> str:
    h = acc.header
    if acc.perf and acc.perf >= acc.parsed / 2:
        return "perf script"
    if "# tracer:" in h:
        return "tracefs trace"
    if h.startswith("cpus=") or "\ncpus=" in h or h.startswith("version ="):
        return "trace-cmd report"
    if acc.parsed:
        return "trace-cmd report or tracefs trace (no header)"
    return "unknown"


def summarize(lines_or_blocks: Iterable[str], *, kernel: object = None, source: str = "<text>") -> TraceSummary:
    """Summarise AVIC events from text blocks (each ending at a line end) or lines."""
    r = release(kernel)
    names, note = inhibit_reason_names(r)
    acc = _Acc()
    carry = ""
    line0 = 0
    for chunk in lines_or_blocks:
        if not chunk:
            continue
        data = carry + chunk
        cut = data.rfind("\n") + 1
        if cut == 0:
            carry = data
            continue
        block, carry = data[:cut], data[cut:]
        if len(acc.header) < 4096:
            acc.header = (acc.header + block)[:4096]
        _block(acc, block, names, line0)
        line0 = acc.lines
    if carry:  # a last line without a newline (a cut-off file)
        if len(acc.header) < 4096:
            acc.header = (acc.header + carry)[:4096]
        _block(acc, carry + "\n", names, line0)
    other = acc.lines - acc.parsed - acc.comments - acc.blanks - acc.malformed
    warnings = []
    if acc.events["kvm_apicv_update_request"] and r.version >= (5, 19):
        warnings.append(f"this trace has kvm_apicv_update_request, the inhibit tracepoint of v5.6 to about "
                        f"v5.18, but reasons are named as on {r.name}: give the host's release (--kernel) "
                        "for the right names")
    if acc.events["kvm_apicv_inhibit_changed"] and r.version < (5, 19):
        warnings.append(f"this trace has kvm_apicv_inhibit_changed (about v5.19 and later) but reasons are "
                        f"named as on {r.name}: give the host's release (--kernel)")
    if acc.events["kvm_avic_ga_log"] and r.version >= (6, 17) and kernel is None:
        warnings.append("kvm_avic_ga_log's vcpuid is read as the vcpu_idx (v6.17 and later); on older "
                        "kernels it is the vcpu_id: give --kernel if the trace is older")
    return TraceSummary(
        source=source, kernel=r, format=_detect_format(acc), lines=acc.lines, event_lines=acc.parsed,
        comment_lines=acc.comments, blank_lines=acc.blanks, other_lines=max(other, 0),
        malformed_lines=acc.malformed, malformed_examples=tuple(acc.malformed_examples),
        first_time=acc.first, last_time=acc.last,
        events=MappingProxyType(dict(acc.events)),
        ipi_causes=MappingProxyType(acc.ipi_causes), ipi_by_vcpu=MappingProxyType(acc.ipi_by_vcpu),
        ipi_per_second=MappingProxyType(acc.ipi_per_second), ipi_index=MappingProxyType(acc.ipi_index),
        unaccelerated=MappingProxyType(acc.unacc), unaccelerated_by_vcpu=MappingProxyType(acc.unacc_vcpu),
        ga_log=MappingProxyType(acc.ga_log), kicks=MappingProxyType(acc.kicks),
        doorbells=MappingProxyType(acc.doorbells), inhibit_changes=tuple(acc.inhibits),
        inhibit_changes_dropped=acc.inhibits_dropped, inhibit_names_note=note,
        exits_per_second=MappingProxyType(acc.per_second), warnings=tuple(warnings),
    )


def _blocks(f) -> Iterable[str]:
    while True:
        b = f.read(_BLOCK)
        if not b:
            return
        yield b


def summarize_file(path: str | os.PathLike, *, kernel: object = None) -> TraceSummary:
    """:func:`summarize` a trace file, streaming.  A missing or unreadable file: ValueError (one line)."""
    p = os.fspath(path)
    r = release(kernel)  # bad --kernel first
    try:
        f = open(p, encoding="utf-8", errors="replace", newline="\n")
    except FileNotFoundError:
        raise ValueError(f"FILE={p!r} does not exist") from None
    except IsADirectoryError:
        raise ValueError(f"FILE={p!r} is a folder, not a trace file") from None
    except PermissionError:
        raise ValueError(f"FILE={p!r} is not readable (permission denied)") from None
    except OSError as e:
        raise ValueError(f"FILE={p!r} cannot be read: {e.strerror}") from None
    with f:
        try:
            return summarize(_blocks(f), kernel=r, source=p)
        except OSError as e:
            raise ValueError(f"FILE={p!r} could not be read to the end: {e.strerror}") from None


# ---- text -----------------------------------------------------------------------------------

def format_summary(s: TraceSummary) -> str:
    """The plain-text report ``avicviz trace`` prints: the findings first, then the tables."""
    out = [f"trace: {s.source} ({s.format}); names as on Linux {s.kernel.name} ({s.kernel.range_name})"]
    out.append(f"  {s.lines} lines: {s.event_lines} AVIC events, {s.other_lines} other lines skipped, "
               f"{s.comment_lines} comment, {s.blank_lines} blank, {s.malformed_lines} malformed")
    for n, t in s.malformed_examples:
        out.append(f"    malformed line {n}: {t}")
    if not s.has_avic_events:
        out.append("no KVM AVIC events in this file: record with "
                   "`trace-cmd record -e kvm:kvm_avic_* -e kvm:kvm_apicv_inhibit_changed` on an AMD host "
                   "with AVIC on (kvm_amd avic=1)")
        return "\n".join(out)
    dur = s.duration
    for w in s.warnings:
        out.append(f"  WARNING: {w}")
    out.append(f"  {dur:.3f} s from the first to the last AVIC event")
    # inhibits first: an inhibited VM explains everything else
    end = s.inhibits_at_end()
    if s.inhibit_changes:
        out.append(f"APICv/AVIC inhibit changes: {len(s.inhibit_changes) + s.inhibit_changes_dropped}"
                   + (f" (first {MAX_TIMELINE} kept)" if s.inhibit_changes_dropped else ""))
        t0 = s.first_time or 0.0
        for c in s.inhibit_changes[:20]:
            mask = "" if c.inhibits is None else f", inhibits=0x{c.inhibits:X}"
            out.append(f"  {c.time - t0:10.6f} s  {'set    ' if c.set else 'cleared'} {c.name} (bit {c.reason}){mask}")
        if len(s.inhibit_changes) > 20:
            out.append(f"  ... {len(s.inhibit_changes) - 20} more (--json lists all)")
        out.append("  still set at the end: " + (", ".join(end) if end else "none (AVIC active)"))
        out.append(f"  reason names: {s.inhibit_names_note}")
    n_ipi = sum(s.ipi_causes.values())
    if n_ipi:
        out.append(f"incomplete-IPI exits (AVIC_INCOMPLETE_IPI): {n_ipi}" + (f", {n_ipi / dur:.0f}/s" if dur >= 1 else ""))
        for row in s.ipi_cause_rows():
            out.append(f"  {row['exits']:>10}  {row['share']:6.1%}  id={row['id']} {row['cause']}: {row['kvm_action']}")
    n_un = sum(s.unaccelerated.values())
    if n_un:
        out.append(f"unaccelerated APIC accesses (AVIC_UNACCELERATED_ACCESS): {n_un}")
        for row in s.unaccelerated_rows()[:12]:
            out.append(f"  {row['exits']:>10}  {row['register']} ({row['offset']}) {row['kind']} {row['access']}")
    if s.ga_log:
        field = s.kernel.gatag_vcpu_field
        out.append(f"GA-log wakeups (kvm_avic_ga_log): {sum(s.ga_log.values())}; vcpuid holds the {field} on {s.kernel.name}")
        for (vm, v), n in sorted(s.ga_log.items(), key=lambda kv: -kv[1])[:12]:
            out.append(f"  {n:>10}  vmid={vm} vcpuid={v}")
    n_kick = sum(s.kicks.values())
    if n_kick:
        out.append(f"slow-path kicks (kvm_avic_kick_vcpu_slowpath): {n_kick}")
    if s.doorbells:
        out.append(f"doorbells rung by KVM (kvm_avic_doorbell): {sum(s.doorbells.values())} "
                   f"to {len({a for _, a in s.doorbells})} host CPU(s)")
    return "\n".join(out)
