"""Command line: ``avicviz`` / ``python -m avicviz``.

Human-readable output by default, ``--json`` for machines.  Exit status 0 on success and 2,
with one line on stderr and no traceback, on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from . import gatag, iommu, tables, vm
from . import releases as rel
from ._validate import parse_int
from .layouts import IRTE_GA_HI, IRTE_GA_LO, gatag_layout, physical_entry_layout

__all__ = ["main"]

PROG = "avicviz"


class UsageError(Exception):
    """Bad input: reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, no usage dump
        raise UsageError(message)


def _kernel(text: str | None) -> rel.Release:
    return rel.release(text)


def _print_json(obj: dict) -> None:
    print(json.dumps(obj, indent=2, sort_keys=False))


def _warn(message: str) -> None:
    """One line on stderr, beside a successful answer (e.g. reserved bits set)."""
    print(f"{PROG}: warning: {' '.join(message.split())}", file=sys.stderr)


# ---- gatag -----------------------------------------------------------------------------------

def _cmd_gatag_encode(a: argparse.Namespace) -> int:
    k = _kernel(a.kernel)
    vm_id = parse_int("--vm-id", a.vm_id, 0, gatag.U32_MAX)
    vcpu = parse_int("--vcpu", a.vcpu, 0, gatag.U32_MAX)
    t = gatag.encode(vm_id, vcpu, k)
    if a.json:
        _print_json(t.as_dict())
        return 0
    lay = gatag_layout(k)
    print(f"GATag on {k.name} ({k.range_name}): {lay[t.vcpu_field].width}-bit {t.vcpu_field} "
          f"[{lay[t.vcpu_field].bits}], {t.vm_id_bits}-bit vm_id [{lay['vm_id'].bits}]")
    print(f"  encode vm_id={vm_id} {t.vcpu_field}={vcpu}  ->  {t.tag_hex}  ({t.tag})")
    print(f"  decodes to vm_id={t.decoded_vm_id} {t.vcpu_field}={t.decoded_vcpu}  "
          f"({'lossless' if t.lossless else 'LOSSY: bits were dropped'})")
    if not t.lossless:
        if t.decoded_vcpu != vcpu:
            print(f"  a GA-log wakeup meant for {vcpu} reaches {t.decoded_vcpu}: "
                  f"the field keeps only the low {t.vcpu_bits} bits")
        if t.decoded_vm_id != vm_id:
            print(f"  vm_id {vm_id} does not fit {t.vm_id_bits} bits: KVM would look up VM {t.decoded_vm_id}")
    return 0


def _cmd_gatag_decode(a: argparse.Namespace) -> int:
    k = _kernel(a.kernel)
    tag = parse_int("TAG", a.tag, 0, gatag.U32_MAX)
    t = gatag.decode(tag, k)
    if a.json:
        _print_json({"kernel": k.name, "gatag": tag, "vm_id": t.decoded_vm_id, "vcpu": t.decoded_vcpu,
                     "vcpu_field": t.vcpu_field, "vcpu_bits": t.vcpu_bits, "vm_id_bits": t.vm_id_bits})
        return 0
    print(f"GATag 0x{tag:08X} on {k.name}: vm_id={t.decoded_vm_id} (bits 31:{t.vcpu_bits}), "
          f"{t.vcpu_field}={t.decoded_vcpu} (bits {t.vcpu_bits - 1}:0)")
    return 0


# ---- entry -----------------------------------------------------------------------------------

def _cmd_entry_decode(a: argparse.Namespace) -> int:
    k = _kernel(a.kernel)
    value = parse_int("VALUE", a.value, 0, (1 << 64) - 1)
    e = tables.decode_entry(value, k)
    warning = None
    if e.reserved_bits:
        warning = (f"reserved bits 0x{e.reserved_bits:016X} are set: not a valid physical APIC ID "
                   f"table entry on {k.name}")
        if value >> 60 == iommu.GA_LOG_TYPE_GUEST and not e.valid:
            warning += " (type 1 in bits 63:60 looks like a GA-log entry: try `avicviz galog decode`)"
        _warn(warning)
    if a.json:
        _print_json({"kernel": k.name, **e.as_dict(), "warning": warning})
        return 0
    lay = physical_entry_layout(k)
    print(f"physical APIC ID table entry {e.hex} ({k.name} layout)")
    print(f"  host_apic_id [{lay['host_apic_id'].bits}] = {e.host_apic_id} (0x{e.host_apic_id:X})")
    print(f"  backing_page [51:12]  = 0x{e.backing_page:X}")
    print(f"  IsRunning [62]        = {int(e.is_running)}")
    print(f"  Valid [63]            = {int(e.valid)}")
    if e.reserved_bits:
        print(f"  reserved bits set     = 0x{e.reserved_bits:016X}")
    return 0


# ---- galog / irte --------------------------------------------------------------------------------

def _cmd_galog_decode(a: argparse.Namespace) -> int:
    k = _kernel(a.kernel)
    value = parse_int("VALUE", a.value, 0, (1 << 64) - 1)
    e = iommu.decode_ga_log_entry(value, k)
    warning = None
    if e.reserved_bits:
        warning = f"reserved bits 0x{e.reserved_bits:016X} (59:48) are set in this GA-log entry"
    elif not e.is_guest:
        warning = f"type {e.type} is not 1 (guest): KVM's GA-log handler ignores this entry"
    if warning:
        _warn(warning)
    if a.json:
        _print_json({**e.as_dict(), "warning": warning})
        return 0
    print(f"GA-log entry 0x{value:016X}, read by KVM {k.name}")
    print(f"  type [63:60]      = {e.type}" + (" (guest: a posted interrupt found its vCPU not running)"
                                               if e.is_guest else " (not a guest entry)"))
    print(f"  device_id [47:32] = 0x{e.device_id:04X} (PCI {e.device_bdf})")
    print(f"  GATag [31:0]      = 0x{e.ga_tag:08X}: vm_id={e.vm_id} (bits 31:{k.gatag_vcpu_bits}), "
          f"{k.gatag_vcpu_field}={e.vcpu} (bits {k.gatag_vcpu_bits - 1}:0)")
    print(f"  KVM wakes {k.gatag_vcpu_field} {e.vcpu} of the first live VM with AVIC ID {e.vm_id}, "
          "if there is one; the entry carries no vector")
    return 0


def _cmd_irte_decode(a: argparse.Namespace) -> int:
    lo = parse_int("LO", a.lo, 0, (1 << 64) - 1)
    hi = parse_int("HI", a.hi, 0, (1 << 64) - 1)
    e = iommu.decode_irte(lo, hi)
    f = e.fields()
    warnings = []
    if e.reserved_bits:
        warnings.append(f"reserved bits 0x{e.reserved_bits:X} are set in this IRTE")
    if not f["guest_mode"]:
        warnings.append("GuestMode=0: this IRTE is in remapped format; the GA-mode fields below do not apply")
    warning = "; ".join(warnings) or None
    if warning:
        _warn(warning)
    if a.json:
        _print_json({**e.as_dict(), "warning": warning})
        return 0
    print(f"IRTE (GA mode) {e.hex}")
    for lay, half in ((IRTE_GA_LO, 0), (IRTE_GA_HI, 64)):
        for fld, v in reversed(lay.rows(lo if half == 0 else hi)):
            if fld.reserved:
                continue
            bits = f"{fld.msb + half}:{fld.lsb + half}" if fld.width > 1 else str(fld.lsb + half)
            print(f"  {fld.name:<15}[{bits}] = {v} (0x{v:X})")
    print(f"  destination (host APIC ID) = {e.destination}; backing page 0x{f['ga_root_ptr'] << 12:X}")
    return 0


# ---- vm ----------------------------------------------------------------------------------------

def _parse_ids(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "-" in part:
            lo_s, _, hi_s = part.partition("-")
            lo = parse_int("--apic-ids", lo_s, 0, 0xFFFFFFFF)
            hi = parse_int("--apic-ids", hi_s, 0, 0xFFFFFFFF)
            if hi < lo or hi - lo > 1 << 16:
                raise ValueError(f"--apic-ids range {part!r} is empty or too long (at most 65536 ids)")
            out.extend(range(lo, hi + 1))
        else:
            out.append(parse_int("--apic-ids", part, 0, 0xFFFFFFFF))
    if not out:
        raise ValueError(f"--apic-ids={text!r} lists no APIC IDs: give e.g. 0,1,2 or 0-511")
    return out


def _cmd_vm(a: argparse.Namespace) -> int:
    k = _kernel(a.kernel)
    kw: dict = {}
    if a.vcpus is not None:
        kw["vcpus"] = parse_int("--vcpus", a.vcpus, 1, 1 << 16)
    elif a.apic_ids is not None:
        kw["apic_ids"] = _parse_ids(a.apic_ids)
    else:
        kw["topology"] = a.topology
    r = vm.simulate(kernel=k, cpu=a.cpu, guest_apic=a.guest_apic, policy=a.policy, avic=a.avic,
                    kvm_max_vcpus=None if a.kvm_max_vcpus is None else
                    parse_int("--kvm-max-vcpus", a.kvm_max_vcpus, 1, 1 << 16),
                    max_vcpu_ids=None if a.max_vcpu_ids is None else
                    parse_int("--max-vcpu-ids", a.max_vcpu_ids, 1, 1 << 16), **kw)
    if a.json:
        _print_json(r.as_dict())
        return 0
    rng = f" ({k.range_name})" if k.range_name != k.name else ""
    print(f"VM: {r.vcpus} vCPUs (APIC IDs up to {r.max_apic_id}) on Linux {k.name}{rng}, "
          f"CPU {r.cpu}" + (f" (used as {r.effective_cpu})" if r.effective_cpu != r.cpu else "")
          + f", guest {r.guest_apic}" + (", WHAT-IF policy partial-avic" if r.policy != "kernel" else ""))
    print(f"  {r.avic_param_text}")
    print(f"  {r.kvm_max_vcpus_text}")
    if not r.starts:
        print(f"  does NOT start: {r.error}")
    else:
        print("  starts: yes")
        print(f"  AVIC: {r.avic_status}")
        if r.max_index is not None:
            print(f"  max index: 0x{r.max_index:X} ({r.max_index}); table: {r.table_pages} page(s) "
                  f"= {r.table_pages * 512} entries")
        counts = {p: c for p, c in r.path_counts().items() if c}
        print("  IPIs to each vCPU: " + ", ".join(f"{c} {p.replace('_', ' ')}" for p, c in counts.items()))
        al = r.gatag_aliased_vcpus
        if al:
            shown = ", ".join(map(str, al[:8])) + (" ..." if len(al) > 8 else "")
            print(f"  GATag aliasing: {len(al)} vCPUs' device-interrupt wakeups reach another vCPU ({shown})")
    for n in r.notes[2:]:  # the first two are the avic and KVM_MAX_VCPUS lines above
        print(f"  note: {n}")
    return 0


# ---- releases ------------------------------------------------------------------------------------

def _cmd_releases(a: argparse.Namespace) -> int:
    rows = rel.release_rows()
    if a.json:
        _print_json({"releases": rows, "default": rel.newest().name,
                     "mainline": list(rel.mainline_releases()),
                     "stable_backports": [b.describe() for b in rel.stable_backports()]})
        return 0
    if a.csv:
        import csv

        w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
        return 0
    print(f"{'Linux':<14}{'avic default':<14}{'max index xAVIC/x2AVIC/EXT':<28}{'pages':<7}"
          f"{'GATag':<32}{'KVM_MAX_VCPUS':<15}past limit")
    for r, row in zip(rel.release_ranges(), rows):
        mi = " / ".join(row[c] or "-" for c in ("xavic_max_index", "x2avic_max_index", "x2avic_ext_max_index"))
        kmax = f"{r.kvm_max_vcpus}" + (f" (..{r.kvm_max_vcpus_configurable_max})"
                                       if r.kvm_max_vcpus_configurable_max > r.kvm_max_vcpus else "")
        avic = "off" if r.avic_default == "off" else "x2AVIC: on"
        print(f"{r.range_name:<14}{avic:<14}{mi:<28}{r.max_table_pages:<7}{row['gatag'] or 'none':<32}"
              f"{kmax:<15}{row['past_limit']}")
        print(f"{'':<14}source: {r.source}")
        if r.unverified:
            print(f"{'':<14}UNVERIFIED: {r.unverified}")
    print("stable backports (patch-level --kernel names them):")
    for b in rel.stable_backports():
        print(f"  {b.describe()}" + (f" (UNVERIFIED: {b.unverified})" if b.unverified else ""))
    print(f"accepted --kernel: every mainline release {rel.mainline_releases()[0]}..{rel.mainline_releases()[-1]} "
          f"and their stable versions (e.g. 6.1.20); default: {rel.newest().name}")
    return 0


# ---- demo ---------------------------------------------------------------------------------------------

def _cmd_demo(a: argparse.Namespace) -> int:
    from . import demo  # imports voila machinery only when asked

    port = None if a.port is None else parse_int("--port", a.port, 1, 65535)
    room = parse_int("--room", a.room, 0, demo.MAX_ROOM)
    demos = None if a.demos is None else [d.strip() for d in a.demos.split(",") if d.strip()]
    try:
        refill = float(a.refill_after)
    except ValueError:
        raise ValueError(f"--refill-after={a.refill_after!r} is not a number: valid range 1..3600 seconds") from None
    return int(demo.run(port=port, ip=a.ip, open_browser=a.open_browser, room=room, demos=demos,
                        refill_after=refill) or 0)


# ---- parser -------------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    kernels = (f"Linux release {rel.mainline_releases()[0]}..{rel.mainline_releases()[-1]}, e.g. 6.3, v6.3, "
               f"or stable 6.1.20 (default: newest modelled, {rel.newest().name})")
    p = _Parser(prog=PROG, description="AMD AVIC / x2AVIC in Linux KVM, bit for bit, release by release.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    g = sub.add_parser("gatag", help="encode or decode a GATag")
    gs = g.add_subparsers(dest="action", required=True, parser_class=_Parser)
    e = gs.add_parser("encode", help="build the tag KVM writes for a VM ID and a vCPU")
    e.add_argument("--vm-id", required=True, help="VM ID (decimal or 0x-hex, 0..0xFFFFFFFF)")
    e.add_argument("--vcpu", required=True, help="vCPU id (<= v6.16) or index (v6.17+), 0..0xFFFFFFFF")
    e.add_argument("--kernel", help=kernels)
    e.add_argument("--json", action="store_true", help="machine-readable output")
    e.set_defaults(func=_cmd_gatag_encode)
    d = gs.add_parser("decode", help="split a tag as KVM's GA-log handler does")
    d.add_argument("tag", metavar="TAG", help="32-bit tag, decimal or 0x-hex")
    d.add_argument("--kernel", help=kernels)
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_cmd_gatag_decode)

    en = sub.add_parser("entry", help="decode a physical APIC ID table entry")
    ens = en.add_subparsers(dest="action", required=True, parser_class=_Parser)
    ed = ens.add_parser("decode", help="decode a 64-bit entry")
    ed.add_argument("value", metavar="VALUE", help="64-bit entry, decimal or 0x-hex")
    ed.add_argument("--kernel", help=kernels + " (host APIC ID field width)")
    ed.add_argument("--json", action="store_true", help="machine-readable output")
    ed.set_defaults(func=_cmd_entry_decode)

    gl = sub.add_parser("galog", help="decode a GA-log entry (IOMMU)")
    gls = gl.add_subparsers(dest="action", required=True, parser_class=_Parser)
    gd = gls.add_parser("decode", help="decode a 64-bit GA-log entry and split its GATag")
    gd.add_argument("value", metavar="VALUE", help="64-bit GA-log entry, decimal or 0x-hex")
    gd.add_argument("--kernel", help=kernels + " (GATag split)")
    gd.add_argument("--json", action="store_true", help="machine-readable output")
    gd.set_defaults(func=_cmd_galog_decode)

    ir = sub.add_parser("irte", help="decode a GA-mode IOMMU IRTE")
    irs = ir.add_subparsers(dest="action", required=True, parser_class=_Parser)
    idc = irs.add_parser("decode", help="decode a 128-bit IRTE given as two 64-bit halves")
    idc.add_argument("lo", metavar="LO", help="bits 63:0, decimal or 0x-hex")
    idc.add_argument("hi", metavar="HI", help="bits 127:64, decimal or 0x-hex")
    idc.add_argument("--json", action="store_true", help="machine-readable output")
    idc.set_defaults(func=_cmd_irte_decode)

    v = sub.add_parser("vm", help="does a VM start, is AVIC on, how do IPIs travel?")
    who = v.add_mutually_exclusive_group(required=True)
    who.add_argument("--vcpus", help="number of vCPUs (APIC IDs 0..N-1)")
    who.add_argument("--apic-ids", help="explicit APIC IDs in creation order, e.g. 0,1,2 or 0-599")
    who.add_argument("--topology", help="QEMU -smp style: sockets=S,cores=C,threads=T[,dies=D,modules=M]")
    v.add_argument("--kernel", help=kernels)
    v.add_argument("--cpu", choices=rel.CPU_KINDS, default="x2avic", help="CPU capability (default x2avic)")
    v.add_argument("--guest-apic", choices=rel.GUEST_APIC_MODES, default="x2apic",
                   help="guest APIC mode (default x2apic)")
    v.add_argument("--policy", choices=vm.POLICIES, default="kernel",
                   help="kernel (real) or partial-avic (the 2023 thread's never-merged WHAT-IF)")
    v.add_argument("--avic", choices=rel.AVIC_PARAMS, default="on",
                   help="kvm_amd avic parameter: on (default: avic=1, the case taught here), off, or "
                        "default (the release's own default: off up to 6.17, on with x2AVIC from 6.18)")
    v.add_argument("--kvm-max-vcpus", help="KVM_MAX_VCPUS (default: the release's default, 1024 from 5.15)")
    v.add_argument("--max-vcpu-ids", help="the VM's KVM_CAP_MAX_VCPU_ID (default: KVM's)")
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.set_defaults(func=_cmd_vm)

    r = sub.add_parser("releases", help="the per-release cheat sheet: what changes in each range")
    fmt = r.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--csv", action="store_true", help="the cheat sheet as CSV")
    r.set_defaults(func=_cmd_releases)

    dm = sub.add_parser("demo", help="serve the explorers as a Voila workshop app on 127.0.0.1")
    dm.add_argument("--port", help="port (default: a free one)")
    dm.add_argument("--ip", default="127.0.0.1",
                    help="interface to listen on (default 127.0.0.1; anything else exposes a live kernel)")
    dm.add_argument("--room", default="30",
                    help="attendees to be ready for: kernels preheated per demo page (default 30; 0..200)")
    dm.add_argument("--demos", help="comma-separated demos to preheat (default: all of "
                    "device,gatag,past512,physical_table); the others start a kernel when opened")
    dm.add_argument("--refill-after", default="120",
                    help="seconds before a used preheated kernel is replaced (default 120; 1..3600)")
    dm.add_argument("--open-browser", action="store_true", help="open a browser tab")
    dm.set_defaults(func=_cmd_demo)

    from ._cli_host_trace import register  # `avicviz host` and `avicviz trace`

    register(sub, kernels)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 2 bad input)."""
    try:
        args = _parser().parse_args(argv)
        return args.func(args)
    except (UsageError, ValueError) as e:
        msg = " ".join(str(e).split())  # exactly one line
        print(f"{PROG}: error: {msg}", file=sys.stderr)
        return 2


def _entry() -> None:  # pragma: no cover
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `avicviz vm ... --json | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    _entry()
