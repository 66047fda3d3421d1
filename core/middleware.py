"""Ops middleware: request metrics, extra security headers, maintenance mode, rate limits.

Kernel module: imports no other app of ours. Order in settings.MIDDLEWARE:
RequestMetricsMiddleware first (times everything), SecurityHeadersMiddleware and
DatabaseUnavailableMiddleware near the top,
MaintenanceModeMiddleware and RateLimitMiddleware after authentication and CSP (they need
request.user, and their own pages get the CSP header and nonce).
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from core import lockout, maintenance, metrics, outage, ratelimit, sentry
from core.http import personal_cookie_names, too_many_requests, wants_json

logger = logging.getLogger("ops.security")
Handler = Callable[[HttpRequest], HttpResponse]

HEALTH_PREFIXES = ("/api/health", "/health")
MAINTENANCE_EXEMPT = (
    *HEALTH_PREFIXES,
    "/api/webhooks/",
    "/static/",
    "/media/",
    "/admin/login/",
    "/status",
    # The installable app (core.pwa): static content that needs no database.
    "/offline/",
    "/sw.js",
    "/manifest.webmanifest",
)
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(self), usb=(), interest-cohort=()"
)


class RequestMetricsMiddleware:
    """Times each request and counts 5xx responses into core.metrics (health and static skipped)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith((*HEALTH_PREFIXES, "/static/")):
            return self.get_response(request)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            # A maintenance 503 is planned downtime, not an error.
            status = 200 if getattr(response, "ops_planned", False) else response.status_code
            return response
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            metrics.record(duration_ms=duration_ms, status_code=status)


class AnonymousCacheableMiddleware:
    """Drops "Cookie" from Vary on a GET/HEAD that carried no session, CSRF or messages cookie
    and whose response sets none: Django adds it whenever the (empty) session was read, e.g.
    for request.user, yet every cookie-less visitor gets the same page. A cache in front may
    then keep one copy per URL; it must pass requests carrying those cookies to the app
    (docs/operations.md). Goes just before SessionMiddleware (sees its Vary on the way out)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method not in ("GET", "HEAD") or response.cookies:
            return response
        personal = personal_cookie_names()
        if any(name in request.COOKIES for name in personal) or not response.has_header("Vary"):
            return response
        kept = [v.strip() for v in response["Vary"].split(",") if v.strip().lower() != "cookie"]
        if kept:
            response["Vary"] = ", ".join(kept)
        else:
            del response["Vary"]
        return response


class DatabaseUnavailableMiddleware:
    """A database error (OperationalError, InterfaceError) raised by a view becomes the friendly
    503 page with Retry-After instead of a 500 (see core.outage; handler500 covers middleware)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, outage.DATABASE_ERRORS):
            return outage.database_error_response(request, exception)
        return None


class SentryUserMiddleware:
    """Before the view runs (so an error it raises carries it), tell Sentry which member made
    the request. Goes after AuthenticationMiddleware; does nothing without SENTRY_DSN."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if settings.SENTRY_DSN:
            sentry.set_request_user(getattr(request, "user", None))
        return self.get_response(request)


class SecurityHeadersMiddleware:
    """Adds Permissions-Policy (Django's SecurityMiddleware does Referrer-Policy, HSTS, nosniff;
    the CSP middleware does Content-Security-Policy)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        return response


def _is_staff(request: HttpRequest) -> bool:
    """Staff browse during maintenance; with the database down nobody is known to be staff."""
    user = getattr(request, "user", None)
    try:
        return user is not None and user.is_authenticated and user.is_staff
    except outage.DATABASE_ERRORS:
        return False


class MaintenanceModeMiddleware:
    """503 + Retry-After for everyone but staff while maintenance mode is on.

    Health endpoints, webhooks (payments must still be recorded), static/media files, the
    admin login, the status page and the installable app (manifest, worker, offline page)
    stay up.
    """

    retry_after = 600

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith(MAINTENANCE_EXEMPT) or not maintenance.is_enabled():
            return self.get_response(request)
        if _is_staff(request):
            return self.get_response(request)
        if wants_json(request):
            response = JsonResponse(
                {"status": "maintenance", "detail": "Threadly is down for maintenance."},
                status=503,
            )
        else:
            # Rendered without the request: no context processor may touch the database,
            # which may be the reason for the maintenance.
            response = HttpResponse(render_to_string("maintenance.html"), status=503)
        response["Retry-After"] = str(self.retry_after)
        response["Cache-Control"] = "no-store"
        # Planned downtime: not an error to log to Sentry or count in the error rate.
        response._has_been_logged = True
        response.ops_planned = True
        return response


class RateLimitMiddleware:
    """429 + Retry-After when a user/IP goes over its limit (see core.ratelimit) or tries to log
    in while locked out (see core.lockout)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rule = ratelimit.rule_for(request)
        if rule is None:
            return self.get_response(request)
        decision = ratelimit.hit(scope=rule.scope, ident=rule.ident, rate=rule.rate)
        if not decision.allowed:
            if decision.count == decision.limit + 1:  # log once per window, not per request
                logger.warning("rate limit %s exceeded by %s", rule.scope, rule.ident)
            return too_many_requests(request, decision.retry_after)
        if rule.scope == "auth" and request.path.startswith("/accounts/login/"):
            identifier = lockout.normalise(request.POST.get("login"))
            locked = lockout.seconds_locked(identifier=identifier, ip=ratelimit.client_ip(request))
            if locked:
                return too_many_requests(request, locked, locked_out=True)
        return self.get_response(request)
