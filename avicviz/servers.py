"""Start, wait for and stop a Jupyter server (Voilà, JupyterLab) and everything it started.

One implementation for ``avicviz demo`` and for the tests and benchmarks that drive servers
(tests/browser/harness.py, benchmarks/workshop.py).  Standard library only.

A server's kernels run in sessions of their own (jupyter_client starts them with
``start_new_session``), so signalling the server's process group does not reach them.
:func:`stop` therefore notes every descendant first, asks the server to stop (SIGTERM: it shuts
its kernels down), and then ends whatever is left, SIGTERM before SIGKILL.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["NODELAY_CLASS", "free_port", "descendants", "alive", "wait_http", "stop", "memory", "cpu_seconds", "get_json", "stop_using"]

#: (pid, start time) of a process: the start time tells a reused pid from the original
Proc = tuple[int, str]

#: The kernel websocket class every server avicviz starts uses (``--ServerApp.`` or ``--Voila.``
#: ``kernel_websocket_connection_class``): it answers a slider without a 40 ms Nagle delay
#: (see :mod:`avicviz.kernel_socket`).
NODELAY_CLASS = "avicviz.kernel_socket.NoDelayConnection"

_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now, chosen by the operating system.

    >>> 1024 <= free_port() <= 65535
    True
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, start time, state) for every process on the machine."""
    out: dict[int, tuple[int, str, str]] = {}
    proc = Path("/proc")
    if proc.is_dir():
        for d in proc.iterdir():
            if not d.name.isdigit():
                continue
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            out[int(d.name)] = (int(fields[1]), fields[19], fields[0])
        return out
    # macOS and other Unixes: ps gives the same columns
    text = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,stat=,lstart="], capture_output=True,
                          text=True, check=False).stdout
    for line in text.splitlines():
        parts = line.split(None, 3)
        if len(parts) == 4:
            out[int(parts[0])] = (int(parts[1]), parts[3].strip(), parts[2][:1])
    return out


def descendants(pid: int) -> list[Proc]:
    """Every live descendant of ``pid`` as (pid, start time).

    >>> descendants(os.getpid()) == [] or all(isinstance(p, int) for p, _ in descendants(os.getpid()))
    True
    """
    children: dict[int, list[Proc]] = {}
    for p, (ppid, start, state) in _table().items():
        if state != "Z":
            children.setdefault(ppid, []).append((p, start))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c[0])
    return out


def alive(procs: list[Proc]) -> list[Proc]:
    """Those of ``procs`` still running (same pid and start time, not a zombie)."""
    table = _table()
    return [(p, s) for p, s in procs if p in table and table[p][1] == s and table[p][2] != "Z"]


def wait_http(proc: subprocess.Popen, url: str, timeout: float, log: Path | None = None) -> None:
    """Wait until ``url`` answers 200.  RuntimeError (with the log's tail) when the server
    exits first or does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}" + _tail(log))
        try:
            with _NO_PROXY.open(url, timeout=2) as r:
                if r.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s" + _tail(log))


def _tail(log: Path | None, n: int = 3000) -> str:
    if log is None:
        return ""
    try:
        return ":\n" + log.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def stop(proc: subprocess.Popen, grace: float = 15.0) -> None:
    """Stop a server and every process it started; returns when none of them is left.

    SIGTERM to the server (Voilà and Jupyter Server then shut their kernels down), SIGKILL if it
    has not exited within ``grace`` seconds; then SIGTERM, and after 5 s SIGKILL, to any
    descendant still running.
    """
    kids = descendants(proc.pid)
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    left = alive(kids)
    for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 2.0)):
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = alive(left)
        if not left:
            return


def memory(pid: int) -> tuple[int, int] | None:
    """(private, proportional) memory of one process in bytes, or None when it has gone.

    ``private``: pages no other process shares (what one more such process adds); PSS adds
    each shared page divided by the number of processes sharing it.  On Linux from
    /proc/PID/smaps_rollup; elsewhere both are the resident size.

    >>> priv, pss = memory(os.getpid()); 0 < priv <= pss * 2
    True
    """
    try:
        fields = {}
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("Pss", "Private_Clean", "Private_Dirty"):
                fields[key] = int(rest.split()[0]) * 1024
        return fields["Private_Clean"] + fields["Private_Dirty"], fields["Pss"]
    except (OSError, KeyError, ValueError, IndexError):
        pass
    if sys.platform.startswith("linux"):
        return None
    out = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True).stdout
    return (int(out) * 1024,) * 2 if out.strip() else None


def cpu_seconds(pids: list[int]) -> float | None:
    """CPU time (user + system, seconds) used so far by ``pids`` together; None off Linux."""
    if not Path("/proc").is_dir():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += int(f[11]) + int(f[12])
    return total / tick


def get_json(url: str, timeout: float = 5.0):
    """GET ``url`` (never through a proxy) and decode its JSON; None on any failure."""
    import json

    try:
        with _NO_PROXY.open(url, timeout=timeout) as r:
            return json.loads(r.read().decode())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def stop_using(path: str | Path, grace: float = 5.0) -> None:
    """End every process of this user whose command line names ``path`` (Linux; elsewhere a
    no-op): kernels whose connection file lies in a server's private folder, started in the
    instant before the server stopped, are orphans no process tree leads to any more."""
    needle = str(path).encode()
    me = os.getpid()

    def users() -> list[Proc]:
        out = []
        for d in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
            if not d.name.isdigit() or int(d.name) == me:
                continue
            try:
                if needle in (d / "cmdline").read_bytes() and d.stat().st_uid == os.getuid():
                    st = (d / "stat").read_text().rsplit(")", 1)[1].split()
                    out.append((int(d.name), st[19]))
            except (OSError, IndexError):
                continue
        return out

    left = users()
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 2.0)):
        for pid, _ in left:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while left and time.monotonic() < deadline:
            time.sleep(0.05)
            left = alive(left)
        if not left:
            return
