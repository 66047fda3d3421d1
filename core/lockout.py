"""Failed-login tracking and lock-out, per account and per IP. Kernel module.

Wired through django.contrib.auth: `on_login_failed` (user_login_failed signal) counts
failures, `on_logged_in` (user_logged_in) forgets an account's failures, and
`LockoutBackend` (first in AUTHENTICATION_BACKENDS) refuses to authenticate while locked,
so every login path — allauth, admin — obeys the lock. The rate-limit middleware also
answers a locked login POST with 429 before any password hashing.

A lock writes a SuspiciousActivity row (admin) and logs a warning (the alert).
"""

import hashlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from core.ratelimit import client_ip, incr

logger = logging.getLogger("ops.security")
IDENTIFIER_FIELDS = ("login", "email", "username")


def _key(kind: str, value: str) -> str:
    return f"lockout:{kind}:{hashlib.sha256(value.encode()).hexdigest()[:24]}"


def normalise(identifier: str | None) -> str:
    return (identifier or "").strip().lower()


def identifier_from(credentials: dict[str, Any]) -> str:
    for name in IDENTIFIER_FIELDS:
        if credentials.get(name):
            return normalise(str(credentials[name]))
    return ""


def seconds_locked(*, identifier: str = "", ip: str = "") -> int:
    """Seconds left on the longest lock covering this account or IP; 0 if neither is locked."""
    now = time.time()
    keys = [_key("lock-acct", identifier)] if identifier else []
    if ip:
        keys.append(_key("lock-ip", ip))
    until = [v for v in cache.get_many(keys).values() if v]
    return max((int(u - now) + 1 for u in until if u > now), default=0)


def record_failure(*, identifier: str, ip: str) -> None:
    """Count one failed login; lock the account and/or the IP when its threshold is reached."""
    if seconds_locked(identifier=identifier, ip=ip):
        return  # already locked: don't extend or re-alert
    window = settings.LOGIN_LOCKOUT_MINUTES * 60
    checks = [("ip", ip, settings.LOGIN_LOCKOUT_IP_ATTEMPTS)] if ip else []
    if identifier:
        checks.insert(0, ("acct", identifier, settings.LOGIN_LOCKOUT_ATTEMPTS))
    for kind, value, threshold in checks:
        failures = incr(_key(f"fail-{kind}", value), window)
        if failures >= threshold:
            _lock(kind=kind, value=value, ip=ip, failures=failures, seconds=window)


def _lock(*, kind: str, value: str, ip: str, failures: int, seconds: int) -> None:
    from core.audit import audit_log
    from core.models import SuspiciousActivity

    until = time.time() + seconds
    cache.set(_key(f"lock-{kind}", value), until, seconds)
    cache.delete(_key(f"fail-{kind}", value))
    activity_kind = (
        SuspiciousActivity.Kind.LOGIN_LOCKOUT_ACCOUNT
        if kind == "acct"
        else SuspiciousActivity.Kind.LOGIN_LOCKOUT_IP
    )
    locked_until = datetime.fromtimestamp(until, tz=UTC)
    logger.warning(
        "security alert: %s locked for %s s after %s failed logins",
        "account" if kind == "acct" else "IP",
        seconds,
        failures,
        extra={"alert": activity_kind, "identifier": value, "ip": ip},
    )
    SuspiciousActivity.objects.create(
        kind=activity_kind,
        identifier=value,
        ip_address=ip or None,
        failures=failures,
        locked_until=locked_until,
    )
    audit_log(action="auth.lockout", ip_address=ip or None, kind=kind, identifier=value)


def reset(*, identifier: str) -> None:
    """Forget an account's failures (after a successful login) or lift its lock (staff)."""
    cache.delete_many([_key("fail-acct", identifier), _key("lock-acct", identifier)])


def lift_ip(*, ip: str) -> None:
    cache.delete_many([_key("fail-ip", ip), _key("lock-ip", ip)])


def _valid_ip(value: str) -> str:
    from django.core.validators import validate_ipv46_address

    try:
        validate_ipv46_address(value)
    except Exception:
        return ""
    return value


def on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kw) -> None:
    ip = _valid_ip(client_ip(request)) if request is not None else ""
    try:
        record_failure(identifier=identifier_from(credentials), ip=ip)
    except Exception:  # a broken cache must not turn a wrong password into a 500
        logger.exception("failed-login tracking failed")


def on_logged_in(sender: Any, request: Any = None, user: Any = None, **kw) -> None:
    if user is None:
        return
    for value in {normalise(user.get_username()), normalise(getattr(user, "email", ""))}:
        if value:
            reset(identifier=value)


class LockoutBackend:
    """Authentication check: refuses every login for a locked account or IP.

    Raising PermissionDenied stops django.contrib.auth.authenticate() from trying the other
    backends; it then sends user_login_failed, which is ignored while the lock lasts.
    """

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        ip = client_ip(request) if request is not None else ""
        if seconds_locked(identifier=identifier_from(credentials), ip=ip):
            raise PermissionDenied("Too many failed logins; try again later.")
        return None

    def get_user(self, user_id: Any) -> Any:
        """Resolve a session stored under this backend (force_login(), login() without a
        backend pick the first one) with the next configured backend, so its rules (e.g.
        refusing banned members) apply to every session."""
        from django.contrib.auth import get_backends

        for backend in get_backends():
            if not isinstance(backend, LockoutBackend) and hasattr(backend, "get_user"):
                return backend.get_user(user_id)
        return None
