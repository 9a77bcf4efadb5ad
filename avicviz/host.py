"""This host, read-only: is AVIC on for new VMs, and what happens to a VM of N vCPUs?

:func:`read_host` reads three things, each under a root folder (``/`` normally; a copy of
another machine's files, or a test fixture, with ``root=``), and never needs root privileges:

* ``/proc/sys/kernel/osrelease``: the kernel release (``6.8.0-45-generic`` is read as v6.8);
* ``/proc/cpuinfo``: the vendor, the CPU family and the ``svm``, ``avic``, ``x2avic`` flags, and
  ``x2avic_ext`` (X86_FEATURE_X2AVIC_EXT, listed from Linux 6.19 on; older kernels do not show it
  even on CPUs that have it, and cannot use it either);
* ``/sys/module/kvm_amd/parameters/``: ``avic``, ``force_avic``, ``enable_ipiv``, ``npt``.

:func:`check_host` turns that into a :class:`HostReport`.  Whatever cannot be read is named,
with the reason, in ``unknowns``; nothing here raises on a missing or unreadable file.

Facts used (kernel sources and patch mail; see README, "Where the facts come from"):

* kvm_amd's ``avic`` parameter defaulted to off up to Linux 6.17.  Linux 6.18 ("KVM: SVM:
  Enable AVIC by default for Zen4+ if x2AVIC is support") defaults it to on for CPUs with
  x2AVIC and off otherwise; ``avic=1`` / ``avic=0`` still force it.
* AVIC also needs the CPU's AVIC feature (or ``force_avic=1``) and nested paging (``npt``).
* ``enable_ipiv`` is a kvm_amd parameter from Linux 6.17 on; IPI virtualization is off on
  family 17h (Zen 1/2) and Hygon 18h for erratum #1235.
* How a 6.18+ kernel shows an ``avic`` parameter left at its automatic default in sysfs is
  UNVERIFIED here; a value this module does not recognise is treated as "the release default".
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ._resources import resource_path
from .releases import Release, release, release_ranges

__all__ = [
    "HostFacts",
    "HostReport",
    "read_host",
    "check_host",
    "avic_default_on",
    "vm_without_avic",
    "CPU_CAPS",
    "EXAMPLE_HOSTS",
]

#: Made-up example host trees for teaching (notebook 05): data/example_hosts/ in the repository,
#: shipped in avicviz.data.
EXAMPLE_HOSTS = resource_path("data", "example_hosts")

#: What the CPU offers, as the JSON key ``cpu`` reports it.
CPU_CAPS = ("none", "avic", "x2avic", "x2avic-ext")

#: First release whose ``avic`` parameter defaults to on (for x2AVIC CPUs only).
AUTO_DEFAULT_FIRST = (6, 18)
#: First release with kvm_amd's ``enable_ipiv`` parameter.
SVM_ENABLE_IPIV_FIRST = (6, 17)

_PARAMS = ("avic", "force_avic", "enable_ipiv", "npt")


@dataclass(frozen=True)
class HostFacts:
    """What was read from the host's files, raw, before any rule is applied.

    A field is None when its file could not be read; ``unknowns`` says which and why.
    """

    root: str
    osrelease: str | None
    vendor: str | None            # "AuthenticAMD", "HygonGenuine", "GenuineIntel", ...
    cpu_family: int | None
    model_name: str | None
    flags: frozenset[str] | None  # None: no x86 "flags" line (non-x86, or unreadable)
    logical_cpus: int | None
    kvm_amd_loaded: bool | None   # None: cannot tell
    params: dict = field(default_factory=dict)   # parameter name -> raw text ("Y", "N", ...)
    unknowns: tuple[str, ...] = ()


@dataclass(frozen=True)
class HostReport:
    """The answer for this host and a VM of ``vcpus`` vCPUs (the CLI's ``avicviz host``)."""

    facts: HostFacts
    kernel: str | None             # the release as read, e.g. "6.8.0-45-generic"
    modelled: Release | None       # the modelled mainline release it maps to
    kernel_note: str | None        # why no model release (too old / too new / unreadable)
    vendor_kind: str               # "amd", "intel", "other-x86", "non-x86", "unknown"
    cpu: str | None                # one of CPU_CAPS, None if unknown
    avic_param: str | None         # "on" / "off" / None (unknown)
    avic_param_source: str         # how avic_param was decided
    avic_enabled: bool | None      # AVIC on for new VMs (parameter, CPU, npt together)
    why: tuple[str, ...]           # plain sentences: why AVIC is on or off
    enable_ipiv: bool | None
    vcpus: int
    vcpus_source: str
    starts: bool | None
    avic_active: bool | None
    vm_summary: tuple[str, ...]
    vm_model: dict | None          # the model's VMReport.as_dict(), when the model answered
    unknowns: tuple[str, ...]

    def as_dict(self) -> dict:
        """The CLI's JSON form."""
        f = self.facts
        return {
            "kernel": self.kernel,
            "kernel_modelled": None if self.modelled is None else self.modelled.name,
            "kernel_range": None if self.modelled is None else self.modelled.range_name,
            "kernel_note": self.kernel_note,
            "vendor": f.vendor,
            "vendor_kind": self.vendor_kind,
            "cpu_family": f.cpu_family,
            "cpu": self.cpu,
            "cpu_flags": None if f.flags is None else sorted(f.flags & {"svm", "avic", "x2avic", "x2avic_ext", "npt"}),
            "kvm_amd_loaded": f.kvm_amd_loaded,
            "kvm_amd_parameters": dict(f.params),
            "avic_param": self.avic_param,
            "avic_param_source": self.avic_param_source,
            "avic_enabled": self.avic_enabled,
            "why": list(self.why),
            "enable_ipiv": self.enable_ipiv,
            "vcpus": self.vcpus,
            "vcpus_source": self.vcpus_source,
            "starts": self.starts,
            "avic_active": self.avic_active,
            "vm": list(self.vm_summary),
            "vm_model": self.vm_model,
            "unknowns": list(self.unknowns),
            "root": f.root,
        }


# ---- reading ---------------------------------------------------------------------------------

def _under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def _read(root: Path, path: str, unknowns: list[str], what: str) -> str | None:
    """The text of ``path`` under ``root``; on failure, a plain reason appended to ``unknowns``."""
    p = _under(root, path)
    try:
        return p.read_text(errors="replace")
    except FileNotFoundError:
        unknowns.append(f"{what}: {path} does not exist")
    except PermissionError:
        unknowns.append(f"{what}: {path} is not readable (permission denied)")
    except IsADirectoryError:
        unknowns.append(f"{what}: {path} is a folder, not a file")
    except OSError as e:
        unknowns.append(f"{what}: {path} could not be read ({os.strerror(e.errno or errno.EIO)})")
    return None


def _cpuinfo(text: str) -> tuple[str | None, int | None, str | None, frozenset[str] | None, int]:
    vendor = family = model = None
    flags: frozenset[str] | None = None
    count = 0
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key = key.strip()
        value = value.strip()
        if key == "processor":
            count += 1
        elif key == "vendor_id" and vendor is None:
            vendor = value
        elif key == "cpu family" and family is None:
            try:
                family = int(value)
            except ValueError:
                pass
        elif key == "model name" and model is None:
            model = value
        elif key == "flags" and flags is None:
            flags = frozenset(value.split())
    return vendor, family, model, flags, count


def read_host(root: str | os.PathLike = "/") -> HostFacts:
    """Read the host's kernel release, CPU and kvm_amd parameters under ``root`` (read-only)."""
    r = Path(root)
    unknowns: list[str] = []
    osrel = _read(r, "/proc/sys/kernel/osrelease", unknowns, "kernel release")
    if osrel is not None:
        osrel = osrel.strip() or None
        if osrel is None:
            unknowns.append("kernel release: /proc/sys/kernel/osrelease is empty")
    cpuinfo = _read(r, "/proc/cpuinfo", unknowns, "CPU")
    vendor = family = model = None
    flags = None
    count = None
    if cpuinfo is not None:
        vendor, family, model, flags, count = _cpuinfo(cpuinfo)
        count = count or None
    mod = _under(r, "/sys/module/kvm_amd")
    params: dict[str, str] = {}
    loaded: bool | None
    try:
        loaded = mod.is_dir()
    except OSError:
        loaded = None
    if loaded:
        for name in _PARAMS:
            p = mod / "parameters" / name
            if not p.exists():
                continue  # absent on this release: reported by the rules, not as unknown
            text = _read(r, f"/sys/module/kvm_amd/parameters/{name}", unknowns, f"kvm_amd {name}")
            if text is not None:
                params[name] = text.strip()
    elif loaded is None:
        unknowns.append("kvm_amd: /sys/module/kvm_amd could not be examined")
    return HostFacts(root=str(r), osrelease=osrel, vendor=vendor, cpu_family=family,
                     model_name=model, flags=flags, logical_cpus=count, kvm_amd_loaded=loaded,
                     params=params, unknowns=tuple(unknowns))


# ---- rules -----------------------------------------------------------------------------------

def _bool_param(text: str | None) -> bool | None:
    if text is None:
        return None
    t = text.strip().lower()
    if t in ("y", "1", "yes", "on", "true"):
        return True
    if t in ("n", "0", "no", "off", "false"):
        return False
    return None  # e.g. an automatic value this module does not know how to read


def avic_default_on(version: tuple[int, int], cpu: str | None) -> bool | None:
    """kvm_amd's ``avic`` default on mainline ``version`` for a CPU with ``cpu`` capability.

    Off up to 6.17; from 6.18 on for x2AVIC CPUs (Zen 4 and later), off otherwise.
    None when the CPU is unknown and the release is 6.18 or later.

    >>> avic_default_on((6, 17), "x2avic"), avic_default_on((6, 18), "x2avic"), avic_default_on((6, 18), "avic")
    (False, True, False)
    """
    if tuple(version) < AUTO_DEFAULT_FIRST:
        return False
    if cpu is None:
        return None
    if cpu not in ("avic", "x2avic", "x2avic-ext"):
        return False  # no AVIC on this CPU: nothing to turn on
    newest = release_ranges()[-1]
    return release(min(tuple(version), newest.last)).avic_default_on(cpu)


def vm_without_avic(vcpus: int, kernel: Release) -> tuple[bool, tuple[str, ...]]:
    """A VM on a host where AVIC is off: every interrupt is emulated; only KVM_MAX_VCPUS limits it
    (the model's answer for kvm_amd avic=0: ``simulate(..., avic="off")``).
    Returns (starts, plain sentences).

    >>> vm_without_avic(600, release("6.3"))[0], vm_without_avic(1025, release("6.3"))[0]
    (True, False)
    """
    from .vm import simulate  # numpy loads only when a VM is simulated

    kmax = kernel.kvm_max_vcpus
    starts = simulate(vcpus, kernel=kernel, avic="off", kvm_max_vcpus=kmax).starts
    lines = ["AVIC is off: every interrupt to the guest (IPIs and device interrupts) goes through "
             "KVM's emulated local APIC, with a VM exit; none of the AVIC limits apply"]
    if starts:
        lines.append(f"starts: yes ({vcpus} <= KVM_MAX_VCPUS {kmax}, {kernel.name}'s default configuration; "
                     "a distribution kernel may be built with another value)")
        return True, tuple(lines)
    lines.append(f"does NOT start: KVM_CREATE_VCPU fails for vCPU #{kmax}: KVM_MAX_VCPUS is {kmax} "
                 f"in {kernel.name}'s default configuration (a distribution kernel may be built with another value)")
    return False, tuple(lines)


def _vendor_kind(f: HostFacts) -> str:
    if f.vendor in ("AuthenticAMD", "HygonGenuine"):
        return "amd"
    if f.vendor == "GenuineIntel":
        return "intel"
    if f.vendor is not None:
        return "other-x86"
    if any(u.startswith("CPU:") for u in f.unknowns):
        return "unknown"  # /proc/cpuinfo could not be read
    return "non-x86"      # read, but no x86 vendor_id line (e.g. arm64, s390, riscv)


def _cpu_cap(f: HostFacts) -> str | None:
    if f.flags is None:
        return None
    if "x2avic_ext" in f.flags:  # X86_FEATURE_X2AVIC_EXT (6.19, CPUID 8000_000A ECX[6]) shows as x2avic_ext
        return "x2avic-ext"
    if "x2avic" in f.flags:
        return "x2avic"
    if "avic" in f.flags:
        return "avic"
    return "none"


def _parse_release(text: str | None) -> tuple[tuple[int, int] | None, Release | None, str | None]:
    if text is None:
        return None, None, "the kernel release could not be read"
    m = re.match(r"\s*v?(\d+)\.(\d+)", text)
    if not m:
        return None, None, f"{text!r} is not a Linux release string"
    v = (int(m.group(1)), int(m.group(2)))
    table = release_ranges()
    if v < table[0].first:
        return v, None, (f"Linux {v[0]}.{v[1]} predates AVIC support in KVM "
                         f"(modelled from v{table[0].first[0]}.{table[0].first[1]})")
    if v > table[-1].last:
        newest = table[-1]
        return v, newest.at(newest.last), (
            f"Linux {v[0]}.{v[1]} is newer than the newest modelled release {newest.name}: "
            f"answering with {newest.name}'s rules (UNVERIFIED for {v[0]}.{v[1]})")
    return v, release(v), None


def check_host(root: str | os.PathLike = "/", vcpus: int | None = None) -> HostReport:
    """Read the host under ``root`` and answer: is AVIC on for new VMs, and a VM of ``vcpus``?

    ``vcpus`` defaults to the host's number of logical CPUs (1 if unknown).
    """
    from . import vm as vm_mod  # the model; numpy loads only when a VM is simulated

    f = read_host(root)
    unknowns = list(f.unknowns)
    version, model_rel, kernel_note = _parse_release(f.osrelease)
    kind = _vendor_kind(f)
    cpu = _cpu_cap(f)
    why: list[str] = []

    if vcpus is None:
        if f.logical_cpus:
            n, n_src = f.logical_cpus, "the host's logical CPU count (give --vcpus N to ask about another size)"
        else:
            n, n_src = 1, "default (the host's CPU count is unknown)"
    else:
        n, n_src = int(vcpus), "--vcpus"

    # ---- is AVIC on for new VMs? ----------------------------------------------------------
    avic_param: str | None = None
    source = "unknown"
    enabled: bool | None = None
    enable_ipiv: bool | None = None
    if kind == "intel":
        why.append("this is an Intel CPU: AVIC is AMD's; Intel's counterparts are APICv, posted "
                   "interrupts and IPI virtualization (kvm_intel's enable_apicv and enable_ipiv), not modelled here")
        enabled = False
        source = "not applicable (Intel CPU)"
    elif kind == "non-x86":
        why.append("this is not an x86 host (/proc/cpuinfo has no x86 vendor_id or flags): KVM's AVIC does not exist here")
        enabled = False
        source = "not applicable (not x86)"
    elif kind == "other-x86":
        why.append(f"CPU vendor {f.vendor!r} is neither AMD nor Hygon: kvm_amd does not drive it")
        enabled = False
        source = "not applicable"
    elif kind == "unknown":
        why.append("the CPU could not be identified, so whether AVIC can work here is unknown")
    if kind == "amd" and cpu == "none":
        why.append("the CPU does not report the avic flag: AVIC is unavailable unless kvm_amd's "
                   "force_avic=1 (unsafe, taints the kernel) enables it on a CPU that hides the feature")
    if kind == "amd" and f.flags is not None and "svm" not in f.flags:
        why.append("the CPU does not report svm: virtualization is off in the firmware or hidden (a VM guest?)")

    if kind in ("amd", "unknown"):
        raw = f.params.get("avic")
        param = _bool_param(raw)
        if f.kvm_amd_loaded is False:
            unknowns.append("kvm_amd is not loaded (/sys/module/kvm_amd does not exist): its avic "
                            "setting is decided only when the module loads")
        if param is not None:
            avic_param = "on" if param else "off"
            source = f"kvm_amd parameter avic={raw}"
        elif version is not None:
            d = avic_default_on(version, cpu)
            if d is not None:
                avic_param = "on" if d else "off"
                rel_txt = f"Linux {version[0]}.{version[1]}"
                if version < AUTO_DEFAULT_FIRST:
                    source = f"release default: off on {rel_txt} (avic is opt-in up to 6.17)"
                else:
                    source = (f"release default on {rel_txt}: " + ("on, this CPU has x2AVIC" if d else
                              "off, this CPU has no x2AVIC") + " (automatic default since 6.18)")
                if raw is not None:
                    source += f"; the parameter's value {raw!r} was not understood"
                elif f.kvm_amd_loaded:
                    unknowns.append("kvm_amd avic: /sys/module/kvm_amd/parameters/avic is missing or unreadable")
            else:
                source = "unknown: the CPU is unknown and 6.18+ decides by the CPU's x2AVIC support"
        force = _bool_param(f.params.get("force_avic"))
        npt = _bool_param(f.params.get("npt"))
        has_avic = cpu in ("avic", "x2avic", "x2avic-ext") or bool(force)
        if avic_param == "off":
            enabled = False
            why.append(f"kvm_amd's avic is off ({source}): load kvm_amd with avic=1 to turn it on")
        elif avic_param == "on":
            if cpu is None and not force:
                enabled = None
                why.append(f"kvm_amd's avic is on ({source}), but the CPU's AVIC support is unknown")
            elif not has_avic:
                enabled = False
                why.append(f"kvm_amd's avic is on ({source}), but the CPU has no AVIC: KVM turns it off")
            elif npt is False:
                enabled = False
                why.append("kvm_amd's npt=N: AVIC needs nested paging, so KVM turns it off")
            else:
                enabled = True
                why.append(f"kvm_amd's avic is on ({source}) and the CPU has "
                           + ("AVIC (forced with force_avic=1)" if force and cpu in (None, "none") else cpu.replace("-", " ")))
        # IPI virtualization
        ipiv_raw = f.params.get("enable_ipiv")
        if enabled:
            if ipiv_raw is not None:
                enable_ipiv = _bool_param(ipiv_raw)
            elif version is not None and version < SVM_ENABLE_IPIV_FIRST:
                enable_ipiv = True
            zen12 = (f.vendor == "AuthenticAMD" and f.cpu_family == 0x17) or \
                (f.vendor == "HygonGenuine" and f.cpu_family == 0x18)
            if zen12:
                why.append("family 17h (Zen 1/2) or Hygon 18h: KVM keeps IPI virtualization off for erratum "
                           "#1235 (IsRunning is never set, so every IPI to another vCPU exits)")
                enable_ipiv = False
            elif enable_ipiv is False:
                why.append("kvm_amd's enable_ipiv=N: every IPI to another vCPU exits (AVIC_INCOMPLETE_IPI, "
                           "TARGET_NOT_RUNNING); delivery into the target stays accelerated")

    # ---- a VM of n vCPUs ------------------------------------------------------------------
    starts: bool | None = None
    active: bool | None = None
    summary: list[str] = []
    model_dict = None
    if model_rel is None:
        summary.append(f"cannot say what happens to a VM of {n} vCPUs: {kernel_note}")
    elif kind == "non-x86":
        summary.append("AVIC does not apply; this model covers x86 KVM only, so whether the VM starts "
                       "is not answered here")
        active = False
    elif kind in ("intel", "other-x86"):
        active = False
        kmax = model_rel.kvm_max_vcpus
        starts = n <= kmax
        summary.append("AVIC does not apply on this CPU; interrupt virtualization here is the vendor's "
                       "own (not modelled)")
        summary.append(("starts: yes" if starts else f"does NOT start: KVM_CREATE_VCPU fails for vCPU #{kmax}")
                       + f" (KVM_MAX_VCPUS {kmax} in {model_rel.name}'s default configuration)")
    elif enabled is False:
        starts, lines = vm_without_avic(n, model_rel)
        active = False
        summary.extend(lines)
    elif enabled is None:
        summary.append(f"cannot say whether a VM of {n} vCPUs gets AVIC: whether AVIC is on is unknown")
        st_off, _ = vm_without_avic(n, model_rel)
        summary.append(f"without AVIC it would {'start' if st_off else 'NOT start'} ({model_rel.name}, default KVM_MAX_VCPUS)")
    else:
        try:
            r = vm_mod.simulate(n, kernel=model_rel, cpu=cpu if cpu in ("avic", "x2avic", "x2avic-ext") else "avic",
                                enable_ipiv=True if enable_ipiv is None else enable_ipiv,
                                kvm_max_vcpus=model_rel.kvm_max_vcpus)
        except ValueError as e:
            summary.append(f"the model cannot answer for {n} vCPUs: {e}")
        else:
            model_dict = r.as_dict()
            starts = r.starts
            active = r.avic_active
            summary.append(f"model: {n} vCPUs, guest in x2APIC mode, on {model_rel.name} ({model_rel.range_name}), "
                           f"CPU {r.cpu}, KVM_MAX_VCPUS {r.kvm_max_vcpus}")
            if not r.starts:
                summary.append(f"does NOT start: {r.error}")
            else:
                summary.append("starts: yes")
                if r.avic_active:
                    summary.append(f"AVIC: active; {r.accelerated_vcpus} of {n} vCPUs receive IPIs without a VM exit")
                else:
                    summary.append("AVIC: inhibited (" + ", ".join(r.inhibit_reasons) + "): every vCPU uses the emulated APIC")
            summary.extend(f"note: {x}" for x in r.notes)
    return HostReport(
        facts=f, kernel=f.osrelease, modelled=model_rel, kernel_note=kernel_note,
        vendor_kind=kind, cpu=cpu, avic_param=avic_param, avic_param_source=source,
        avic_enabled=enabled, why=tuple(why), enable_ipiv=enable_ipiv, vcpus=n, vcpus_source=n_src,
        starts=starts, avic_active=active, vm_summary=tuple(summary), vm_model=model_dict,
        unknowns=tuple(unknowns),
    )


def format_report(rep: HostReport) -> str:
    """The plain-text answer ``avicviz host`` prints."""
    f = rep.facts
    out = []
    k = rep.kernel or "unknown"
    if rep.modelled is not None:
        k += f" (modelled as mainline {rep.modelled.name}, range {rep.modelled.range_name}"
        if rep.kernel and not re.fullmatch(r"v?\d+\.\d+(\.\d+)?", rep.kernel):
            k += "; distribution backports are not modelled"
        k += ")"
    out.append(f"host: {'/' if f.root in ('/', '') else f.root}")
    out.append(f"  kernel: {k}")
    if rep.kernel_note:
        out.append(f"  kernel note: {rep.kernel_note}")
    cpu_line = f.vendor or "unknown vendor"
    if f.cpu_family is not None:
        cpu_line += f", family {f.cpu_family:#x}"
    if f.model_name:
        cpu_line += f", {f.model_name}"
    out.append(f"  CPU: {cpu_line}; AVIC capability: {rep.cpu or 'unknown'}")
    if f.kvm_amd_loaded:
        ps = ", ".join(f"{k}={v}" for k, v in f.params.items()) or "none readable"
        out.append(f"  kvm_amd parameters: {ps}")
    elif f.kvm_amd_loaded is False and rep.vendor_kind == "amd":
        out.append("  kvm_amd: not loaded")
    verdict = {True: "ON", False: "OFF", None: "UNKNOWN"}[rep.avic_enabled]
    out.append(f"AVIC for new VMs: {verdict}")
    for w in rep.why:
        out.append(f"  {w}")
    out.append(f"a VM of {rep.vcpus} vCPUs ({rep.vcpus_source}):")
    for s in rep.vm_summary:
        out.append(f"  {s}")
    if rep.unknowns:
        out.append("unknown:")
        for u in rep.unknowns:
            out.append(f"  {u}")
    return "\n".join(out)
