"""Workshop mode: serve the demo notebooks (``notebooks/demos/``) to a room, as a Voilà app.

``avicviz demo`` (and ``make demo``) calls :func:`run`.  Voilà shows each notebook's widgets
and charts without its code, but every page still talks to a live Python kernel: whoever can
reach the port and knows the token can run code as the user who started the server.  So the
server listens on 127.0.0.1 unless asked otherwise, a fresh random token is required, and any
other interface is announced with a warning.

A room opens a demo at the same moment.  Starting a kernel and running the demo takes seconds
of CPU per page, so 30 attendees on a 2-core laptop would wait half a minute each.  Instead
every page's kernel is started, and its notebook run, before anyone asks: Voilà's preheated
kernels, one pool per notebook sized for the room (``room``, ``--room``).  The server prints
"ready" once every pool is full, with the memory each attendee's kernel takes.

Stopping (Ctrl-C, SIGTERM, SIGHUP) ends Voilà and every kernel it started.

Only the standard library is imported here; Voilà runs in a child process.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

from . import servers
from ._resources import resource_dir

__all__ = ["demos_dir", "demo_names", "new_token", "is_loopback", "free_port", "voila_command",
           "landing_url", "share_warning", "check_port", "check_room", "pool_config",
           "voila_config", "memory_estimate", "run", "LANDING", "DEFAULT_ROOM", "MAX_ROOM",
           "DEFAULT_REFILL_AFTER", "spare_kernels",
           "MISSING_VOILA", "TEMPLATE"]

#: The notebook the printed URL opens: links to every demo.
LANDING = "index.ipynb"
#: Attendees the server is ready for by default.
DEFAULT_ROOM = 30
#: Seconds after a kernel is taken from a pool before Voilà starts its replacement.  Starting
#: and running a demo costs 1-3 s of CPU per kernel: replacing 30 at once, while the room is
#: opening its pages, made pages wait 6-12 s here (benchmarks/results.md).  So the room's
#: kernels are replaced a while after it arrived, and spare kernels (``spare_kernels``) serve
#: latecomers and reloads meanwhile.
DEFAULT_REFILL_AFTER = 120.0
#: The largest room one server is sized for (beyond it: JupyterHub, see the README).
MAX_ROOM = 200
#: Memory one preheated kernel takes, measured (PSS, December 2026: 75-90 MB for a demo,
#: about 60 MB for the landing page); used for the estimate printed before starting.
KERNEL_MB_ESTIMATE = 90
#: The error when Voilà is not installed.
MISSING_VOILA = ("`avicviz demo` needs Voilà, which is not installed: "
                 "pip install 'avicviz[demo]' (or run `make demo` in the repository)")
#: Voilà page template shipped in the package (avicviz/_jupyter): nothing fetched from a CDN.
TEMPLATE = "avicviz"

_LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def demos_dir() -> Path:
    """The folder holding the demo notebooks (shipped inside the package as ``avicviz.demos``).

    >>> demos_dir().name, (demos_dir() / "index.ipynb").exists()
    ('demos', True)
    """
    here = resource_dir("demos")
    if not (here / LANDING).exists():
        raise FileNotFoundError(f"the demo notebooks are not at {here}: reinstall avicviz")
    return here


def demo_names(folder: Path | None = None) -> list[str]:
    """The demo notebooks' names (without ``.ipynb``), landing page excluded.

    >>> demo_names()
    ['device', 'gatag', 'past512', 'physical_table']
    """
    folder = demos_dir() if folder is None else folder
    return sorted(p.stem for p in folder.glob("*.ipynb") if p.name != LANDING)


def new_token() -> str:
    """A fresh, unguessable token (48 hex digits).

    >>> t = new_token(); len(t), t != new_token()
    (48, True)
    """
    return secrets.token_hex(24)


def is_loopback(ip: str) -> bool:
    """True for addresses only this machine can reach.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost")
    (True, True, True)
    >>> is_loopback("0.0.0.0"), is_loopback("192.168.1.20"), is_loopback("")
    (False, False, False)
    """
    if ip.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


def share_warning(ip: str) -> str | None:
    """The one-line warning printed when the server listens beyond this machine, else None.

    >>> share_warning("127.0.0.1") is None
    True
    >>> print(share_warning("0.0.0.0"))  # doctest: +ELLIPSIS
    WARNING: listening on 0.0.0.0: anyone on the network who has the URL with its token can run any code ...
    """
    if is_loopback(ip):
        return None
    return (f"WARNING: listening on {ip}: anyone on the network who has the URL with its token can "
            "run any code in the demo's Python kernel, as your user, with your files; share the "
            "token only with people you trust and stop the server (Ctrl-C) after the workshop.")


def _check_ip(ip: str) -> str:
    if not isinstance(ip, str) or not ip.strip():
        raise ValueError(f"--ip={ip!r} is not an address: give e.g. 127.0.0.1 or 0.0.0.0")
    ip = ip.strip()
    if ip.lower() in _LOOPBACK_NAMES:
        return ip
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise ValueError(f"--ip={ip!r} is not an IPv4 or IPv6 address: give e.g. 127.0.0.1 or 0.0.0.0") from None
    return ip


def _bind_host(ip: str) -> str:
    return "127.0.0.1" if ip.lower() in _LOOPBACK_NAMES else ip


def check_port(port: object, ip: str = "127.0.0.1") -> int:
    """Validate ``port`` (1..65535, free on ``ip``) and return it; ValueError otherwise.

    >>> check_port(0)
    Traceback (most recent call last):
    ...
    ValueError: --port=0 is out of range: valid range 1..65535
    >>> check_port("8866")
    Traceback (most recent call last):
    ...
    ValueError: --port='8866' is not a whole number: valid range 1..65535
    """
    if isinstance(port, bool) or not isinstance(port, int):
        raise ValueError(f"--port={port!r} is not a whole number: valid range 1..65535")
    if not 1 <= port <= 65535:
        raise ValueError(f"--port={port} is out of range: valid range 1..65535")
    host = _bind_host(ip)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except PermissionError:
            raise ValueError(f"--port={port}: not allowed to listen on it (ports below 1024 need "
                             "root); pick one above 1024 or leave --port out") from None
        except OSError as e:
            raise ValueError(f"--port={port} on {ip} is not available ({e.strerror or e}); pick "
                             "another or leave --port out to get a free one") from None
    return port


def free_port(ip: str = "127.0.0.1") -> int:
    """A port nobody listens on right now, chosen by the operating system.

    >>> 1024 <= free_port() <= 65535
    True
    """
    return servers.free_port(_bind_host(ip))


def _probe_host(ip: str) -> str:
    """Where this machine reaches a server listening on ``ip``."""
    if ip == "0.0.0.0" or ip.lower() in _LOOPBACK_NAMES:
        return "127.0.0.1"
    if ip == "::":
        return "[::1]"
    return f"[{ip}]" if ":" in ip else ip


def _url_host(ip: str) -> str:
    if ip in ("0.0.0.0", "::"):  # listens everywhere: this machine's own name is the useful URL
        return socket.gethostname()
    return f"[{ip}]" if ":" in ip else ip


def landing_url(ip: str, port: int, token: str, notebook: str = LANDING) -> str:
    """The full URL of a demo page, token included.

    >>> landing_url("127.0.0.1", 8866, "abc")
    'http://127.0.0.1:8866/voila/render/index.ipynb?token=abc'
    >>> landing_url("::1", 8866, "abc", "gatag.ipynb")
    'http://[::1]:8866/voila/render/gatag.ipynb?token=abc'
    """
    return f"http://{_url_host(ip)}:{port}/voila/render/{notebook}?token={token}"


def check_room(room: object) -> int:
    """Validate ``room`` (attendees, 0..MAX_ROOM) and return it; ValueError otherwise.

    0 preheats nothing: every page starts its kernel when it is opened.

    >>> check_room(30)
    30
    >>> check_room(201)
    Traceback (most recent call last):
    ...
    ValueError: --room=201 is out of range: valid range 0..200 (beyond one machine, see JupyterHub in the README)
    """
    if isinstance(room, bool) or not isinstance(room, int):
        raise ValueError(f"--room={room!r} is not a whole number: valid range 0..{MAX_ROOM}")
    if not 0 <= room <= MAX_ROOM:
        raise ValueError(f"--room={room} is out of range: valid range 0..{MAX_ROOM} "
                         "(beyond one machine, see JupyterHub in the README)")
    return room


def spare_kernels(room: int) -> int:
    """Kernels preheated per page beyond the room's size: for latecomers and reloads until the
    used kernels are replaced (one per ten attendees, at least two; none for an empty room).

    >>> spare_kernels(30), spare_kernels(5), spare_kernels(0)
    (3, 2, 0)
    """
    return 0 if room == 0 else max(2, room // 10)


def pool_config(room: int, demos: Sequence[str] | None = None, folder: Path | None = None) -> dict:
    """Voilà's ``kernel_pools_config``: ``room`` plus :func:`spare_kernels` preheated kernels for
    the landing page and for each of ``demos`` (default: every demo), none for anything else.

    >>> cfg = pool_config(30, ["gatag"])
    >>> cfg["gatag.ipynb"]["pool_size"], cfg["index.ipynb"]["pool_size"], cfg["default"]["pool_size"]
    (33, 33, 0)
    >>> sorted(pool_config(2))
    ['default', 'device.ipynb', 'gatag.ipynb', 'index.ipynb', 'past512.ipynb', 'physical_table.ipynb']
    >>> pool_config(2, ["gatg"])
    Traceback (most recent call last):
    ...
    ValueError: --demos: 'gatg' is not a demo: valid demos are device, gatag, past512, physical_table
    """
    room = check_room(room)
    valid = demo_names(folder)
    chosen = valid if demos is None else list(demos)
    for name in chosen:
        if name not in valid:
            raise ValueError(f"--demos: {name!r} is not a demo: valid demos are {', '.join(valid)}")
    cfg: dict = {"default": {"pool_size": 0}}
    for name in [LANDING.removesuffix(".ipynb"), *chosen]:
        cfg[f"{name}.ipynb"] = {"pool_size": room + spare_kernels(room)}
    return cfg


def check_refill_after(seconds: object) -> float:
    """Validate ``seconds`` (--refill-after, 1..3600) and return it as a float.

    >>> check_refill_after(0)
    Traceback (most recent call last):
    ...
    ValueError: --refill-after=0 is out of range: valid range 1..3600 seconds
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds != seconds:
        raise ValueError(f"--refill-after={seconds!r} is not a number: valid range 1..3600 seconds")
    if not 1 <= seconds <= 3600:
        raise ValueError(f"--refill-after={seconds} is out of range: valid range 1..3600 seconds")
    return float(seconds)


def voila_config(room: int, demos: Sequence[str] | None = None, folder: Path | None = None,
                 refill_after: float = DEFAULT_REFILL_AFTER) -> dict:
    """The contents of the ``voila.json`` that ``avicviz demo`` gives Voilà.

    >>> c = voila_config(30, ["gatag"])
    >>> c["VoilaConfiguration"]["preheat_kernel"], c["VoilaKernelManager"]["kernel_pools_config"]["gatag.ipynb"]
    (True, {'pool_size': 33})
    >>> c["VoilaKernelManager"]["fill_delay"]
    120.0
    """
    return {
        "VoilaConfiguration": {"preheat_kernel": True, "template": TEMPLATE},
        "VoilaKernelManager": {"kernel_pools_config": pool_config(room, demos, folder),
                               "fill_delay": check_refill_after(refill_after)},
    }


def memory_estimate(room: int, demos: Sequence[str] | None = None) -> int:
    """Megabytes the preheated kernels will take, before anything is measured.

    >>> memory_estimate(30, ["gatag"])  # the landing page and one demo, 30 + 3 spare kernels each
    5940
    """
    pools = pool_config(room, demos)
    return sum(v["pool_size"] for k, v in pools.items() if k != "default") * KERNEL_MB_ESTIMATE


def _available_mb() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return None


def voila_command(notebook_dir: str | Path, port: int, token: str, ip: str = "127.0.0.1",
                  python: str | None = None, extra: Sequence[str] = (),
                  show_tracebacks: bool = False) -> list[str]:
    """The Voilà command line serving ``notebook_dir`` (no server is started).

    The token is required on every request, the port is fixed (no silent retry on another
    port), Voilà never opens a browser itself, a page shows no Python traceback unless
    ``show_tracebacks`` (tests), and the kernel's answers reach the page without a Nagle delay
    (:mod:`avicviz.kernel_socket`).

    >>> cmd = voila_command("/x/demos", 8866, "abc", python="python3")
    >>> cmd[:4], cmd[4:]
    (['python3', '-m', 'voila', '/x/demos'], ['--no-browser', '--port=8866', '--Voila.ip=127.0.0.1', \
'--Voila.port_retries=0', '--Voila.token=abc', '--show_tracebacks=False', \
'--Voila.kernel_websocket_connection_class=avicviz.kernel_socket.NoDelayConnection'])
    """
    if not token:
        raise ValueError("an empty token would let anyone who reaches the port in: give a token")
    return [python or sys.executable, "-m", "voila", str(notebook_dir), "--no-browser",
            f"--port={int(port)}", f"--Voila.ip={ip}", "--Voila.port_retries=0",
            f"--Voila.token={token}", f"--show_tracebacks={show_tracebacks}",
            f"--Voila.kernel_websocket_connection_class={servers.NODELAY_CLASS}", *extra]


def voila_env(base: dict | None = None) -> dict:
    """The environment for Voilà: ``JUPYTER_PATH`` also finds avicviz's page template."""
    env = dict(os.environ if base is None else base)
    ours = str(Path(__file__).resolve().parent / "_jupyter")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (ours, env.get("JUPYTER_PATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


_FILLED = re.compile(r"Kernel pool of (\S+) is filled with (\d+) kernel")


def _pools_filled(log: Path) -> set[str]:
    try:
        return {m.group(1) for m in _FILLED.finditer(log.read_text(errors="replace"))}
    except OSError:
        return set()


class _Stop(Exception):
    """SIGTERM or SIGHUP arrived."""


def _raise_stop(signum, frame):  # pragma: no cover - exercised through a real signal
    raise _Stop(signal.Signals(signum).name)


_last_cpu: dict = {}


def _kernels_settled(proc: subprocess.Popen, base: str, token: str, conn_dir: Path, expected: int) -> bool:
    """Every one of at least ``expected`` kernels reports idle and, on Linux, the kernels used
    (almost) no CPU since the previous call: their notebooks have run."""
    ids = [p.stem.removeprefix("kernel-") for p in conn_dir.rglob("kernel-*.json")]
    states = [(servers.get_json(f"{base}/api/kernels/{kid}?token={token}") or {}).get("execution_state")
              for kid in ids]
    if states.count("idle") < expected or "busy" in states or "starting" in states:
        return False
    kernels = [pid for pid, _ in servers.descendants(proc.pid)]
    cpu, now = servers.cpu_seconds(kernels), time.monotonic()
    last = _last_cpu.get(proc.pid)
    _last_cpu[proc.pid] = (cpu, now)
    if cpu is None:
        return True
    # idle kernels use about 0.01 % of a core each; one still running its notebook uses ~100 %
    return last is not None and (cpu - last[0]) / max(1e-3, now - last[1]) < 0.2


def _kernel_memory(proc: subprocess.Popen) -> list[tuple[int, int]]:
    """(private, proportional) memory in bytes of each process Voilà runs now (its kernels)."""
    return [m for pid, _ in servers.descendants(proc.pid) if (m := servers.memory(pid))]


def _fmt_mb(b: float) -> str:
    return f"{b / 2**20:.0f} MB"


def run(port: int | None = None, ip: str = "127.0.0.1", open_browser: bool = False,
        room: int = DEFAULT_ROOM, demos: Sequence[str] | None = None,
        refill_after: float = DEFAULT_REFILL_AFTER, ready_timeout: float | None = None) -> int:
    """Serve the demos until Ctrl-C, SIGTERM or SIGHUP; returns 0 then, or Voilà's exit status
    if it stops by itself.

    Prints the landing page's URL with a fresh token, a warning when ``ip`` is not a loopback
    address, and "ready" once ``room`` kernels are preheated for the landing page and for each
    of ``demos`` (default: all), with the memory per attendee.  Raises ValueError for an unusable
    ``ip``, ``port``, ``room`` or ``demos``, when Voilà is not installed or when the demo notebooks
    cannot be found.
    """
    ip = _check_ip(ip)
    room = check_room(room)
    port = free_port(ip) if port is None else check_port(port, ip)
    try:
        folder = demos_dir()
    except FileNotFoundError as e:  # reported by the CLI in one line, like other bad setups
        raise ValueError(str(e)) from None
    config = voila_config(room, demos, folder, refill_after)
    if importlib.util.find_spec("voila") is None:
        raise ValueError(MISSING_VOILA)
    kernels = sum(v["pool_size"] for k, v in config["VoilaKernelManager"]["kernel_pools_config"].items()
                  if k != "default")
    estimate = kernels * KERNEL_MB_ESTIMATE
    available = _available_mb()
    if available is not None and estimate > 0.9 * available:
        raise ValueError(f"--room={room}: {kernels} preheated kernels need about {estimate} MB but "
                         f"{available} MB are available; preheat fewer with a smaller --room or "
                         "--demos NAME,... (the demos you will show)")
    token = new_token()
    url = landing_url(ip, port, token)
    warning = share_warning(ip)
    if warning:
        print(warning, flush=True)
    pooled = sorted(k for k, v in config["VoilaKernelManager"]["kernel_pools_config"].items()
                    if k != "default" and v["pool_size"])
    print(f"avicviz workshop demos: starting Voilà on {ip}:{port} for a room of {room}: "
          f"preheating {kernels} kernels (about {estimate} MB) (Ctrl-C stops it)", flush=True)
    old = {}
    with tempfile.TemporaryDirectory(prefix="avicviz-demo-") as tmp:
        tmpdir = Path(tmp)
        (tmpdir / "voila.json").write_text(json.dumps(config, indent=1))
        log = tmpdir / "voila.log"
        # Kernels talk over Unix sockets in that folder, not TCP ports: starting dozens of kernels
        # at once raced for ports (ZMQError "Address already in use", kernels restarted or lost).
        extra = [f"--Voila.config_file_paths={tmpdir}", f"--Voila.connection_dir_root={tmpdir}",
                 *(["--KernelManager.transport=ipc"] if os.name == "posix" else [])]
        # The main thread turns SIGTERM and SIGHUP into a clean stop (Ctrl-C: KeyboardInterrupt).
        for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if sig is not None:
                try:
                    old[sig] = signal.signal(sig, _raise_stop)
                except ValueError:  # not the main thread: the caller handles signals
                    break
        proc = None
        try:
            with open(log, "wb") as logf:
                # A session of its own: Ctrl-C in the terminal reaches only us; we stop Voilà.
                proc = subprocess.Popen(voila_command(folder, port, token, ip, extra=extra),
                                        stdin=subprocess.DEVNULL, stdout=logf,
                                        stderr=subprocess.STDOUT, env=voila_env(),
                                        start_new_session=True)
            t0 = time.monotonic()
            timeout = ready_timeout if ready_timeout is not None else 60 + 4.0 * kernels
            try:
                servers.wait_http(proc, f"http://{_probe_host(ip)}:{port}/?token={token}",
                                  timeout=min(timeout, 60.0), log=log)
            except RuntimeError as e:
                print(f"avicviz demo: Voilà did not start: {e}", file=sys.stderr, flush=True)
                return proc.returncode or 1
            # Ready = every pool full (Voilà logs it once the kernels are started) and every
            # preheated kernel done running its notebook (idle, and no more CPU being used).
            probe = f"http://{_probe_host(ip)}:{port}"
            quiet = 0
            while time.monotonic() - t0 < timeout and proc.poll() is None:
                if not set(pooled) - _pools_filled(log) and _kernels_settled(proc, probe, token, tmpdir, kernels):
                    quiet += 1
                    if quiet >= 2:
                        break
                else:
                    quiet = 0
                time.sleep(0.5)
            if proc.poll() is not None:
                print(f"avicviz demo: Voilà stopped (status {proc.returncode}); its log:\n"
                      + log.read_text(errors="replace")[-3000:], file=sys.stderr, flush=True)
                return proc.returncode or 1
            missing = sorted(set(pooled) - _pools_filled(log))
            took = time.monotonic() - t0
            mem = _kernel_memory(proc)
            ready = not missing and quiet >= 2
            if missing:
                print(f"avicviz demo: NOT ready after {took:.0f} s: the pools of "
                      f"{', '.join(missing)} are still filling; pages open, but slower", flush=True)
            elif not ready:
                print(f"avicviz demo: NOT ready after {took:.0f} s: the preheated kernels are still "
                      "running their notebooks; pages open, but slower", flush=True)
            elif mem:
                private = [m[0] for m in mem]
                print(f"  {len(mem)} kernels preheated in {took:.0f} s, {_fmt_mb(sum(m[1] for m in mem))} "
                      f"in total; memory per attendee (one open page = one kernel): "
                      f"{_fmt_mb(sum(private) / len(private))} on average, {_fmt_mb(max(private))} at most "
                      "(private memory)", flush=True)
            who = "1 attendee" if room == 1 else f"{room} attendees"
            print(f"\n  {f'READY for {who}.' if ready else 'Not ready yet.'} Open the demos: {url}\n", flush=True)
            if open_browser:
                import webbrowser

                webbrowser.open(url)
            return proc.wait() or 0
        except (KeyboardInterrupt, _Stop):
            return 0
        finally:
            if proc is not None:
                # A second Ctrl-C or SIGTERM must not cut the shutdown short and orphan kernels.
                for sig in old:
                    signal.signal(sig, signal.SIG_IGN)
                if old:
                    old.setdefault(signal.SIGINT, signal.signal(signal.SIGINT, signal.SIG_IGN))
                servers.stop(proc)
                servers.stop_using(tmpdir)  # a kernel started as Voilà stopped: no tree leads to it
            for sig, handler in old.items():
                signal.signal(sig, handler)
