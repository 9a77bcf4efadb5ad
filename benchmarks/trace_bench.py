"""Throughput and memory of ``avicviz trace`` on large generated files (target: >= 300,000 lines/s).

    PYTHONPATH=$PWD .venv/bin/python benchmarks/trace_bench.py [--mb 200 1000] [--dir /tmp]

Builds files in --dir (never in the repository) by repeating data/sample_avic_trace.txt with
shifted timestamps, in two mixes: "avic-only" (every line an AVIC event, as a recording made
with only -e kvm:kvm_avic_* gives) and "mixed" (three kvm_entry/kvm_exit lines per AVIC event,
as a recording of all kvm events gives).  Each file is summarised in a fresh process; the
script prints lines per second and the process's peak resident memory (ru_maxrss).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample_avic_trace.txt"
_TS = re.compile(r"(\d+\.\d+): ")


def build(path: Path, mb: int, mixed: bool, squeeze: float) -> None:
    if path.exists() and path.stat().st_size >= mb << 20:
        return
    src = [l for l in SAMPLE.read_text().splitlines(keepends=True) if not l.startswith(("#", "cpus="))]
    noise = ["       CPU 3/KVM-7003   [006]  {t:12.6f}: kvm_exit: vcpu 3 reason npf rip 0xffffffff81a0c2b2 "
             "info1 0x0000000100000004 info2 0x00000000fee000b0 intr_info 0x00000000 error_code 0x00000000\n",
             "       CPU 3/KVM-7003   [006]  {t:12.6f}: kvm_entry: vcpu 3, rip 0xffffffff81a0c2b2\n",
             "       CPU 5/KVM-7005   [010]  {t:12.6f}: kvm_exit: vcpu 5 reason hlt rip 0xffffffff81b2e0a4 "
             "info1 0x0000000000000000 info2 0x0000000000000000 intr_info 0x00000000 error_code 0x00000000\n"]
    offset = 0.0
    with open(path, "w") as f:
        f.write("cpus=16\n")
        while f.tell() < mb << 20:
            out = []
            for line in src:
                m = _TS.search(line)
                t = (float(m.group(1)) - 4200.0) / squeeze + offset
                out.append(line[:m.start(1)] + f"{t:.6f}" + line[m.end(1):])
                if mixed:
                    out.extend(n.format(t=t) for n in noise)
            f.write("".join(out))
            offset += 10.0 / squeeze


def measure(path: Path) -> dict:
    code = ("import resource, sys, time; from avicviz.trace import summarize_file; t = time.perf_counter(); "
            "s = summarize_file(sys.argv[1]); dt = time.perf_counter() - t; "
            "print(s.lines, s.event_lines, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=True)
    lines, events, dt, rss = out.stdout.split()
    return {"file": path.name, "MB": path.stat().st_size / 2**20, "lines": int(lines), "events": int(events),
            "seconds": float(dt), "lines_per_s": int(lines) / float(dt), "peak_rss_MB": int(rss) / 1024}


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=int, nargs="+", default=[50, 400])
    p.add_argument("--dir", default="/tmp")
    p.add_argument("--squeeze", type=float, nargs="+", default=[1.0, 100.0],
                   help="time compression of the sample: 1 keeps its ~330 AVIC events/s, 100 makes ~33,000/s")
    a = p.parse_args(argv)
    rows = []
    for squeeze in a.squeeze:
        for mixed in (False, True):
            for mb in a.mb:
                kind = "mixed" if mixed else "avic-only"
                path = Path(a.dir) / f"avicviz-bench-{kind}-x{squeeze:g}-{mb}MB.txt"
                build(path, mb, mixed, squeeze)
                rows.append(measure(path))
                r = rows[-1]
                print(f"{r['file']:<42} {r['MB']:7.0f} MB {r['lines']:>10} lines {r['seconds']:7.2f} s "
                      f"{r['lines_per_s']:>10,.0f} lines/s  peak RSS {r['peak_rss_MB']:6.1f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
