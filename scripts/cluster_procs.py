"""The processes of `make cluster`: pid files, recognising our own processes (and only
ours), starting one in its own session, stopping it with its children, waiting for a port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from cluster_config import HOST, MARKER, ROOT, Layout


def log(message: str) -> None:
    print(f"cluster: {message}", flush=True)


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def proc_text(pid: int, name: str) -> str:
    try:
        return (
            Path(f"/proc/{pid}/{name}").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def is_ours(pid: int, layout: Layout) -> bool:
    """The process is alive and was started by this cluster (marker in its environment, or
    the state directory on its command line: nginx, redis, postgres)."""
    stat = proc_text(pid, "stat")
    if not stat or stat.rsplit(")", 1)[-1].split()[0] == "Z":  # gone, or a zombie
        return False
    marker = f"{MARKER}={layout.state}"
    return marker in proc_text(pid, "environ") or str(layout.state) in proc_text(pid, "cmdline")


def alive(name: str, layout: Layout) -> int | None:
    pid = read_pid(layout.pidfile(name))
    return pid if pid is not None and is_ours(pid, layout) else None


def port_open(port: int, timeout: float = 0.5) -> bool:
    with socket.socket() as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((HOST, port)) == 0


def wait_for(what: str, probe: Callable[[], bool], *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} did not come up within {seconds:.0f} s")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status == 200
    except OSError:
        return False


def spawn(name: str, command: list[str], env: dict[str, str], layout: Layout) -> int:
    """Start a long-running process in its own session (so `down` can stop its whole process
    group), output to its log, pid to its pid file."""
    with layout.log(name).open("ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own commands
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    layout.pidfile(name).write_text(f"{process.pid}\n")
    return process.pid


def stop_group(pid: int, layout: Layout, *, sig: int = signal.SIGTERM, seconds: float = 20) -> None:
    """Stop a process we started in its own session, and its children (gunicorn workers)."""
    if not is_ours(pid, layout):
        return
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and is_ours(pid, layout):
        time.sleep(0.2)
    if is_ours(pid, layout):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)


def leftovers(layout: Layout) -> list[int]:
    """Every running process this cluster started (by the marker or the state path)."""
    return [
        int(entry.name)
        for entry in Path("/proc").iterdir()
        if entry.name.isdigit()
        and int(entry.name) != os.getpid()
        and is_ours(int(entry.name), layout)
    ]
