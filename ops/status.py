"""Key metrics against the operations manual's thresholds (ops_status) and their alerts."""

import json
import logging
import shutil
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from core import metrics
from ops import health
from ops.models import AlertState

logger = logging.getLogger("ops.alerts")
OK, WARN, CRIT = "OK", "WARN", "CRIT"
RANK = {OK: 0, WARN: 1, CRIT: 2}
# The manual's thresholds: (warning, critical).
THRESHOLDS = {
    "p95_response_ms": (500, 2000),
    "error_rate_pct": (1, 5),
    "db_connections_pct": (80, 95),
    "disk_used_pct": (80, 90),
    "memory_used_pct": (85, 95),
}


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None
    display: str
    level: str
    warn: float | None = None
    crit: float | None = None


def _level(name: str, value: float | None) -> str:
    if value is None:
        return OK
    warn, crit = THRESHOLDS[name]
    return CRIT if value >= crit else WARN if value >= warn else OK


def _metric(name: str, value: float | None, display: str) -> Metric:
    warn, crit = THRESHOLDS[name]
    return Metric(name, value, display, _level(name, value), warn, crit)


def db_connection_usage() -> tuple[int, int] | None:
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), current_setting('max_connections')::int FROM pg_stat_activity"
        )
        used, maximum = cursor.fetchone()
    return used, maximum


def memory_used_pct(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    try:
        fields = dict(
            line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line
        )
        total = int(fields["MemTotal"].split()[0])
        available = int(fields["MemAvailable"].split()[0])
    except (OSError, KeyError, ValueError):
        return None
    return 100 * (total - available) / total if total else None


def collect(*, minutes: int = 15) -> list[Metric]:
    snap = metrics.snapshot(minutes=minutes)
    result = [
        _metric(
            "p95_response_ms",
            snap.p95_ms,
            f"{snap.p95_ms} ms" if snap.p95_ms is not None else "no traffic",
        ),
        _metric(
            "error_rate_pct",
            snap.error_rate if snap.requests else None,
            f"{snap.error_rate:.2f}% of {snap.requests}",
        ),
    ]
    try:
        usage = db_connection_usage()
    except Exception as exc:
        result.append(Metric("database", None, f"unreachable ({type(exc).__name__})", CRIT))
        usage = None
    if usage is not None:
        used, maximum = usage
        pct = 100 * used / maximum
        result.append(_metric("db_connections_pct", pct, f"{used}/{maximum} ({pct:.0f}%)"))
    else:
        result.append(_metric("db_connections_pct", None, "n/a (SQLite)"))
    disk = shutil.disk_usage(settings.MEDIA_ROOT if Path(settings.MEDIA_ROOT).exists() else "/")
    disk_pct = 100 * disk.used / disk.total
    result.append(_metric("disk_used_pct", disk_pct, f"{disk_pct:.0f}%"))
    memory = memory_used_pct()
    result.append(
        _metric("memory_used_pct", memory, f"{memory:.0f}%" if memory is not None else "n/a")
    )
    for check in health.core_checks():
        if not check.ok and check.critical:  # a late worker is /health's warning, not CRIT
            result.append(Metric(check.name, None, f"down: {check.error}"[:60], CRIT))
    return result


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


def notify(metrics_: list[Metric]) -> list[Metric]:
    """Send WARN/CRIT metrics to ALERT_EMAILS and ALERT_WEBHOOK_URL. Returns those sent."""
    if not (settings.ALERT_EMAILS or settings.ALERT_WEBHOOK_URL):
        return []
    sent = [m for m in metrics_ if m.level != OK and _should_alert(m)]
    for metric in sent:
        text = f"[Threadly {metric.level}] {metric.name}: {metric.display}"
        if metric.warn is not None:
            text += f" (warn {metric.warn}, critical {metric.crit})"
        logger.warning("alert: %s", text)
        if settings.ALERT_EMAILS:
            try:
                send_mail(
                    text, f"{text}\n\n{settings.SITE_URL}/status", None, settings.ALERT_EMAILS
                )
            except Exception:
                logger.exception("could not email alert %s", metric.name)
        if settings.ALERT_WEBHOOK_URL:
            _post_webhook(metric, text)
    return sent


def _post_webhook(metric: Metric, text: str) -> None:
    payload = {
        "text": text,
        "metric": metric.name,
        "level": metric.level,
        "value": metric.value,
        "site": settings.SITE_URL,
    }
    request = urllib.request.Request(  # noqa: S310 - operator-configured URL
        settings.ALERT_WEBHOOK_URL,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            response.read()
    except Exception:
        logger.exception("could not post alert %s to ALERT_WEBHOOK_URL", metric.name)
