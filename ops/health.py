"""Health checks for /health, /api/health/db, /status and ops_status (operator side).

Core dependencies (database, cache, storage, task queue) are checked for real, and each can
fail; each external integration reports whether it is configured and, when it is, whether its
host answers a TCP connection (no API call, no credentials used). A check that is not
`critical` (the background worker being late) is reported as a warning: /health still answers
200, since the site itself serves, but names it under `warnings`.
"""

import logging
import socket
import time
import uuid
from dataclasses import asdict, dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection
from django.utils import timezone

from ops import backups, queue

REACHABILITY_TIMEOUT = 2.0
CACHE_KEY = "ops:health:checks"
# The worker's minute upkeep writes this; older than WORKER_STALE_MINUTES = not running.
WORKER_HEARTBEAT_KEY = "ops:worker:heartbeat"
WORKER_STALE_MINUTES = 5
logger = logging.getLogger(__name__)
# (expires at on the monotonic clock, checks): all_checks' copy in this process.
_last_checks: tuple[float, list["Check"]] | None = None


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    configured: bool = True
    detail: str = ""
    latency_ms: float | None = None
    # False: a failure is a warning (/health stays 200), not an outage.
    critical: bool = True
    # The exception text of a failure: for logs and ops_status, never for public pages.
    error: str = ""

    @property
    def label(self) -> str:
        return {
            "s3": "File storage (S3)",
            "task_queue": "Background tasks",
            "client_ip": "Client IP source",
        }.get(self.name, self.name.replace("_", " ").capitalize())

    def as_dict(self) -> dict:
        """The public view: no exception text, no server paths or hosts."""
        data = asdict(self)
        del data["error"]
        return data


def _timed(name: str, probe, *, critical: bool = True) -> Check:
    started = time.perf_counter()
    try:
        detail = probe() or ""
    except Exception as exc:  # a health check reports failures, it never raises
        logger.warning("health check %s failed: %s", name, exc)
        return Check(
            name=name,
            ok=False,
            detail="unavailable",
            error=f"{type(exc).__name__}: {exc}"[:300],
            critical=critical,
        )
    return Check(
        name=name,
        ok=True,
        detail=detail,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
        critical=critical,
    )


def database_connections() -> int | None:
    """Connections to this database (PostgreSQL pg_stat_activity); None on SQLite."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def check_database() -> Check:
    def probe() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return connection.vendor

    return _timed("database", probe)


def check_cache() -> Check:
    def probe() -> str:
        key = f"health:{uuid.uuid4().hex}"
        cache.set(key, "ok", 10)
        if cache.get(key) != "ok":
            # core.cache answers like a miss while Redis is down; say why when it knows.
            raise RuntimeError(
                getattr(cache, "last_error", "") or "value written was not read back"
            )
        cache.delete(key)
        return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]

    return _timed("cache", probe)


def check_storage() -> Check:
    """Write, read back and delete a small object in the media storage STORAGES names
    (the S3 bucket at AWS_S3_ENDPOINT_URL when AWS_STORAGE_BUCKET_NAME is set)."""

    def probe() -> str:
        storage = storages["default"]
        name = storage.save(f"health/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
        try:
            with storage.open(name) as handle:
                if handle.read() != b"ok":
                    raise RuntimeError("object written was not read back")
        finally:
            storage.delete(name)
        return type(storage).__name__

    return _timed("storage", probe)


def worker_heartbeat(*, now: float | None = None) -> None:
    """Record that the background worker is alive and periodic jobs flow: the worker's upkeep
    (ops.jobs.worker_upkeep) calls it each minute, inline or as a scheduled task."""
    cache.set(WORKER_HEARTBEAT_KEY, now or time.time(), None)


def check_task_queue() -> Check:
    """The background work runs: the worker's minute upkeep ran in the last
    WORKER_STALE_MINUTES; with a task queue, RQ's registries also name a live worker and a
    live scheduler (each registers itself in Redis with a heartbeat).

    Not critical: without it holds, refunds and alerts wait, but pages still serve."""

    def probe() -> str:
        detail = ""
        if queue.queue_enabled():
            state = queue.queue_state(timeout=REACHABILITY_TIMEOUT)
            if not state.workers:
                raise RuntimeError("no worker on the task queue: run_worker is not running")
            if not state.schedulers:
                raise RuntimeError("no scheduler on the task queue: run_scheduler is not running")
            detail = f"{state.describe()}; "
        beat = cache.get(WORKER_HEARTBEAT_KEY)
        if beat is None:
            raise RuntimeError("no worker heartbeat: run_worker is not running")
        age = time.time() - float(beat)
        if age > WORKER_STALE_MINUTES * 60:
            raise RuntimeError(f"worker heartbeat is {age / 60:.0f} minutes old")
        return f"{detail}worker seen {age:.0f} s ago"

    return _timed("task_queue", probe, critical=False)


def _reachable(name: str, url: str) -> Check:
    parts = urlsplit(url if "//" in url else f"https://{url}")
    port = parts.port or (443 if parts.scheme in {"https", "rediss"} else 80)

    def probe() -> str:
        with socket.create_connection((parts.hostname, port), REACHABILITY_TIMEOUT):
            return "reachable"

    return _timed(name, probe)


def integrations() -> dict[str, str | None]:
    """Each integration's host to probe when it is configured, None when it is not."""
    s = settings
    return {
        "stripe": (s.STRIPE_API_BASE or "https://api.stripe.com") if s.STRIPE_SECRET_KEY else None,
        "posthog": s.POSTHOG_HOST if s.POSTHOG_KEY else None,
        "sentry": s.SENTRY_DSN.split("@")[-1] if s.SENTRY_DSN else None,
        "resend": "https://api.resend.com" if s.RESEND_API_KEY else None,
        "algolia": f"https://{s.ALGOLIA_APP_ID}-dsn.algolia.net" if s.ALGOLIA_APP_ID else None,
        "pusher": f"https://api-{s.PUSHER_CLUSTER}.pusher.com" if s.PUSHER_APP_ID else None,
        "s3": (s.AWS_S3_ENDPOINT_URL or "https://s3.amazonaws.com")
        if s.AWS_STORAGE_BUCKET_NAME
        else None,
    }


def check_integrations() -> list[Check]:
    checks = []
    for name, url in integrations().items():
        if url is None:
            checks.append(Check(name=name, ok=True, configured=False, detail="not configured"))
        else:
            checks.append(_reachable(name, url))
    return checks


def check_backup_freshness() -> Check:
    """The newest backup against its schedule: OK; WARN is still ok (named in the detail);
    CRIT (older than twice the interval, or none) fails; not configured when unscheduled.
    Not critical: a stale backup is named under /health's `warnings` (and ops_status alerts
    it as CRIT), but the site serves, so a load balancer must not take it out of rotation."""
    try:
        fresh = backups.backup_freshness(now=timezone.now())
    except Exception as exc:  # a health check reports failures, it never raises
        logger.warning("health check backups failed: %s", exc)
        return Check(
            name="backups",
            ok=False,
            detail="unavailable",
            critical=False,
            error=f"{type(exc).__name__}: {exc}",
        )
    if fresh.level == backups.OFF:
        return Check(name="backups", ok=True, configured=False, detail=fresh.describe())
    detail = f"{fresh.level}: {fresh.describe()}"
    ok = fresh.level != backups.CRIT
    return Check(name="backups", ok=ok, detail=detail, critical=False, error="" if ok else detail)


def check_client_ip() -> Check:
    """Which address the rate limits and lock-outs see (NUM_PROXIES; see docs/operations.md)."""
    from core.ratelimit import client_ip_source

    return Check(name="client_ip", ok=True, detail=client_ip_source())


def core_checks() -> list[Check]:
    return [check_database(), check_cache(), check_storage(), check_task_queue()]


def all_checks(*, fresh: bool = False) -> list[Check]:
    """Every check. Public pages reuse results for HEALTH_CACHE_SECONDS so a flood of
    anonymous requests can't turn into a flood of storage writes and outbound connections
    (shared through the cache; while the cache is down, this process's own copy)."""
    global _last_checks
    seconds = getattr(settings, "HEALTH_CACHE_SECONDS", 10)
    if not fresh and seconds:
        try:
            cached = cache.get(CACHE_KEY)
        except Exception:
            cached = None
        cache_down = not getattr(cache, "available", True)  # core.cache.ResilientRedisCache
        if cached is None and cache_down and _last_checks and _last_checks[0] > time.monotonic():
            cached = _last_checks[1]
        if cached is not None:
            return cached
    checks = [*core_checks(), check_client_ip(), *check_integrations()]
    checks.append(check_backup_freshness())
    if seconds:
        _last_checks = (time.monotonic() + seconds, checks)
        try:
            cache.set(CACHE_KEY, checks, seconds)
        except Exception:
            logger.warning("could not cache health results")
    return checks
