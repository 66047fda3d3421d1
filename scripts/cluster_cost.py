"""`scripts/cluster_cost.py PATH…`: what one page view costs each tier of `make cluster`, in
CPU milliseconds read from the processes' own counters (docs/scaling.md's capacity model).
Unlike req/s, that does not depend on what else the machine is running."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

import cluster
from cluster import APP_PORTS, Layout
from cluster_check import BASE


def tree(pid: int | None) -> list[int]:
    """A process and all its descendants (gunicorn's workers, postgres's backends)."""
    if pid is None:
        return []
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        children = cluster.proc_text(current, f"task/{current}/children").split()
        queue.extend(int(child) for child in children)
    return found


def cpu_seconds(pids: list[int]) -> float:
    """CPU time the processes and their reaped children have used so far (utime, stime,
    cutime, cstime of stat): a backend or worker that exits in between moves its time to its
    parent's children counters instead of losing it."""
    ticks = 0
    for pid in pids:
        stat = cluster.proc_text(pid, "stat")
        if stat:
            fields = stat.rsplit(")", 1)[-1].split()
            ticks += sum(int(value) for value in fields[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def cost(layout: Layout, paths: list[str], *, requests: int, clients: int) -> list[dict]:
    """CPU milliseconds each tier spends per page view through nginx (`hey`), measured from
    the processes' own CPU counters: unlike req/s, it does not depend on what else the
    machine is running. 1000 / app_ms is the req/s one core of app host sustains."""
    groups = {
        "app": lambda: [p for name in APP_PORTS for p in tree(cluster.alive(name, layout))],
        "replica": lambda: tree(cluster.read_pid(layout.replica / "postmaster.pid")),
        "primary": lambda: tree(cluster.read_pid(layout.primary / "postmaster.pid")),
        "nginx": lambda: tree(cluster.alive("nginx", layout)),
        "redis": lambda: tree(cluster.alive("redis", layout)),
    }
    rows = []
    for path in paths:
        subprocess.run(  # noqa: S603 - warm-up
            ["hey", "-n", "20", "-c", "2", BASE + path],  # noqa: S607
            capture_output=True,
            check=True,
            timeout=300,
        )
        before = {name: cpu_seconds(pids()) for name, pids in groups.items()}
        began = time.monotonic()
        out = subprocess.run(  # noqa: S603
            ["hey", "-n", str(requests), "-c", str(clients), BASE + path],  # noqa: S607
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout
        wall = time.monotonic() - began
        after = {name: cpu_seconds(pids()) for name, pids in groups.items()}
        ok = sum(int(n) for n in re.findall(r"\[2\d\d\]\s+(\d+) responses", out))
        row = {"path": path, "requests": requests, "ok": ok, "req_s": round(requests / wall, 1)}
        for name in groups:
            row[f"{name}_cpu_ms"] = round((after[name] - before[name]) * 1000 / requests, 1)
        row["app_req_s_per_core"] = (
            round(1000 / row["app_cpu_ms"], 1) if row["app_cpu_ms"] else None
        )
        rows.append(row)
        print("  " + "  ".join(f"{key}={value}" for key, value in row.items()), flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=["/api/health", "/", "/browse/"])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()
    layout = Layout(cluster.STATE)
    rows = cost(layout, args.paths, requests=args.requests, clients=args.clients)
    (layout.state / "cost.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
