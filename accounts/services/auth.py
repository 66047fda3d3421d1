"""Records of sign-ups and sign-ins (audit log + product analytics)."""

import ipaddress
from typing import Any

from django.http import HttpRequest

from accounts.models import User
from accounts.selectors import profile_for
from core import analytics
from core.audit import audit_log
from core.ratelimit import client_ip


def request_ip(request: HttpRequest | None) -> str | None:
    """The client's IP (proxy-aware, see core.ratelimit.client_ip), or None if not an IP."""
    if request is None:
        return None
    try:
        return str(ipaddress.ip_address(client_ip(request)))
    except ValueError:
        return None


def signup_record(*, user: User, method: str = "email") -> None:
    """A member finished signing up (any way): make sure they have a profile, count it."""
    profile_for(user)
    analytics.capture_on_commit(user, "signup", method=method)


def login_record(*, user: User, ip_address: str | None = None) -> None:
    """A member signed in: audited as "auth.login" and counted as "login"."""
    audit_log(action="auth.login", actor=user, target=user, ip_address=ip_address)
    analytics.capture_on_commit(user, "login")


def login_failure_record(
    *,
    identifier: str,
    ip_address: str | None = None,
    reason: str = "authentication_failed",
    **extra: Any,
) -> None:
    """A sign-in attempt failed: audited as "auth.login_failed" (never with the password)."""
    audit_log(
        action="auth.login_failed",
        ip_address=ip_address,
        identifier=identifier[:254],
        reason=reason,
        **extra,
    )


def login_refusal_record(*, user: User, request: HttpRequest | None, reason: str) -> None:
    """The right password was given for a banned or deactivated member: audited as
    "auth.login_refused" with the reason, next to the "auth.login_failed" entry."""
    audit_log(
        action="auth.login_refused",
        target=user,
        ip_address=request_ip(request),
        identifier=user.email,
        reason=reason,
    )
