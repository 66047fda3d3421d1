"""Failed logins: lock one account *from one client*, never the account everywhere. Kernel module.

Built on django-axes (AxesStandaloneBackend first in AUTHENTICATION_BACKENDS, AxesMiddleware,
its database handler and admin). The rules, after OWASP's Authentication Cheat Sheet
("Account Lockout": count per account *and* source, so an attacker can't lock the owner out;
throttle rather than lock; alert; let the owner unlock themselves by email):

- one account from one client (email + IP, axes' AXES_LOCKOUT_PARAMETERS) is locked for
  LOGIN_LOCKOUT_MINUTES after LOGIN_LOCKOUT_ATTEMPTS failures: the owner on another client
  is not affected;
- one client (IP) trying many accounts is locked after LOGIN_LOCKOUT_IP_ATTEMPTS failures;
- an account failing from many clients (LOGIN_TARGETED_ATTEMPTS in the window) is never
  locked: unknown clients are slowed to LOGIN_TARGETED_RATE for that account, clients where
  the owner logged in before (axes' access log) are not, and staff get one alert per window;
- a successful login clears that client's failures; a password reset (the emailed link works
  whatever the locks) clears every failure of the account.

axes keeps one failure limit for all its lock-out parameters and has no "slow down" mode, so
the per-IP threshold and the many-clients rule are the few queries of LockoutHandler below, on
axes' own AccessAttempt table. Each lock writes a SuspiciousActivity row and an audit entry.
"""

import hashlib
import logging
from datetime import timedelta
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.mail import send_mail
from django.core.validators import validate_ipv46_address
from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from core import ratelimit
from core.http import too_many_requests

logger = logging.getLogger("ops.security")
# The email wins when a login path passes both (axes maps `username` to "login").
IDENTIFIER_FIELDS = ("email", "login", "username")


def normalise(identifier: str | None) -> str:
    return (identifier or "").strip().lower()


def identifier_from(credentials: dict[str, Any] | None) -> str:
    for name in IDENTIFIER_FIELDS:
        if credentials and credentials.get(name):
            return normalise(str(credentials[name]))
    return ""


# --- axes' callables (settings.AXES_*) --------------------------------------------------------
def username_of(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str:
    """AXES_USERNAME_CALLABLE: the account as typed (email or handle), lower-cased."""
    identifier = identifier_from(credentials)
    if not identifier and request is not None:
        identifier = normalise(request.POST.get("login"))
    return identifier


def _valid_ip(value: str) -> str | None:
    try:
        validate_ipv46_address(value)
    except Exception:
        return None
    return value


def ip_of(request: HttpRequest) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: core.ratelimit.client_ip (honours NUM_PROXIES), if it is an IP."""
    return _valid_ip(ratelimit.client_ip(request))


def failure_limit(request: HttpRequest | None = None, credentials: Any = None) -> int:
    """AXES_FAILURE_LIMIT: failures of one account from one client before it is locked."""
    return settings.LOGIN_LOCKOUT_ATTEMPTS


def cool_off(request: HttpRequest | None = None) -> timedelta:
    """AXES_COOLOFF_TIME: how long a lock lasts (and how far back failures count)."""
    return timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES)


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None, credentials: Any = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the same friendly 429 page as the rate limits."""

    seconds = seconds_locked(identifier=username_of(request, credentials), ip=ip_of(request) or "")
    retry_after = seconds or getattr(request, "lockout_retry_after", 0) or 60
    return too_many_requests(request, retry_after, locked_out=True)


# --- queries on axes' table -------------------------------------------------------------------
def _recent(**filters: Any):
    return AccessAttempt.objects.filter(attempt_time__gte=timezone.now() - cool_off(), **filters)


def _locked_for(attempts, threshold: int) -> int:
    totals = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
    if not totals["failures"] or totals["failures"] < threshold:
        return 0
    return max(0, int((totals["last"] + cool_off() - timezone.now()).total_seconds()) + 1)


def seconds_locked(*, identifier: str = "", ip: str = "") -> int:
    """Seconds left on the longest lock refusing `identifier` from `ip`; 0 if none.

    Locks are per account+client and per client: `identifier` alone (ip "") only means an
    attempt that came with no IP. Pure read: the many-clients slow-down is not counted here.
    """
    ip_or_none = _valid_ip(ip) if ip else None
    ip = ip_or_none or ""
    locks = []
    if identifier:
        pair = _recent(username=normalise(identifier), ip_address=ip_or_none)
        locks.append(_locked_for(pair, settings.LOGIN_LOCKOUT_ATTEMPTS))
    if ip:
        locks.append(_locked_for(_recent(ip_address=ip), settings.LOGIN_LOCKOUT_IP_ATTEMPTS))
    return max(locks, default=0)


def account_failures(*, identifier: str) -> tuple[int, int]:
    """(failures, distinct clients) for one account in the window, across every client."""
    totals = _recent(username=normalise(identifier)).aggregate(
        failures=Sum("failures_since_start"), clients=Count("ip_address", distinct=True)
    )
    return totals["failures"] or 0, totals["clients"] or 0


def is_targeted(*, identifier: str) -> bool:
    """True while an account collects LOGIN_TARGETED_ATTEMPTS failures from several clients."""
    return bool(identifier) and (
        account_failures(identifier=identifier)[0] >= settings.LOGIN_TARGETED_ATTEMPTS
    )


def is_known_client(*, identifier: str, ip: str | None) -> bool:
    """True if the owner of `identifier` (email or handle) logged in from `ip` before."""
    if not ip or not identifier:
        return False
    user_model = get_user_model()
    field = user_model.USERNAME_FIELD
    names = user_model.objects.filter(
        Q(email__iexact=identifier) | Q(**{f"{field}__iexact": identifier})
    ).values_list(field, flat=True)
    return AccessLog.objects.filter(username__in=list(names), ip_address=ip).exists()


class LockoutHandler(AxesDatabaseHandler):
    """axes' database handler plus Threadly's per-client threshold and many-clients slow-down."""

    def is_locked(self, request: HttpRequest, credentials: dict | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        ip = request.axes_ip_address
        if ip and _locked_for(_recent(ip_address=ip), settings.LOGIN_LOCKOUT_IP_ATTEMPTS):
            return True
        identifier = username_of(request, credentials)
        if is_targeted(identifier=identifier) and not is_known_client(identifier=identifier, ip=ip):
            decision = ratelimit.hit(
                scope="login-targeted",
                ident=identifier,
                rate=ratelimit.parse_rate(settings.LOGIN_TARGETED_RATE),
            )
            if not decision.allowed:
                request.lockout_retry_after = decision.retry_after
                return True
        return False

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or getattr(request, "axes_failures_since_start", None) is None:
            return  # refused while locked: axes recorded nothing
        try:
            _after_failure(identifier=username_of(request, credentials), ip=request.axes_ip_address)
        except Exception:  # a broken cache must not turn a wrong password into a 500
            logger.exception("failed-login tracking failed")


class LockoutBackend(AxesStandaloneBackend):
    """axes' check, first in AUTHENTICATION_BACKENDS. Without a request (a script, the shell)
    there is no client to count or lock, so it stands aside instead of raising."""

    def authenticate(self, request: HttpRequest | None, *args: Any, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, *args, **kwargs)


def _once_per_window(key: str) -> bool:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return cache.add(f"lockout:alerted:{digest}", 1, int(cool_off().total_seconds()))


def _after_failure(*, identifier: str, ip: str | None) -> None:
    from core.models import SuspiciousActivity

    if ip:
        failures = _recent(ip_address=ip).aggregate(n=Sum("failures_since_start"))["n"] or 0
        if failures >= settings.LOGIN_LOCKOUT_IP_ATTEMPTS and _once_per_window(f"ip:{ip}"):
            _record(
                kind=SuspiciousActivity.Kind.LOGIN_LOCKOUT_IP,
                identifier=ip,
                ip=ip,
                failures=failures,
                locked_seconds=seconds_locked(ip=ip),
            )
    if identifier:
        failures, clients = account_failures(identifier=identifier)
        if failures >= settings.LOGIN_TARGETED_ATTEMPTS and _once_per_window(f"acct:{identifier}"):
            _record(
                kind=SuspiciousActivity.Kind.LOGIN_ACCOUNT_TARGETED,
                identifier=identifier,
                ip=ip,
                failures=failures,
                locked_seconds=0,
                clients=clients,
            )


def on_locked_out(sender: Any, request: HttpRequest, username: str, ip_address: str, **kw) -> None:
    """axes' user_locked_out: record a new account+client lock (not each refused retry)."""
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None:
        return
    from core.models import SuspiciousActivity

    _record(
        kind=SuspiciousActivity.Kind.LOGIN_LOCKOUT_ACCOUNT,
        identifier=username or "",
        ip=ip_address,
        failures=failures,
        locked_seconds=int(cool_off().total_seconds()),
    )


def _record(
    *, kind: str, identifier: str, ip: str | None, failures: int, locked_seconds: int, **extra
) -> None:
    """SuspiciousActivity row + audit entry + `security alert` log; staff email for a targeted
    account (ALERT_EMAILS, after commit)."""
    from core.audit import audit_log
    from core.models import SuspiciousActivity

    locked_until = timezone.now() + timedelta(seconds=locked_seconds) if locked_seconds else None
    activity = SuspiciousActivity.objects.create(
        kind=kind,
        identifier=identifier,
        ip_address=ip or None,
        failures=failures,
        locked_until=locked_until,
    )
    label = SuspiciousActivity.Kind(kind).label
    logger.warning(
        "security alert: %s after %s failed logins",
        label,
        failures,
        extra={"alert": kind, "identifier": identifier, "ip": ip, **extra},
    )
    audit_log(action="auth.lockout", ip_address=ip or None, kind=kind, identifier=identifier)
    if kind == SuspiciousActivity.Kind.LOGIN_ACCOUNT_TARGETED and settings.ALERT_EMAILS:
        subject = f"[Threadly security] {label}: {identifier}"
        body = (
            f"{failures} failed logins for {identifier} from {extra.get('clients', '?')} clients "
            f"in the last {settings.LOGIN_LOCKOUT_MINUTES} minutes. The account is not locked: "
            f"unknown clients are slowed to {settings.LOGIN_TARGETED_RATE}.\n\n"
            f"{settings.SITE_URL}/admin/core/suspiciousactivity/{activity.pk}/change/"
        )

        def alert() -> None:
            try:
                send_mail(subject, body, None, settings.ALERT_EMAILS)
            except Exception:  # the log line above is the alert of last resort
                logger.exception("could not email security alert for %s", identifier)

        transaction.on_commit(alert)


# --- resets and the helpers tests and staff use -----------------------------------------------
def reset(*, identifier: str, ip: str = "") -> None:
    """Forget an account's failures: from one client (`ip`), or from every client (staff lifting
    a lock, a password reset)."""
    attempts = AccessAttempt.objects.filter(username=normalise(identifier))
    if ip:
        attempts = attempts.filter(ip_address=ip)
    attempts.delete()


def lift_ip(*, ip: str) -> None:
    AccessAttempt.objects.filter(ip_address=ip).delete()


def record_failure(*, identifier: str, ip: str) -> None:
    """Count one failed login of `identifier` from `ip` the way a real one is counted (for staff
    tooling and tests): sends user_login_failed with a minimal request."""
    request = HttpRequest()
    request.method = "POST"
    request.path = request.path_info = "/accounts/login/"
    request.META["REMOTE_ADDR"] = ip
    user_login_failed.send(sender=__name__, credentials={"login": identifier}, request=request)


def on_logged_in(sender: Any, request: Any = None, user: Any = None, **kw) -> None:
    """A successful login clears this client's failures for the account (email and handle)."""
    if user is None:
        return
    ip = ip_of(request) if request is not None else None
    for value in {normalise(user.get_username()), normalise(getattr(user, "email", ""))}:
        if value:
            reset(identifier=value, ip=ip or "")
