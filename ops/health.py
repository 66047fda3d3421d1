"""Health checks for /health, /api/health/db, /status and ops_status (operator side).

Core dependencies (database, cache, storage, task queue) are checked for real; each external
integration reports whether it is configured and, when it is, whether its host answers a TCP
connection (no API call, no credentials used).
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
from django.core.files.storage import default_storage
from django.db import connection

REACHABILITY_TIMEOUT = 2.0
CACHE_KEY = "ops:health:checks"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    configured: bool = True
    detail: str = ""
    latency_ms: float | None = None
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


def _timed(name: str, probe) -> Check:
    started = time.perf_counter()
    try:
        detail = probe() or ""
    except Exception as exc:  # a health check reports failures, it never raises
        logger.warning("health check %s failed: %s", name, exc)
        return Check(
            name=name, ok=False, detail="unavailable", error=f"{type(exc).__name__}: {exc}"[:300]
        )
    return Check(
        name=name,
        ok=True,
        detail=detail,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
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
            raise RuntimeError("value written was not read back")
        cache.delete(key)
        return settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]

    return _timed("cache", probe)


def check_storage() -> Check:
    def probe() -> str:
        name = default_storage.save(f"health/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
        default_storage.delete(name)
        return type(default_storage._wrapped).__name__

    return _timed("storage", probe)


def check_task_queue() -> Check:
    def probe() -> str:
        from django.tasks import task_backends

        backend = task_backends["default"]
        return type(backend).__name__

    return _timed("task_queue", probe)


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
        "s3": (getattr(s, "AWS_S3_ENDPOINT_URL", "") or "https://s3.amazonaws.com")
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


def check_client_ip() -> Check:
    """Which address the rate limits and lock-outs see (NUM_PROXIES; see docs/operations.md)."""
    from core.ratelimit import client_ip_source

    return Check(name="client_ip", ok=True, detail=client_ip_source())


def core_checks() -> list[Check]:
    return [check_database(), check_cache(), check_storage(), check_task_queue()]


def all_checks(*, fresh: bool = False) -> list[Check]:
    """Every check. Public pages reuse results for HEALTH_CACHE_SECONDS so a flood of
    anonymous requests can't turn into a flood of storage writes and outbound connections."""
    seconds = getattr(settings, "HEALTH_CACHE_SECONDS", 10)
    if not fresh and seconds:
        try:
            cached = cache.get(CACHE_KEY)
        except Exception:
            cached = None
        if cached is not None:
            return cached
    checks = [*core_checks(), check_client_ip(), *check_integrations()]
    if seconds:
        try:
            cache.set(CACHE_KEY, checks, seconds)
        except Exception:
            logger.warning("could not cache health results")
    return checks
