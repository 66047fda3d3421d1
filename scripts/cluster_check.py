"""`make cluster-check`: the failure rehearsal on a running `make cluster` (about 2-3 minutes).

All on 127.0.0.1, every loop bounded in time:

1. reads reach the replica: its transaction counter moves under a burst of page views;
2. an app host dies under load: CHECK_CLIENTS threads GET four pages through nginx for
   CHECK_SECONDS; app1's process group is killed with SIGKILL a quarter of the way in and
   started again half way (nginx tries it again within 5 s). Counts every answer that is not
   2xx/3xx (nginx retries an idempotent request the dead host dropped on the other one, so the
   goal is zero; the bound is the requests that can be in flight, one per client), the req/s
   with two hosts and with one, and that app1 serves again after its restart;
3. the replica dies: it is stopped (immediate), page views keep answering 200 from the primary
   (its counter moves); it is started again and reads return to it by themselves
   (core.db_router retries it after REPLICA_RETRY_SECONDS);
4. a write then a read through nginx: the demo buyer signs in, saves a listing (POST), and the
   saved page (GET, possibly on the other host) shows it;
5. a task enqueued with the app's code is run by a worker (needs the task queue, TASK_QUEUE_URL:
   SKIP when tasks still run inline on this branch) and the workers' heartbeat is fresh.

Prints PASS/FAIL/SKIP per step and a summary; exits 1 if any step FAILed.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field

import cluster
from cluster import APP_PORTS, HOST, PORTS, Layout

BASE = f"http://{HOST}:{PORTS['nginx']}"
CLIENTS = int(os.environ.get("CHECK_CLIENTS", "6"))
SECONDS = int(os.environ.get("CHECK_SECONDS", "36"))
DEMO_PASSWORD = "threadly-demo"  # noqa: S105 - README's demo login, local cluster only


@dataclass
class Step:
    name: str
    verdict: str  # PASS, FAIL or SKIP
    detail: str


def page(path: str) -> urllib.request.Request:
    """A page view that is rendered, not answered from the page cache (a hard reload): the
    steps are about app hosts and databases, which a cached page never reaches."""
    return urllib.request.Request(BASE + path, headers={"Cache-Control": "no-cache"})  # noqa: S310


@dataclass
class Load:
    """Page views from CLIENTS threads until stopped; every answer recorded with its time."""

    paths: list[str]
    results: list[tuple[float, float, int]] = field(default_factory=list)  # start, seconds, status
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, offset: int) -> None:
        index = offset
        while not self.stop.is_set():
            path = self.paths[index % len(self.paths)]
            index += 1
            started = time.monotonic()
            try:
                with urllib.request.urlopen(page(path), timeout=20) as response:  # noqa: S310
                    response.read()
                    code = response.status
            except urllib.error.HTTPError as error:
                code = error.code
            except OSError:
                code = 0  # refused, reset or timed out: a failure the member would see
            with self.lock:
                self.results.append((started, time.monotonic() - started, code))

    def __enter__(self) -> Load:
        self.threads = [
            threading.Thread(target=self.client, args=(n,), daemon=True) for n in range(CLIENTS)
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def between(self, start: float, end: float) -> list[tuple[float, float, int]]:
        with self.lock:
            return [r for r in self.results if start <= r[0] < end]


def failures(rows: list[tuple[float, float, int]]) -> list[int]:
    return [code for _start, _seconds, code in rows if not 200 <= code < 400]


def rate(rows: list[tuple[float, float, int]], seconds: float) -> float:
    return round(len(rows) / seconds, 1) if seconds > 0 else 0.0


def percentile(rows: list[tuple[float, float, int]], p: float) -> float:
    times = sorted(seconds * 1000 for _start, seconds, _code in rows)
    if not times:
        return 0.0
    return round(times[min(len(times) - 1, int(p * len(times)))], 1)


def xact_count(port: int) -> int | None:
    """Transactions committed in the Threadly database of one PostgreSQL server (its own
    counter: a standby counts the read-only transactions it serves)."""
    try:
        value = cluster.psql(
            port, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
    except subprocess.SubprocessError:
        return None
    return int(value) if value.isdigit() else None


def stats_settle() -> None:
    # PostgreSQL 15 publishes a backend's statistics at transaction end, at most once a second.
    time.sleep(1.5)


LISTING_PATHS = """
from marketplace.models import Listing
listings = Listing.objects.for_sale().exclude(seller__email="buyer@threadly.test").order_by("pk")
print(listings.first().get_absolute_url(), listings.last().get_absolute_url(), listings.last().pk)
"""


def pages(layout: Layout) -> tuple[list[str], str, int]:
    """The pages the load loops over, and a listing (path, id) for the buyer to save."""
    first, last, last_pk = shell(layout, LISTING_PATHS).split()
    return ["/", "/browse/", first, "/api/health"], last, int(last_pk)


def check_replica_serves(paths: list[str]) -> Step:
    before = xact_count(PORTS["replica"])
    for path in paths[:3] * 10:
        with urllib.request.urlopen(page(path), timeout=20) as response:  # noqa: S310
            response.read()
    stats_settle()
    after = xact_count(PORTS["replica"])
    if before is None or after is None:
        return Step("reads reach the replica", "FAIL", "the replica's counter is unreadable")
    moved = after - before
    verdict = "PASS" if moved >= 5 else "FAIL"
    return Step("reads reach the replica", verdict, f"{moved} transactions on :55433 for 30 views")


def check_app_host_loss(layout: Layout, paths: list[str]) -> list[Step]:
    kill_at, restart_at = SECONDS / 4, SECONDS / 2
    started = time.monotonic()
    with Load(paths) as load:
        time.sleep(kill_at)
        pid = cluster.alive("app1", layout)
        killed = time.monotonic()
        if pid is not None:
            os.killpg(pid, signal.SIGKILL)  # the host is gone: master and workers, no goodbye
        time.sleep(max(0.0, started + restart_at - time.monotonic()))
        restart_began = time.monotonic()
        cluster.start_app("app1", layout)
        back = time.monotonic()
        restart_wall = time.time()
        time.sleep(max(0.0, started + SECONDS - time.monotonic()))
    end = time.monotonic()
    two_hosts = load.between(started + 2, killed)  # the first 2 s warm the connections
    one_host = load.between(killed, restart_began)
    everything = load.between(started, end)
    bad = failures(everything)
    steps = [
        Step(
            "app host killed under load",
            "PASS" if pid is not None and len(bad) <= CLIENTS else "FAIL",
            f"{len(everything)} requests by {CLIENTS} clients in {end - started:.0f} s, "
            f"{len(bad)} failed {sorted(set(bad)) if bad else ''}(bound: {CLIENTS} in flight); "
            f"two hosts {rate(two_hosts, killed - started - 2)} req/s "
            f"p50 {percentile(two_hosts, 0.5)} p95 {percentile(two_hosts, 0.95)} ms; "
            f"one host {rate(one_host, restart_began - killed)} req/s "
            f"p50 {percentile(one_host, 0.5)} p95 {percentile(one_host, 0.95)} ms; "
            f"app1 restarted in {back - restart_began:.1f} s",
        )
    ]
    served = served_by(layout, f"{HOST}:{APP_PORTS['app1']}", since=restart_wall)
    steps.append(
        Step(
            "restarted host takes traffic again",
            "PASS" if served >= 5 else "FAIL",
            f"app1 answered {served} requests through nginx after its restart",
        )
    )
    return steps


def served_by(layout: Layout, upstream: str, *, since: float) -> int:
    """Requests nginx's access log shows answered (2xx/3xx) by this upstream after `since`."""
    count = 0
    for line in layout.log("nginx.access").read_text().splitlines():
        parts = line.split()
        if not parts or float(parts[0]) < since:
            continue
        match = re.search(r"upstream=(\S+) upstream_status=(\S+)", line)
        # After a retry nginx lists every upstream tried ("a, b"): the last one answered.
        if (
            match
            and match.group(1).split(",")[-1].strip() == upstream
            and match.group(2).split(",")[-1].strip().startswith(("2", "3"))
        ):
            count += 1
    return count


def check_replica_loss(layout: Layout, paths: list[str]) -> list[Step]:
    steps = []
    primary_before = xact_count(PORTS["primary"])
    cluster.as_pg(cluster.PG_BIN / "pg_ctl", "-D", layout.replica, "-m", "immediate", "stop")
    started = time.monotonic()
    with Load(paths[:3]) as load:
        time.sleep(10)
    rows = load.between(started, time.monotonic())
    bad = failures(rows)
    stats_settle()
    primary_after = xact_count(PORTS["primary"])
    moved = (primary_after or 0) - (primary_before or 0)
    steps.append(
        Step(
            "replica killed: reads from the primary",
            "PASS" if rows and not bad and moved > 0 else "FAIL",
            f"{len(rows)} page views in 10 s with the replica down, {len(bad)} failed "
            f"{sorted(set(bad)) if bad else ''}; primary served {moved} transactions; "
            f"p95 {percentile(rows, 0.95)} ms",
        )
    )
    cluster.pg_start(layout.replica, "replica", layout)
    back = time.monotonic()
    returned = None
    before = xact_count(PORTS["replica"])
    with Load(paths[:3]):
        while time.monotonic() - back < 60:
            time.sleep(2)
            now = xact_count(PORTS["replica"])
            if before is not None and now is not None and now - before > 20:
                returned = time.monotonic() - back
                break
    steps.append(
        Step(
            "replica back: reads return to it",
            "PASS" if returned is not None else "FAIL",
            f"after {returned:.0f} s (retry period 30 s)"
            if returned is not None
            else "no reads on the replica within 60 s of its restart",
        )
    )
    return steps


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not match:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


class SendSecureCookies(http.cookiejar.DefaultCookiePolicy):
    """Production cookies are Secure (settings: not DEBUG) and the cluster is plain HTTP on
    127.0.0.1: send them anyway, as a browser does for a local address."""

    def return_ok_secure(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return True


def check_write_then_read(path: str, listing: int) -> Step:
    jar = http.cookiejar.CookieJar(policy=SendSecureCookies())
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

    def get(path: str) -> str:
        with opener.open(BASE + path, timeout=20) as response:
            return response.read().decode()

    def post(path: str, data: dict[str, str], referer: str) -> int:
        request = urllib.request.Request(  # noqa: S310
            BASE + path, data=urllib.parse.urlencode(data).encode(), headers={"Referer": referer}
        )
        with opener.open(request, timeout=20) as response:
            return response.status

    try:
        token = csrf_from(get("/accounts/login/"))
        post(
            "/accounts/login/",
            {
                "csrfmiddlewaretoken": token,
                "login": "buyer@threadly.test",
                "password": DEMO_PASSWORD,
            },
            BASE + "/accounts/login/",
        )
        signed_in = any(cookie.name == "sessionid" for cookie in jar)
        page = get(path)
        post(
            f"/items/{listing}/favourite/",
            {"csrfmiddlewaretoken": csrf_from(page), "favourite": "1"},
            BASE + path,
        )
        saved = get("/saved/")
    except (OSError, RuntimeError) as error:
        return Step("write then read through nginx", "FAIL", str(error))
    sticky = any(cookie.name == "threadly_rw" for cookie in jar)
    shown = path in saved
    return Step(
        "write then read through nginx",
        "PASS" if signed_in and shown else "FAIL",
        f"{'signed in' if signed_in else 'NOT signed in'}, saved listing {listing}, the saved "
        f"page {'shows' if shown else 'does NOT show'} it; "
        f"read-your-writes cookie {'set' if sticky else 'not set'}",
    )


TASK_ENQUEUE = """
from django.conf import settings
from marketplace.models import Listing
from marketplace.tasks import search_index_listings
backend = settings.TASKS["default"]["BACKEND"]
if "immediate" in backend.lower():
    print("INLINE", backend)
else:
    first = Listing.objects.order_by("pk").values_list("pk", flat=True).first()
    result = search_index_listings.enqueue([first])
    print("QUEUED", result.id)
"""
TASK_RESULT = """
import sys
from marketplace.tasks import search_index_listings
result = search_index_listings.get_result(sys.argv[-1])
print("RESULT", result.status, ",".join(result.worker_ids))
"""
HEARTBEAT = """
import time
from django.core.cache import cache
from ops.health import WORKER_HEARTBEAT_KEY
beat = cache.get(WORKER_HEARTBEAT_KEY)
print("BEAT", -1 if beat is None else round(time.time() - float(beat)))
"""


def shell(layout: Layout, code: str, *args: str) -> str:
    env = cluster.app_env(layout, cluster.secret_key(layout))
    out = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "-c",
            "import django, sys; django.setup(); exec(sys.argv[1])",
            code,
            *args,
        ],
        cwd=cluster.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    return out.strip().splitlines()[-1]


def check_tasks(layout: Layout) -> list[Step]:
    steps = []
    beat = int(shell(layout, HEARTBEAT).split()[1])
    steps.append(
        Step(
            "workers alive (heartbeat)",
            "PASS" if 0 <= beat < 180 else "FAIL",
            f"last heartbeat {beat} s ago" if beat >= 0 else "no heartbeat in the cache",
        )
    )
    kind, value = shell(layout, TASK_ENQUEUE).split(maxsplit=1)
    if kind == "INLINE":
        steps.append(
            Step(
                "task enqueued by the app runs on a worker",
                "SKIP",
                f"no task queue on this branch ({value}): tasks run inline in the app",
            )
        )
        return steps
    deadline = time.monotonic() + 60
    status = workers = ""
    while time.monotonic() < deadline:
        _label, status, *rest = (shell(layout, TASK_RESULT, value) + " ").split(" ")
        workers = rest[0] if rest else ""
        if status in {"SUCCESSFUL", "FAILED"}:
            break
        time.sleep(1)
    steps.append(
        Step(
            "task enqueued by the app runs on a worker",
            "PASS" if status == "SUCCESSFUL" else "FAIL",
            f"task {value}: {status or 'no result'} on worker(s) {workers or '-'}",
        )
    )
    return steps


def run(layout: Layout) -> int:
    running = cluster.status(layout) if layout.state.exists() else {}
    if not running or not all(running.values()):
        down_list = ", ".join(name for name, ok in running.items() if not ok) or "everything"
        print(f"cluster-check: the cluster is not up ({down_list}): run `make cluster` first")
        return 1
    started = time.monotonic()
    paths, saved_path, saved_pk = pages(layout)
    print(f"cluster-check: pages {paths}, {CLIENTS} clients, {SECONDS} s of load", flush=True)
    steps: list[Step] = []
    for label, action in (
        ("replica serves reads", lambda: [check_replica_serves(paths)]),
        ("app host loss", lambda: check_app_host_loss(layout, paths)),
        ("replica loss", lambda: check_replica_loss(layout, paths)),
        ("write then read", lambda: [check_write_then_read(saved_path, saved_pk)]),
        ("tasks", lambda: check_tasks(layout)),
    ):
        print(f"cluster-check: {label}…", flush=True)
        try:
            new = action()
        except Exception as error:  # a step that breaks is a FAIL with its reason, not a trace
            new = [Step(label, "FAIL", f"{type(error).__name__}: {error}")]
        for step in new:
            print(f"  {step.verdict:<5}{step.name}: {step.detail}", flush=True)
        steps.extend(new)
    failed = [step for step in steps if step.verdict == "FAIL"]
    verdict = "FAIL" if failed else "PASS"
    print(
        f"\ncluster-check {verdict}: {sum(s.verdict == 'PASS' for s in steps)} passed, "
        f"{len(failed)} failed, {sum(s.verdict == 'SKIP' for s in steps)} skipped "
        f"in {time.monotonic() - started:.0f} s"
    )
    results = layout.state / "check.json"
    results.write_text(json.dumps([step.__dict__ for step in steps], indent=2) + "\n")
    print(f"(written {results})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run(Layout(cluster.STATE)))
