"""Rate limits: fixed-window counters in the cache (Redis in production). Kernel module.

`hit(scope=..., ident=..., rate=...)` counts one request and says whether it is allowed.
`rule_for(request)` says which limit applies to a request (None: not limited). The rules:
- health endpoints, payment/auth webhooks, static and media files are never limited;
- POSTs to login, signup and password reset: RATELIMIT_AUTH per IP (tighter);
- every other POST/PUT/PATCH/DELETE and every /api/ request: RATELIMIT_DEFAULT per user or IP.
While the cache is unreachable the counters live in each process instead (never fail open).
"""

import hashlib
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from core.cache import CacheUnavailable

EXEMPT_PREFIXES = ("/api/health", "/health", "/api/webhooks/", "/static/", "/media/")
AUTH_PATHS = ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# The per-process fallback counters (key -> (count, expires at, monotonic)); see _local_incr.
LOCAL_MAX_KEYS = 10_000
_local_counts: dict[str, tuple[int, float]] = {}
_local_lock = threading.Lock()


@dataclass(frozen=True)
class Rate:
    limit: int
    period: int  # seconds


@dataclass(frozen=True)
class Decision:
    allowed: bool
    count: int
    limit: int
    retry_after: int  # seconds until the window resets


@dataclass(frozen=True)
class Rule:
    scope: str
    ident: str
    rate: Rate


def parse_rate(value: str) -> Rate:
    """'100/m', '10/5m', '1000/h' -> Rate. Raises ValueError on anything else."""
    count, _, period = value.strip().partition("/")
    unit = period[-1:].lower()
    if unit not in _PERIODS or not count.isdigit():
        raise ValueError(f"Not a rate: {value!r} (use e.g. 100/m)")
    multiple = int(period[:-1]) if period[:-1] else 1
    return Rate(limit=int(count), period=multiple * _PERIODS[unit])


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def incr(key: str, timeout: int) -> int | None:
    """Atomically add one to a cache counter, creating it with `timeout`; returns the count,
    or None when the cache is unreachable and nothing was counted (see core.cache)."""
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except CacheUnavailable:
        return None
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout)
        return 1


def _local_incr(key: str, timeout: int) -> int:
    """The fallback while the cache is unreachable: a counter in this process only.

    Each server process counts on its own, so a client may get up to (processes x limit)
    requests per window: looser than Redis, but still a limit (docs/operations.md).
    """
    now = time.monotonic()
    with _local_lock:
        if len(_local_counts) >= LOCAL_MAX_KEYS:
            for stale in [k for k, (_, expires) in _local_counts.items() if expires <= now]:
                del _local_counts[stale]
            if len(_local_counts) >= LOCAL_MAX_KEYS:  # a flood of idents: forget the oldest
                del _local_counts[next(iter(_local_counts))]
        count, expires = _local_counts.get(key, (0, now + timeout))
        if expires <= now:
            count, expires = 0, now + timeout
        _local_counts[key] = (count + 1, expires)
        return count + 1


def hit(*, scope: str, ident: str, rate: Rate) -> Decision:
    """Count one request of `ident` in `scope` against `rate` (fixed window); in this process
    only while the cache is unreachable."""
    now = int(time.time())
    window = now // rate.period
    key = f"rl:{scope}:{_digest(ident)}:{window}"
    count = incr(key, rate.period + 1)
    if count is None:
        count = _local_incr(key, rate.period + 1)
    return Decision(
        allowed=count <= rate.limit,
        count=count,
        limit=rate.limit,
        retry_after=max(1, rate.period - now % rate.period),
    )


def client_ip(request: HttpRequest) -> str:
    """The client's IP: REMOTE_ADDR, or X-Forwarded-For as set by NUM_PROXIES trusted proxies."""
    proxies = getattr(settings, "NUM_PROXIES", 0)
    if proxies:
        forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [p for p in forwarded if p]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def client_ip_source() -> str:
    """Where client_ip() reads the client's address, for /health and the operator."""
    proxies = getattr(settings, "NUM_PROXIES", 0)
    if not proxies:
        return "REMOTE_ADDR"
    return f"X-Forwarded-For, {proxies} prox{'y' if proxies == 1 else 'ies'}"


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def rule_for(request: HttpRequest) -> Rule | None:
    """Which limit applies to `request`, or None."""
    path = request.path
    if not getattr(settings, "RATELIMIT_ENABLED", True) or path.startswith(EXEMPT_PREFIXES):
        return None
    unsafe = request.method in UNSAFE_METHODS
    if unsafe and path.startswith(AUTH_PATHS):
        return Rule("auth", client_ip(request), parse_rate(settings.RATELIMIT_AUTH))
    if unsafe or is_api(request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{client_ip(request)}"
        return Rule("default", ident, parse_rate(settings.RATELIMIT_DEFAULT))
    return None
