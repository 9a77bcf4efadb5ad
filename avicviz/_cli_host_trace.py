"""The ``avicviz host`` and ``avicviz trace`` subcommands (registered by :mod:`avicviz.cli`)."""

from __future__ import annotations

import argparse
import json

from ._validate import parse_int

__all__ = ["register"]


def _print_json(obj: dict) -> None:
    print(json.dumps(obj, indent=2))


def _cmd_host(a: argparse.Namespace) -> int:
    from . import host

    vcpus = None if a.vcpus is None else parse_int("--vcpus", a.vcpus, 1, 1 << 16)
    rep = host.check_host(a.root, vcpus=vcpus)
    if a.json:
        _print_json(rep.as_dict())
    else:
        print(host.format_report(rep))
    return 0


def _cmd_trace(a: argparse.Namespace) -> int:
    from . import trace

    summary = trace.summarize_file(a.file, kernel=a.kernel)
    if a.json:
        _print_json(summary.as_dict())
    else:
        print(trace.format_summary(summary))
    return 0


def register(sub, kernels_help: str) -> None:
    """Add ``host`` and ``trace`` to the CLI's subparsers."""
    h = sub.add_parser("host", help="is AVIC on for new VMs on this host, and what happens to a VM of N vCPUs?")
    h.add_argument("--vcpus", help="vCPUs of the VM to ask about (default: this host's logical CPU count)")
    h.add_argument("--root", default="/",
                   help="read /proc and /sys under this folder instead of / (a copy from another machine)")
    h.add_argument("--json", action="store_true", help="machine-readable output")
    h.set_defaults(func=_cmd_host)

    t = sub.add_parser("trace", help="summarise the KVM AVIC events in a recorded trace (trace-cmd, perf, tracefs)")
    t.add_argument("file", metavar="FILE", help="text output of trace-cmd report, perf script, or tracefs' trace file")
    t.add_argument("--kernel", help=kernels_help + "; names the inhibit reasons and IPI causes by that "
                   "release's numbering (default: the newest)")
    t.add_argument("--json", action="store_true", help="machine-readable output")
    t.set_defaults(func=_cmd_trace)
