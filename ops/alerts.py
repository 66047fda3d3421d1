"""Where alerts go: email (ALERT_EMAILS), the generic webhook (ALERT_WEBHOOK_URL) and
PagerDuty (Events API v2, PAGERDUTY_ROUTING_KEY), routed as the operations manual says.

Routing: every WARN/CRIT metric goes to email and to the webhook (the team's feed); the error
rate also pages PagerDuty when it is CRIT, and resolves that page when it recovers. Each
metric alerts at most once per ALERT_WINDOW_MINUTES unless it gets worse (AlertState).
A destination that fails is logged and never stops the others.
"""

import json
import logging
import urllib.request
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from core import outage
from ops.models import AlertState
from ops.status import CRIT, OK, RANK, Metric

logger = logging.getLogger("ops.alerts")
EMAIL, WEBHOOK, PAGERDUTY = "email", "webhook", "pagerduty"
DEFAULT_ROUTE = (EMAIL, WEBHOOK)
# The manual's routing: error rate -> email + PagerDuty; p95 -> email. The webhook carries
# every alert (and incidents) as the team's feed.
ROUTES: dict[str, tuple[str, ...]] = {
    "error_rate_pct": (EMAIL, WEBHOOK, PAGERDUTY),
    "p95_response_ms": (EMAIL, WEBHOOK),
}
# PagerDuty wakes someone up: only at CRIT.
PAGE_LEVELS = {CRIT}
PAGERDUTY_SEVERITY = {"CRIT": "critical", "WARN": "warning", "OK": "info"}
TIMEOUT = 5


def routes_for(metric: str) -> tuple[str, ...]:
    """The destinations the manual gives `metric`."""
    return ROUTES.get(metric, DEFAULT_ROUTE)


def _configured() -> bool:
    return bool(
        settings.ALERT_EMAILS or settings.ALERT_WEBHOOK_URL or settings.PAGERDUTY_ROUTING_KEY
    )


def _should_alert(metric: Metric) -> bool:
    """At most one alert per metric per window, unless the level got worse. Locks the row."""
    now = timezone.now()
    window = timedelta(minutes=settings.ALERT_WINDOW_MINUTES)
    with transaction.atomic():
        state = AlertState.objects.select_for_update().filter(metric=metric.name).first()
        recent = state is not None and state.sent_at > now - window
        if recent and RANK[metric.level] <= RANK.get(state.level, 0):
            return False
        AlertState.objects.update_or_create(
            metric=metric.name, defaults={"level": metric.level, "sent_at": now}
        )
    return True


def _alert_due(metric: Metric) -> bool:
    """_should_alert, or True when the database (which remembers sent alerts) is down: an
    alert too many beats no alert about the outage."""
    try:
        return _should_alert(metric)
    except outage.DATABASE_ERRORS:
        logger.warning("alert state unavailable (database down); sending %s anyway", metric.name)
        return True


def _recovered(metric: Metric) -> str | None:
    """The level a metric that is OK again last alerted at (and forget it); None otherwise."""
    with transaction.atomic():
        state = AlertState.objects.select_for_update().filter(metric=metric.name).first()
        if state is None or state.level == OK:
            return None
        previous = state.level
        state.level = OK
        state.save(update_fields=["level"])
    return previous


def _recovered_or_unknown(metric: Metric) -> str | None:
    try:
        return _recovered(metric)
    except outage.DATABASE_ERRORS:
        return None


def alert_text(metric: Metric) -> str:
    text = f"[Threadly {metric.level}] {metric.name}: {metric.display}"
    if metric.warn is not None:
        text += f" (warn {metric.warn}, critical {metric.crit})"
    return text


def notify(metrics_: list[Metric]) -> list[Metric]:
    """Send each WARN/CRIT metric to its destinations (once per window) and resolve the
    PagerDuty page of a metric that is OK again. Returns the metrics alerted."""
    if not _configured():
        return []
    for metric in metrics_:
        pages = PAGERDUTY in routes_for(metric.name)
        if metric.level == OK and pages and _recovered_or_unknown(metric) in PAGE_LEVELS:
            pagerduty_event(action="resolve", dedup_key=_dedup_key(metric.name))
    sent = [m for m in metrics_ if m.level != OK and _alert_due(m)]
    for metric in sent:
        text = alert_text(metric)
        logger.warning("alert: %s", text)
        routes = routes_for(metric.name)
        if EMAIL in routes:
            send_email(subject=text, body=f"{text}\n\n{settings.SITE_URL}/status")
        if WEBHOOK in routes:
            post_webhook(
                payload={
                    "text": text,
                    "metric": metric.name,
                    "level": metric.level,
                    "value": metric.value,
                    "site": settings.SITE_URL,
                }
            )
        if PAGERDUTY in routes and metric.level in PAGE_LEVELS:
            pagerduty_event(
                action="trigger",
                dedup_key=_dedup_key(metric.name),
                summary=text,
                severity=PAGERDUTY_SEVERITY[metric.level],
                details={"metric": metric.name, "value": metric.value, "site": settings.SITE_URL},
            )
    return sent


def send_email(*, subject: str, body: str) -> bool:
    """Email ALERT_EMAILS (no-op without them). False when sending failed (logged)."""
    if not settings.ALERT_EMAILS:
        return False
    try:
        send_mail(subject, body, None, settings.ALERT_EMAILS)
    except Exception:
        logger.exception("could not email alert %r", subject)
        return False
    return True


def post_webhook(*, payload: dict[str, Any]) -> bool:
    """POST `payload` as JSON to ALERT_WEBHOOK_URL (Slack-compatible when it has "text").
    No-op without the URL. False when the post failed (logged)."""
    if not settings.ALERT_WEBHOOK_URL:
        return False
    return _post_json(settings.ALERT_WEBHOOK_URL, payload, what="ALERT_WEBHOOK_URL")


def pagerduty_event(
    *,
    action: str,
    dedup_key: str,
    summary: str = "",
    severity: str = "critical",
    details: dict[str, Any] | None = None,
) -> bool:
    """Send a PagerDuty Events API v2 event ("trigger" or "resolve") to PAGERDUTY_EVENTS_URL.

    One `dedup_key` per metric, so a re-trigger updates the open incident and a resolve
    closes it. No-op without PAGERDUTY_ROUTING_KEY. False when the post failed (logged)."""
    if not settings.PAGERDUTY_ROUTING_KEY:
        return False
    event: dict[str, Any] = {
        "routing_key": settings.PAGERDUTY_ROUTING_KEY,
        "event_action": action,
        "dedup_key": dedup_key,
    }
    if action == "trigger":
        event["payload"] = {
            "summary": summary[:1024],
            "source": settings.SITE_URL,
            "severity": severity,
            "component": "threadly",
            "custom_details": details or {},
        }
    return _post_json(settings.PAGERDUTY_EVENTS_URL, event, what="PagerDuty")


def _dedup_key(metric: str) -> str:
    return f"threadly:{settings.SITE_URL}:{metric}"


def _post_json(url: str, payload: dict[str, Any], *, what: str) -> bool:
    request = urllib.request.Request(  # noqa: S310 - operator-configured URL
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            response.read()
    except Exception:
        logger.exception("could not post an alert to %s", what)
        return False
    return True
