"""Command line: ``avicviz`` / ``python -m avicviz``.

Human-readable output by default, ``--json`` for machines.  Exit status 0 on success and 2,
with one line on stderr and no traceback, on bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

import importlib

from . import gatag, tables, vm
from ._validate import parse_int
from .layouts import gatag_layout, physical_entry_layout

__all__ = ["main"]

# ``avicviz.releases`` the attribute is the function releases(); get the module itself.
rel = importlib.import_module(".releases", __package__)

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
    if a.json:
        d = {"kernel": k.name, "value": value, "host_apic_id": e.host_apic_id,
             "backing_page": e.backing_page, "is_running": e.is_running, "valid": e.valid,
             "reserved_bits": e.reserved_bits}
        _print_json(d)
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
    r = vm.simulate(kernel=k, cpu=a.cpu, guest_apic=a.guest_apic, policy=a.policy,
                    kvm_max_vcpus=None if a.kvm_max_vcpus is None else
                    parse_int("--kvm-max-vcpus", a.kvm_max_vcpus, 1, 1 << 16),
                    max_vcpu_ids=None if a.max_vcpu_ids is None else
                    parse_int("--max-vcpu-ids", a.max_vcpu_ids, 1, 1 << 16), **kw)
    if a.json:
        _print_json(r.as_dict())
        return 0
    print(f"VM: {r.vcpus} vCPUs (APIC IDs up to {r.max_apic_id}) on Linux {k.name} ({k.range_name}), "
          f"CPU {r.cpu}" + (f" (used as {r.effective_cpu})" if r.effective_cpu != r.cpu else "")
          + f", guest {r.guest_apic}" + (", WHAT-IF policy partial-avic" if r.policy != "kernel" else ""))
    if not r.starts:
        print(f"  does NOT start: {r.error}")
        return 0
    print("  starts: yes")
    if r.avic_active:
        print("  AVIC: active")
    else:
        print("  AVIC: inhibited (" + ", ".join(r.inhibit_reasons) + "): every vCPU uses the emulated APIC")
    print(f"  max index: 0x{r.max_index:X} ({r.max_index}); table: {r.table_pages} page(s) "
          f"= {r.table_pages * 512} entries")
    counts = {p: c for p, c in r.path_counts().items() if c}
    print("  IPIs to each vCPU: " + ", ".join(f"{c} {p.replace('_', ' ')}" for p, c in counts.items()))
    al = r.gatag_aliased_vcpus
    if al:
        shown = ", ".join(map(str, al[:8])) + (" ..." if len(al) > 8 else "")
        print(f"  GATag aliasing: {len(al)} vCPUs' device-interrupt wakeups reach another vCPU ({shown})")
    for n in r.notes:
        print(f"  note: {n}")
    return 0


# ---- releases ------------------------------------------------------------------------------------

def _cmd_releases(a: argparse.Namespace) -> int:
    rows = []
    for r in rel.releases():
        rows.append({
            "range": r.range_name,
            "first": f"{r.first[0]}.{r.first[1]}",
            "last": f"{r.last[0]}.{r.last[1]}",
            "gatag": f"{r.gatag_vcpu_bits}/{r.gatag_vm_id_bits} ({r.gatag_vcpu_field})",
            "gatag_vcpu_bits": r.gatag_vcpu_bits,
            "gatag_vm_id_bits": r.gatag_vm_id_bits,
            "gatag_vcpu_field": r.gatag_vcpu_field,
            "xavic_max_index": r.xavic_max_index,
            "x2avic_max_index": r.x2avic_max_index,
            "x2avic_ext_max_index": r.x2avic_ext_max_index,
            "max_index_mask": f"0x{r.max_index_mask:X}",
            "max_table_pages": r.max_table_pages,
            "past_limit": r.past_limit,
            "host_apic_id_bits": r.host_apic_id_bits,
            "kvm_max_vcpus": r.kvm_max_vcpus,
            "source": r.source,
            "unverified": r.unverified or None,
        })
    if a.json:
        _print_json({"releases": rows, "default": rel.newest().name})
        return 0
    print(f"{'Linux':<14}{'GATag vCPU/VM':<24}{'max index xAVIC/x2AVIC/EXT':<28}{'pages':<7}past limit")
    for r, row in zip(rel.releases(), rows):
        mi = f"0x{r.xavic_max_index:X} / " + (f"0x{r.x2avic_max_index:X}" if r.x2avic_max_index else "-") \
            + " / " + (f"0x{r.x2avic_ext_max_index:X}" if r.x2avic_ext_max_index else "-")
        past = {"einval": "vCPU creation fails (-EINVAL)", "inhibit": "AVIC inhibited (PHYSICAL_ID_TOO_BIG)"}[r.past_limit]
        print(f"{r.range_name:<14}{row['gatag']:<24}{mi:<28}{r.max_table_pages:<7}{past}")
        print(f"{'':<14}source: {r.source}")
        if r.unverified:
            print(f"{'':<14}UNVERIFIED: {r.unverified}")
    print(f"default --kernel: {rel.newest().name}")
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
    kernels = f"mainline Linux release, e.g. 6.3, v6.3, 6.1.20 (default: newest modelled, {rel.newest().name})"
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
    v.add_argument("--kvm-max-vcpus", help="KVM_MAX_VCPUS (default: the largest configurable)")
    v.add_argument("--max-vcpu-ids", help="the VM's KVM_CAP_MAX_VCPU_ID (default: KVM's)")
    v.add_argument("--json", action="store_true", help="machine-readable output")
    v.set_defaults(func=_cmd_vm)

    r = sub.add_parser("releases", help="the modelled releases and what changes in each")
    r.add_argument("--json", action="store_true", help="machine-readable output")
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
