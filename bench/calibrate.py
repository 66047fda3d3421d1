"""How fast this machine renders pages compared with the issue's box, on the same code
(`make bench ARGS=--calibrate`, or `.venv/bin/python bench/calibrate.py` alone).

Issue 11's times are for the 2-core box it was measured on, and a shared VM's speed moves by
2x or more from day to day. The floor (/api/health) alone is a poor yardstick for that: it is
a few syscalls and little Python, so it speeds up and slows down unlike a page, and it got
faster with Threadly's own changes (URL order, cheaper middleware), which a floor ratio can't
tell from a faster machine.

So this runs the code the issue measured (REFERENCE_COMMIT: `icontains` search, exact counts,
the view counted in the request, the seed's four 25 000-item sellers) from the local git
history, on a database of its own seeded by that code, under gunicorn with that code's own
settings, and compares its p50 at 1 client with the p50 the issue quotes for the same pages.
Each page gives a factor (the issue's time / this machine's), and their median is the
machine's: a time measured here x that factor estimates the time on the issue's box.

Needs the commit in the clone's history (a shallow clone has none: then it says so and the
bench falls back to the floor's estimate), PostgreSQL and Redis on 127.0.0.1 and `hey`.
About two minutes, half of it the first seed.
"""

from __future__ import annotations

import io
import os
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import urlencode

# The code issue 11 measured, and what it quotes for it (p50 at 1 client, ms). The issue
# gives one value (or a narrow range: its middle) for these pages; its other pages are ranges
# over several URLs.
REFERENCE_COMMIT = "abe254fb9d40baa35889133d5fb4ad30e6479ad8"
REFERENCE_P50_MS = {"home": 9.0, "listing": 25.0, "filters": 50.0}
CALIBRATION_DB = "postgres://root@127.0.0.1:5432/threadly_calibration"
CALIBRATION_REDIS = "redis://127.0.0.1:6379/14"
LISTINGS = 100_000
REQUESTS = 300


def machine_factor(here_p50_ms: dict[str, float]) -> dict:
    """Per page, the issue's p50 / this machine's; the machine's factor is their median."""
    pages = {
        name: {
            "here_p50_ms": here,
            "issue_p50_ms": REFERENCE_P50_MS[name],
            "factor": round(REFERENCE_P50_MS[name] / here, 3),
        }
        for name, here in here_p50_ms.items()
        if name in REFERENCE_P50_MS and here > 0
    }
    factor = statistics.median(p["factor"] for p in pages.values()) if pages else None
    return {"commit": REFERENCE_COMMIT[:7], "pages": pages, "factor": factor}


def reference_code(into: Path) -> bool:
    """Extract REFERENCE_COMMIT's files into `into`; False if the history doesn't hold it."""
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(  # noqa: S603
        ["git", "-C", str(root), "archive", REFERENCE_COMMIT],  # noqa: S607
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return False
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        # Its files only: that tree also held a stray `.venv` symlink to an absolute path.
        tar.extractall(into, filter=_files_only)  # noqa: S202 - our own history, data filter
    return True


def _files_only(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
    return None if member.issym() or member.islnk() else tarfile.data_filter(member, path)


def measure() -> dict:
    """Seed (once) and serve the reference code, measure its pages, return machine_factor's
    answer plus this machine's floor for that code; {"error": ...} if it can't run here (the
    bench then estimates by the floor)."""
    import psycopg

    try:
        return _measure()
    except (subprocess.CalledProcessError, OSError, SystemExit, psycopg.Error) as error:
        detail = getattr(error, "stderr", "") or ""
        return {"error": f"{error} {str(detail)[-500:]}".strip()}


def _measure() -> dict:
    import harness  # this folder is on sys.path when run.py or this file runs
    import psycopg

    with tempfile.TemporaryDirectory(prefix="threadly-calibration-") as folder:
        code = Path(folder)
        if not reference_code(code):
            return {"error": f"commit {REFERENCE_COMMIT[:7]} is not in this clone's history"}
        env = harness.bench_env(
            os.environ.get("BENCH_CALIBRATION_DATABASE_URL", CALIBRATION_DB),
            os.environ.get("BENCH_CALIBRATION_REDIS_URL", CALIBRATION_REDIS),
        )
        env["PYTHONPATH"] = str(code)  # never the checkout's own modules
        harness.ensure_database(env["DATABASE_URL"])
        print(f"calibration: the issue's code ({REFERENCE_COMMIT[:7]}) on its own database…")
        harness.manage(env, "migrate", "--noinput", "-v0", root=code)
        with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
            (count,) = conn.execute("SELECT count(*) FROM marketplace_listing").fetchone()
            if count < LISTINGS:
                harness.manage(env, "seed_demo", "--listings", str(LISTINGS), root=code)
                conn.execute("VACUUM ANALYZE")
            listing = conn.execute(
                "SELECT id, slug FROM marketplace_listing WHERE status = 'active' "
                "ORDER BY id LIMIT 1 OFFSET 5000"
            ).fetchone()
            (brand,) = conn.execute(
                "SELECT brand FROM marketplace_listing WHERE status = 'active' "
                "GROUP BY brand ORDER BY count(*) DESC LIMIT 1"
            ).fetchone()
        harness.manage(env, "collectstatic", "--noinput", "-v0", root=code)
        paths = {
            "home": "/",
            "listing": f"/items/{listing[0]}-{listing[1]}/",
            "filters": "/browse/?"
            + urlencode(
                {"size": "M", "brand": brand, "condition": "good", "min_price": 5, "max_price": 80}
            ),
        }
        port = harness.free_port()
        server = harness.start_gunicorn(env, port, 2, root=code)
        base = f"http://127.0.0.1:{port}"
        try:
            here = {}
            for name, path in paths.items():
                harness.hey(base + path, clients=1, requests=20)  # warm up
                result = harness.hey(base + path, clients=1, requests=REQUESTS)
                if result.errors:
                    return {"error": f"{name} ({path}) answered {result.errors} errors"}
                here[name] = result.p50_ms
            floor = harness.floor_now(f"{base}/api/health", requests=REQUESTS)
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return {**machine_factor(here), "floor_rps_here": floor}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    print(measure())
