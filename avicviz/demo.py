"""Workshop mode: serve the demo notebooks in ``notebooks/demos/`` as a Voilà app.

``avicviz demo`` (and ``make demo``) calls :func:`run`.  Voilà shows each notebook's widgets
and charts without its code, but every page still talks to a live Python kernel: whoever can
reach the port and knows the token can run code as the user who started the server.  So the
server listens on 127.0.0.1 unless asked otherwise, a fresh random token is required, and any
other interface is announced with a warning.

Only the standard library is imported here; Voilà runs in a child process.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Sequence

__all__ = ["demos_dir", "new_token", "is_loopback", "free_port", "voila_command", "landing_url",
           "share_warning", "check_port", "run", "LANDING"]

#: The notebook the printed URL opens: links to every demo.
LANDING = "index.ipynb"

_LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def demos_dir() -> Path:
    """The folder holding the demo notebooks (``notebooks/demos`` beside the package).

    >>> demos_dir().name, (demos_dir() / "index.ipynb").exists()
    ('demos', True)
    """
    here = Path(__file__).resolve().parent.parent / "notebooks" / "demos"
    if not (here / LANDING).exists():
        raise FileNotFoundError(
            f"the demo notebooks are not at {here}: run `avicviz demo` from an editable install "
            "of the avicviz repository (pip install -e .)")
    return here


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
    host = _bind_host(ip)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


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


def voila_command(notebook_dir: str | Path, port: int, token: str, ip: str = "127.0.0.1",
                  python: str | None = None, extra: Sequence[str] = ()) -> list[str]:
    """The Voilà command line serving ``notebook_dir`` (no server is started).

    The token is required on every request, the port is fixed (no silent retry on another
    port), and Voilà never opens a browser itself.

    >>> cmd = voila_command("/x/demos", 8866, "abc", python="python3")
    >>> cmd[:4], cmd[4:]
    (['python3', '-m', 'voila', '/x/demos'], ['--no-browser', '--port=8866', '--Voila.ip=127.0.0.1', \
'--Voila.port_retries=0', '--Voila.token=abc', '--show_tracebacks=False'])
    """
    if not token:
        raise ValueError("an empty token would let anyone who reaches the port in: give a token")
    return [python or sys.executable, "-m", "voila", str(notebook_dir), "--no-browser",
            f"--port={int(port)}", f"--Voila.ip={ip}", "--Voila.port_retries=0",
            f"--Voila.token={token}", "--show_tracebacks=False", *extra]


def _wait_ready(proc: subprocess.Popen, url: str, timeout: float = 60.0) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with opener.open(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    return False


def run(port: int | None = None, ip: str = "127.0.0.1", open_browser: bool = True) -> int:
    """Serve the demos until Ctrl-C; returns Voilà's exit status (0 after Ctrl-C).

    Prints the landing page's URL with a fresh token, and a warning when ``ip`` is not a
    loopback address.  Raises ValueError for an unusable ``ip`` or ``port`` or when the demo
    notebooks cannot be found.
    """
    ip = _check_ip(ip)
    port = free_port(ip) if port is None else check_port(port, ip)
    try:
        folder = demos_dir()
    except FileNotFoundError as e:  # reported by the CLI in one line, like other bad setups
        raise ValueError(str(e)) from None
    token = new_token()
    url = landing_url(ip, port, token)
    warning = share_warning(ip)
    if warning:
        print(warning, flush=True)
    print(f"avicviz workshop demos: starting Voilà on {ip}:{port} (Ctrl-C stops it)", flush=True)
    proc = subprocess.Popen(voila_command(folder, port, token, ip))
    try:
        if _wait_ready(proc, f"http://{_probe_host(ip)}:{port}/?token={token}"):
            print(f"\n  Open the demos: {url}\n", flush=True)
            if open_browser:
                import webbrowser

                webbrowser.open(url)
        elif proc.poll() is None:
            print(f"Voilà has not answered yet; the demos should appear at {url}", flush=True)
        return proc.wait() or 0
    except KeyboardInterrupt:
        return 0
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
