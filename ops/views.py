"""Operator-facing pages: health endpoints and the public status page."""

import time

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.context_processors import csp
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core import outage
from ops import dashboards, health
from ops.selectors import incidents_for_status_page


@never_cache
@require_safe
def api_health(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. No dependency is touched (load balancers poll this)."""
    return JsonResponse(
        {"status": "ok", "timestamp": timezone.now().isoformat(), "version": settings.VERSION}
    )


@never_cache
@require_safe
def health_all(request: HttpRequest) -> JsonResponse:
    """Every configured service; 503 naming the failing ones. A failing check that is not
    critical (a late background worker) is named under `warnings` only: the site serves, so
    the status stays "ok" with 200 and a probe doesn't take it out of rotation."""
    checks = health.all_checks()
    failed = [c.name for c in checks if not c.ok and c.critical]
    warnings = [c.name for c in checks if not c.ok and not c.critical]
    response = JsonResponse(
        {
            "status": "error" if failed else "ok",
            "timestamp": timezone.now().isoformat(),
            "version": settings.VERSION,
            "failed": failed,
            "warnings": warnings,
            "services": {c.name: c.as_dict() for c in checks},
        },
        status=503 if failed else 200,
    )
    # ops.health logs each failing check when it runs (at most once per HEALTH_CACHE_SECONDS):
    # a monitor polling during an outage should not add an error line per poll.
    response._has_been_logged = True
    return response


@never_cache
@require_safe
def health_db(request: HttpRequest) -> JsonResponse:
    """Database round trip latency (ms) and connection count; 503 if the database fails."""
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        latency = round((time.perf_counter() - started) * 1000, 2)
        connections = health.database_connections()
    except Exception as exc:
        return JsonResponse(
            {"status": "error", "failed": ["database"], "detail": type(exc).__name__},
            status=503,
        )
    return JsonResponse(
        {
            "status": "ok",
            "vendor": connection.vendor,
            "latency": latency,
            "connections": connections,
        }
    )


@never_cache
@require_safe
def status_page(request: HttpRequest) -> HttpResponse:
    """Public status: each service up or down, and open and recent incidents."""
    checks = health.all_checks()
    database_ok = all(c.ok for c in checks if c.name == "database")
    incidents_known = database_ok
    open_incidents, recent_incidents = [], []
    if database_ok:
        try:
            open_incidents, recent_incidents = incidents_for_status_page()
        except outage.DATABASE_ERRORS:  # went down since the check
            incidents_known = False
    context = {
        "checks": checks,
        "all_ok": incidents_known and all(c.ok for c in checks) and not open_incidents,
        "open_incidents": open_incidents,
        "recent_incidents": recent_incidents,
        "incidents_known": incidents_known,
        "checked_at": timezone.now(),
    }
    if incidents_known:
        return render(request, "ops/status.html", context, status=200)
    # The page people open during an outage: render it without the context processors (the
    # session, the member, the category menu), which all need the database.
    context |= {"request": request, **csp(request)}
    return HttpResponse(render_to_string("ops/status.html", context), status=200)


@staff_member_required
@require_safe
def analytics_dashboard(request: HttpRequest) -> HttpResponse:
    """Staff: sales, GMV, fees, new users and listings, funnel over 7/30/90 days."""
    days = dashboards.parse_days(request.GET.get("days"))
    return render(
        request,
        "ops/analytics.html",
        {
            "board": dashboards.platform_dashboard(days=days),
            "periods": dashboards.PERIODS,
            "title": "Analytics",
        },
    )


@login_required
@require_safe
def seller_dashboard(request: HttpRequest) -> HttpResponse:
    """A seller's own numbers: views, favourites, sales."""
    return render(
        request, "ops/seller_stats.html", {"stats": dashboards.seller_stats(seller=request.user)}
    )
