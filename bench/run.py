"""`make bench`: Threadly under load on a 100 000-listing catalogue, page by page.

    .venv/bin/python bench/run.py                  # seed if needed, then every page (~15 min)
    .venv/bin/python bench/run.py --pages home,search_rare --requests 200
    .venv/bin/python bench/run.py --skip-mixed --skip-photos
    .venv/bin/python bench/run.py --calibrate      # also time the issue's own code here first
    .venv/bin/python bench/run.py --target http://127.0.0.1:8080 --target-env .cluster/app.env
                                                   # drive a running site (make cluster-bench)

What it does, all on 127.0.0.1 with loops bounded in count and time:

1. Prepares a PostgreSQL database of its own (BENCH_DATABASE_URL, default
   postgres://root@127.0.0.1:5432/threadly_bench): migrate (with --skip-seed too), `seed_demo
   --listings 100000 --sellers 2000` unless it already holds that many or --skip-seed, then
   VACUUM ANALYZE. Redis db 15 is the cache.
2. Starts gunicorn with production settings (DEBUG off, 2 sync workers, gunicorn.conf.py).
3. For the floor (/api/health, no SQL) and every page, drives `hey` (Debian's package; its
   per-request CSV gives honest percentiles, no coordinated-omission "correction") at 1 and 4
   clients, and counts the page's SQL queries in-process with Django's test client. The floor
   is measured again right before each page (median of three runs), which is compared with
   that measure: a shared machine's speed drifts by tens of percent within a run.
4. Runs the mixed scenario with locust (headless, 50 users, 0.2–1.8 s think time, spawned
   gradually, anonymous and signed-in mix) from its own virtualenv (.venv-bench).
5. Measures the worst-case photo upload (bench/photo_upload.py).
6. Prints a table and writes bench/results.json: req/s, p50/p95/p99 at each concurrency,
   errors, SQL queries, ratio to the floor, RSS per worker before and after, the machine.
7. Checks the issue's targets on this machine, then estimated for the issue's box: with
   --calibrate by how fast the issue's own code runs here (bench/calibrate.py), otherwise,
   roughly, by the floor.

With --target URL it drives an already running site instead (e.g. `make cluster`'s nginx):
no seeding, no gunicorn of its own, no RSS; --target-env FILE (KEY=VALUE lines, as `make
cluster` writes .cluster/app.env) is the environment of the app behind it, which step 3 needs
to find the pages and sign in on the same database, cache and SECRET_KEY.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling modules, however run

from harness import (  # noqa: E402
    PY,
    ROOT,
    Run,
    bench_env,
    ensure_database,
    floor_now,
    free_port,
    hey,
    manage,
    start_gunicorn,
)

DEFAULT_DB = "postgres://root@127.0.0.1:5432/threadly_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/15"
RESULTS = ROOT / "bench" / "results.json"
BENCH_PASSWORD = "threadly-bench"  # noqa: S105 - a local benchmark account, never deployed


@dataclass
class PageResult:
    name: str
    path: str
    signed_in: bool
    queries: int | None
    runs: list[Run] = field(default_factory=list)
    ratio_to_floor: float | None = None
    floor_rps: float | None = None  # the floor measured right before this page
    note: str = ""


def prepare(env: dict[str, str], *, listings: int, sellers: int, seed: bool) -> None:
    """Migrate the bench database (always: a checkout with a new migration must not be
    measured on the old schema), seed it unless `seed` is off, then VACUUM ANALYZE (a new
    index on an expression has no statistics until then)."""
    ensure_database(env["DATABASE_URL"])
    print("migrate…", flush=True)
    manage(env, "migrate", "--noinput", "-v0")
    if seed:
        print(f"seed_demo --listings {listings} --sellers {sellers} (minutes the first time)…")
        subprocess.run(  # noqa: S603
            [PY, "manage.py", "seed_demo", "--listings", str(listings), "--sellers", str(sellers)],
            cwd=ROOT,
            env=env,
            check=True,
        )
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def worker_rss_mb(master_pid: int) -> list[float]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    sizes = []
    for pid in children:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                sizes.append(round(int(line.split()[1]) / 1024, 1))
    return sizes


TICKS = os.sysconf("SC_CLK_TCK")
# The mixed run samples each worker's RSS this often: flat memory is judged on the second half,
# after the workers have warmed up (imports, template and URL caches, connection pools).
RSS_EVERY = 30


def _cpu_seconds(pid: int | str, *, reaped: bool = False) -> float:
    """utime + stime of a process (+ its reaped children's with `reaped`), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # gone in between
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime
    return ticks / TICKS


def tier_cpu_seconds(master_pid: int | None) -> dict[str, float]:
    """CPU used so far by the app (gunicorn master and workers, recycled ones included), by
    PostgreSQL (every postgres process, ended backends included) and by Redis."""
    totals = {"app": 0.0, "database": 0.0, "redis": 0.0}
    if master_pid:
        totals["app"] = _cpu_seconds(master_pid, reaped=True) + sum(
            _cpu_seconds(pid)
            for pid in Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        )
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            name = (proc / "comm").read_text().strip()
        except OSError:
            continue
        if name == "postgres":
            totals["database"] += _cpu_seconds(proc.name, reaped=True)
        elif name == "redis-server":
            totals["redis"] += _cpu_seconds(proc.name)
    return totals


def discover(env: dict[str, str]) -> dict:
    """URLs and signed-in cookies of the bench catalogue, and each page's SQL query count,
    from a child process that sets Django up on the bench database."""
    out = subprocess.run(  # noqa: S603
        [PY, str(ROOT / "bench" / "pages.py")],
        cwd=ROOT,
        env={**env, "BENCH_PASSWORD": BENCH_PASSWORD},
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def read_env_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines (blank lines and # comments skipped), as `make cluster` writes them."""
    env = {}
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value
    return env


def run_mixed(
    base_url: str,
    found: dict,
    *,
    users: int,
    seconds: int,
    rss: Callable[[], list[float]] | None = None,
) -> dict:
    """The locust scenario; with `rss`, each worker's RSS sampled every RSS_EVERY seconds."""
    locust = ROOT / ".venv-bench" / "bin" / "locust"
    if not locust.exists():
        return {"skipped": "locust is not installed (make bench installs it in .venv-bench)"}
    prefix = Path(tempfile.mkdtemp(prefix="threadly-locust-")) / "stats"
    env = {
        **os.environ,
        "BENCH_COOKIES": json.dumps(found["cookies"]),
        "BENCH_PAGES": json.dumps(found["pages"]),
        "BENCH_SPREAD": json.dumps(found.get("spread", {})),
    }
    command = [
        str(locust),
        "-f",
        str(ROOT / "bench" / "locustfile.py"),
        "--headless",
        "--host",
        base_url,
        "-u",
        str(users),
        "-r",
        "5",
        "-t",
        f"{seconds}s",
        "--csv",
        str(prefix),
        "--only-summary",
        "--exit-code-on-error",
        "0",
    ]
    samples: list[tuple[float, list[float]]] = []
    started = time.monotonic()
    with subprocess.Popen(  # noqa: S603
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as proc:
        while True:
            if rss:
                samples.append((round(time.monotonic() - started), rss()))
            try:
                proc.wait(timeout=RSS_EVERY)
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() - started > seconds + 120:
                    proc.kill()
                    raise
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, command)
    with open(f"{prefix}_stats.csv") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    total = rows["Aggregated"]
    return {
        "users": users,
        "seconds": seconds,
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "rps": round(float(total["Requests/s"]), 1),
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "p99_ms": float(total["99%"]),
        "rss_mb_samples": samples,
    }


def run_photos() -> dict:
    out = subprocess.run(  # noqa: S603
        [PY, str(ROOT / "bench" / "photo_upload.py"), "--json"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"error": (out.stderr or out.stdout)[-500:]}


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
    }


def print_table(pages: list[PageResult]) -> None:
    print(
        f"\n{'page':<22}{'SQL':>5}{'c':>3}{'req/s':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'err':>5}{'floor':>7}"
    )
    for page in pages:
        for i, run in enumerate(page.runs):
            ratio = f"{page.ratio_to_floor:.0%}" if i == 0 and page.ratio_to_floor else ""
            print(
                f"{page.name if i == 0 else '':<22}"
                f"{(page.queries if page.queries is not None else '-') if i == 0 else '':>5}"
                f"{run.clients:>3}{run.rps:>9}{run.p50_ms:>8}{run.p95_ms:>8}{run.p99_ms:>8}"
                f"{run.errors:>5}{ratio:>7}"
            )
        if page.note:
            print(f"{'':<22}{page.note}")


# The box: its times are for a 2-core machine whose floor (/api/health, 1 client) served
# about 990 req/s. Machines differ by 2x (784 to 1 807 req/s seen here), so the times are also
# checked for that box. By default scaled by this run's floor: rough, because the floor is
# mostly syscalls and moves unlike a page, and Threadly's own changes made it faster (on
# 2026-11-29 the code served it 1.45x faster than the issue says while its pages took
# 0.8-1.1x the times). --calibrate measures the machine on the code instead.
REFERENCE_FLOOR_RPS = 990

# The targets on this machine: (what, pages, clients, measure, limit).
TARGETS = [
    ("cached anonymous page >= 50% of the floor", ["home", "category", "listing"], 1, "ratio", 0.5),
    ("page without SQL >= 80% of the floor", ["no_sql"], 1, "ratio", 0.8),
    ("uncached listing p50 <= 6 ms", ["listing_uncached"], 1, "p50_ms", 6),
    (
        "browse, filters, sort, depth, shop p95 <= 40 ms",
        [
            "category_uncached",
            "browse_filters",
            "browse_sort_price",
            "browse_page_200",
            "browse_last_page",
            "seller_uncached",
        ],
        1,
        "p95_ms",
        40,
    ),
    ("search p95 <= 40 ms", ["search_rare", "search_common"], 1, "p95_ms", 40),
    ("suggestions p95 <= 15 ms", ["suggest"], 1, "p95_ms", 15),
    (
        "signed-in pages p95 <= 60 ms at 4 clients",
        ["cart", "checkout", "orders", "following_feed", "inbox", "conversation"],
        4,
        "p95_ms",
        60,
    ),
]


def second_half_growth(mixed: dict) -> float | None:
    """The most any worker's RSS grew from the middle of the mixed run to its end: the first
    half warms workers up (imports, caches, pools), a leak keeps growing through the second."""
    samples = mixed.get("rss_mb_samples") or []
    end = (mixed.get("rss_mb") or {}).get("end")
    if not samples or not end:
        return None
    middle = next((rss for t, rss in samples if t >= mixed["seconds"] / 2), samples[-1][1])
    return round(max(e - m for m, e in zip(middle, end, strict=False)), 1)


def check_targets(
    pages: list[PageResult],
    mixed: dict | None,
    *,
    reference: float | None = None,
    factor: float | None = None,
) -> list[tuple[str, bool, str]]:
    """Each target with held/missed and the measured values. Times can be estimated for the
    issue's box: with `factor` (bench/calibrate.py's), every time x factor; with `reference`
    (a floor in req/s), each page's times x its own floor / reference, the mixed run's x the
    median floor / reference."""
    floors = [page.floor_rps for page in pages if page.floor_rps]

    def scale(floor: float | None) -> float:
        if factor:
            return factor
        floor = floor or (statistics.median(floors) if floors else None)
        return floor / reference if reference and floor else 1.0

    by_name = {page.name: page for page in pages}
    rows = []
    for what, names, clients, measure, limit in TARGETS:
        seen = []
        for name in names:
            page = by_name.get(name)
            run = next((r for r in page.runs if r.clients == clients), None) if page else None
            if run is None:
                continue
            value = page.ratio_to_floor if measure == "ratio" else getattr(run, measure)
            if value is not None and measure != "ratio":
                value = round(value * scale(page.floor_rps), 1)
            if value is not None:
                seen.append((name, value))
        if not seen:
            continue
        held = all(v >= limit if measure == "ratio" else v <= limit for _, v in seen)
        shown = ", ".join(f"{n} {v:.0%}" if measure == "ratio" else f"{n} {v}" for n, v in seen)
        rows.append((what, held, shown))
    if mixed and "p50_ms" in mixed:
        p50, p95 = (round(mixed[key] * scale(None), 1) for key in ("p50_ms", "p95_ms"))
        held = p50 <= 15 and p95 <= 45 and mixed["failures"] == 0
        shown = f"p50 {p50}, p95 {p95}, failures {mixed['failures']}"
        rows.append(("mixed 50 users p50 <= 15, p95 <= 45 ms, no errors", held, shown))
        growth = second_half_growth(mixed)
        if growth is not None:
            rss = mixed["rss_mb"]
            rows.append(
                (
                    "memory per worker flat over the mixed run (< 5 MB in its second half)",
                    growth < 5,
                    f"{growth:+} MB in the second half (start {rss['start']} MB, "
                    f"end {rss['end']} MB)",
                )
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--sellers", type=int, default=2_000)
    parser.add_argument("--requests", type=int, default=400, help="per page and concurrency")
    parser.add_argument("--clients", default="1,4")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pages", default="", help="comma-separated page names (default all)")
    parser.add_argument(
        "--mixed-seconds", type=int, default=300, help="5 minutes: memory must stay flat"
    )
    parser.add_argument("--skip-seed", action="store_true")
    parser.add_argument("--skip-mixed", action="store_true")
    parser.add_argument("--skip-photos", action="store_true")
    parser.add_argument(
        "--calibrate",
        action="store_true",
        help="first run the issue's own code here (bench/calibrate.py, ~2 min) and estimate the "
        "times on the issue's box with that factor instead of the floor's",
    )
    parser.add_argument(
        "--target", default="", help="base URL of a running site to drive (no seed, no gunicorn)"
    )
    parser.add_argument(
        "--target-env", default="", help="KEY=VALUE file: the environment of the --target app"
    )
    args = parser.parse_args()

    if not shutil.which("hey"):
        raise SystemExit("`hey` is missing: apt-get install hey")
    env = bench_env(
        os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
        os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
    )
    if args.target_env:
        env.update(read_env_file(args.target_env))
        # Step 3 counts each page's queries on "default": with replicas its reads would go
        # elsewhere and count as none. The site under load keeps its own replicas.
        env.pop("DATABASE_REPLICA_URLS", None)
    if not args.target:
        prepare(env, listings=args.listings, sellers=args.sellers, seed=not args.skip_seed)
    # Production settings serve hashed static files from the manifest: a fresh clone has none.
    subprocess.run(  # noqa: S603
        [PY, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    found = discover(env)
    calibration = None
    if args.calibrate:  # before this run's gunicorn: the two must not share the CPUs
        import calibrate

        calibration = calibrate.measure()
        print(f"  calibration: {calibration}", flush=True)
    wanted = {name for name in args.pages.split(",") if name}
    clients = [int(c) for c in args.clients.split(",")]

    server = None
    if args.target:
        base_url = args.target.rstrip("/")
    else:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_gunicorn(env, port, args.workers)
    results: dict = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    if args.target:
        results["target"] = base_url
    try:
        results["rss_mb_before"] = worker_rss_mb(server.pid) if server else []
        pages: list[PageResult] = []
        floor_url, floor_samples = None, []
        for page in found["pages"]:
            if wanted and page["name"] not in wanted and page["name"] != "floor":
                continue
            result = PageResult(
                name=page["name"],
                path=page["path"],
                signed_in=page.get("cookie", "") in found["cookies"],
                queries=page.get("queries"),
                note=page.get("note", ""),
            )
            if page.get("path"):
                url = f"{base_url}{page['path']}"
                sent = {"cookie": page.get("cookie", ""), "headers": page.get("headers")}
                hey(url, clients=1, requests=20, **sent)  # warm up
                if page["name"] == "floor":
                    floor_url = url
                elif floor_url:
                    result.floor_rps = floor_now(floor_url, requests=args.requests)
                    floor_samples.append(result.floor_rps)
                for c in clients:
                    result.runs.append(hey(url, clients=c, requests=args.requests, **sent))
                if result.floor_rps:
                    result.ratio_to_floor = round(result.runs[0].rps / result.floor_rps, 3)
            pages.append(result)
            print(f"  {result.name}: {[asdict(r) for r in result.runs]}", flush=True)
        results["pages"] = [asdict(p) for p in pages]
        if not args.skip_mixed:
            print(f"mixed scenario (locust, {args.mixed_seconds} s)…", flush=True)
            rss_before = worker_rss_mb(server.pid) if server else []
            cpu_before = tier_cpu_seconds(server.pid if server else None)
            results["mixed"] = run_mixed(
                base_url,
                found,
                users=50,
                seconds=args.mixed_seconds,
                rss=(lambda: worker_rss_mb(server.pid)) if server else None,
            )
            # Capacity: CPU ms per request of the mix in each tier, and what one core of the
            # app tier serves at 100 % (docs/scaling.md builds its model on these).
            cpu_after = tier_cpu_seconds(server.pid if server else None)
            served = max(results["mixed"].get("requests", 0), 1)
            per_request = {
                tier: round((cpu_after[tier] - cpu_before[tier]) * 1000 / served, 2)
                for tier in cpu_before
            }
            results["mixed"]["cpu_ms_per_request"] = per_request
            if per_request["app"]:
                results["mixed"]["app_rps_per_core"] = round(1000 / per_request["app"], 1)
            # Flat memory over the run: each worker's RSS at its start and end.
            results["mixed"]["rss_mb"] = {
                "start": rss_before,
                "end": worker_rss_mb(server.pid) if server else [],
            }
        results["rss_mb_after"] = worker_rss_mb(server.pid) if server else []
    finally:
        if server:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    if not args.skip_photos:
        print("worst-case photo upload…", flush=True)
        results["photo_upload"] = run_photos()
    print_table(pages)
    if "mixed" in results:
        print(f"\nmixed: {results['mixed']}")
    results["targets"] = check_targets(pages, results.get("mixed"))
    print("\ntargets (this machine):")
    for what, held, shown in results["targets"]:
        print(f"  {'held  ' if held else 'MISSED'}  {what}: {shown}")
    floor_rps = statistics.median(floor_samples) if floor_samples else None
    if calibration:
        results["calibration"] = calibration
    if calibration and calibration.get("factor"):
        factor = calibration["factor"]
        results["targets_reference_box"] = {
            "calibration_factor": factor,
            "targets": check_targets(pages, results.get("mixed"), factor=factor),
        }
        seen = ", ".join(
            f"{name} {page['here_p50_ms']} ms here, {page['issue_p50_ms']} there"
            for name, page in calibration["pages"].items()
        )
        print(
            f"\ntargets on the issue's box, calibrated: its own code ({calibration['commit']}) "
            f"ran here at {factor} x the issue's page times ({seen}); each time x {factor}:"
        )
        for what, held, shown in results["targets_reference_box"]["targets"]:
            print(f"  {'held  ' if held else 'MISSED'}  {what}: {shown}")
    elif floor_rps:
        results["floor_rps_median"] = floor_rps
        results["targets_reference_box"] = {
            "floor_rps": REFERENCE_FLOOR_RPS,
            "targets": check_targets(pages, results.get("mixed"), reference=REFERENCE_FLOOR_RPS),
        }
        print(
            f"\ntargets on the issue's box (floor {REFERENCE_FLOOR_RPS} req/s), a rough estimate: "
            f"each page's times x its floor / {REFERENCE_FLOOR_RPS} (median floor {floor_rps:.0f}; "
            "--calibrate measures the machine on the issue's own code instead):"
        )
        for what, held, shown in results["targets_reference_box"]["targets"]:
            print(f"  {'held  ' if held else 'MISSED'}  {what}: {shown}")
    print(
        f"RSS per worker before {results['rss_mb_before']} MB, after {results['rss_mb_after']} MB"
    )
    RESULTS.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"written {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
