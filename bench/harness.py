"""What make bench and its calibration share (bench/run.py, bench/calibrate.py): a
production-like environment, a Threadly checkout's manage.py and gunicorn, and `hey`."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


@dataclass
class Run:
    clients: int
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


def bench_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment of a production-like Threadly on this machine."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "threadly.settings",
            "DEBUG": "0",
            "SECRET_KEY": env.get("BENCH_SECRET_KEY") or secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": "http://127.0.0.1",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECURE_SSL_REDIRECT": "0",
            # Every simulated shopper comes from 127.0.0.1: per-IP limits would refuse the load.
            "RATELIMIT_ENABLED": "0",
            # The local payment gateway: a benchmark moves no real money.
            "ALLOW_TEST_PAYMENTS": "1",
            # A fixed key for the bench database's (fake) addresses, derived, never a secret.
            "ENCRYPTION_KEY": base64.urlsafe_b64encode(
                hashlib.sha256(b"threadly-bench-addresses").digest()
            ).decode(),
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.pop("TEST_DB_NAME", None)
    return env


def manage(env: dict[str, str], *args: str, root: Path = ROOT) -> str:
    return subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [PY, "manage.py", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout


def ensure_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')  # name comes from our own setting


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, *, root: Path = ROOT
) -> subprocess.Popen:
    server = subprocess.Popen(  # noqa: S603
        [
            str(Path(PY).parent / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "threadly.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--no-control-socket",
            "--access-logfile",
            "/dev/null",
        ],
        cwd=root,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2):  # noqa: S310
                return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit(f"gunicorn did not answer: {server.stderr.read().decode()[-2000:]}")


def hey(
    url: str, *, clients: int, requests: int, cookie: str = "", headers: dict | None = None
) -> Run:
    """`hey -o csv`: one line per request, so the percentiles are computed from every request."""
    args = ["hey", "-n", str(requests), "-c", str(clients), "-t", "10", "-o", "csv"]
    if cookie:
        args += ["-H", f"Cookie: {cookie}"]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(  # noqa: S603
        [*args, url], capture_output=True, text=True, check=True, timeout=300
    ).stdout
    rows = list(csv.DictReader(io.StringIO(out)))
    times = sorted(float(r["response-time"]) * 1000 for r in rows)
    errors = sum(1 for r in rows if not r["status-code"].startswith(("2", "3")))
    start = min(float(r["offset"]) for r in rows)
    end = max(float(r["offset"]) + float(r["response-time"]) for r in rows)

    def pct(p: float) -> float:
        return round(times[min(len(times) - 1, int(p * len(times)))], 1)

    return Run(
        clients=clients,
        requests=len(rows),
        rps=round(len(rows) / max(end - start, 1e-6), 1),
        p50_ms=round(statistics.median(times), 1),
        p95_ms=pct(0.95),
        p99_ms=pct(0.99),
        errors=errors,
    )


def floor_now(url: str, *, requests: int) -> float:
    """The floor's req/s at 1 client now: the median of three runs, so that one stall of the
    machine doesn't make the page measured next look faster than the floor."""
    runs = [hey(url, clients=1, requests=max(requests, 200)).rps for _ in range(3)]
    return statistics.median(runs)
