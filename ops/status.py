"""Key metrics against the operations manual's thresholds and windows (ops_status).

Alerts for them are sent by ops.alerts (email, the generic webhook, PagerDuty).
"""

import shutil
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection
from django.utils import timezone

from core import metrics, security_events
from core.models import SuspiciousActivity
from ops import backups, health

OK, WARN, CRIT = "OK", "WARN", "CRIT"
RANK = {OK: 0, WARN: 1, CRIT: 2}
# The manual's thresholds: (warning, critical).
THRESHOLDS = {
    "p95_response_ms": (500, 2000),
    "error_rate_pct": (1, 5),
    "db_connections_pct": (80, 95),
    "disk_used_pct": (80, 90),
    "db_disk_used_pct": (80, 90),
    "memory_used_pct": (80, 95),
    "suspicious_activity": (1, 10),
    "webhook_signature_failures": (10, 50),
}
# The manual's windows (minutes): error rate as a 5-minute average, p95 over 15 minutes,
# suspicious activity (lock-outs, refused webhook signatures) over 15 minutes.
WINDOWS = {"error_rate_pct": 5, "p95_response_ms": 15, "security": 15}
CGROUP_ROOT = Path("/sys/fs/cgroup")
# cgroup v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages), v2 as "max".
UNLIMITED_BYTES = 1 << 60


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


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    if text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _inactive_file(stat: Path, field: str) -> int:
    """Page cache the kernel can drop at once: not counted as used (as docker stats does)."""
    try:
        for line in stat.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == field:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def cgroup_memory(root: Path = CGROUP_ROOT) -> tuple[int, int] | None:
    """(used, limit) in bytes of this container's memory cgroup, v2 or v1.

    None when there is no cgroup or it has no limit (then host memory is what counts)."""
    v2_limit = _read_int(root / "memory.max")
    v2_used = _read_int(root / "memory.current")
    if v2_limit is not None and v2_used is not None:
        used = v2_used - _inactive_file(root / "memory.stat", "inactive_file")
        limit = v2_limit
    else:
        v1 = root / "memory"
        limit = _read_int(v1 / "memory.limit_in_bytes")
        usage = _read_int(v1 / "memory.usage_in_bytes")
        if limit is None or usage is None:
            return None
        used = usage - _inactive_file(v1 / "memory.stat", "total_inactive_file")
    if not limit or limit >= UNLIMITED_BYTES:
        return None
    return max(used, 0), limit


def host_memory_used_pct(meminfo: Path = Path("/proc/meminfo")) -> float | None:
    try:
        fields = dict(
            line.split(":", 1) for line in meminfo.read_text().splitlines() if ":" in line
        )
        total = int(fields["MemTotal"].split()[0])
        available = int(fields["MemAvailable"].split()[0])
    except (OSError, KeyError, ValueError):
        return None
    return 100 * (total - available) / total if total else None


def memory_metric(*, cgroup_root: Path | None = None) -> Metric:
    """The container's memory (cgroup limit) or, with no limit, the host's."""
    container = cgroup_memory(cgroup_root or CGROUP_ROOT)
    if container is not None:
        used, limit = container
        pct = 100 * used / limit
        mib = limit / 2**20
        return _metric("memory_used_pct", pct, f"{pct:.0f}% of {mib:.0f} MiB (container)")
    pct = host_memory_used_pct()
    return _metric("memory_used_pct", pct, f"{pct:.0f}% (host)" if pct is not None else "n/a")


def _disk_pct(path: Path) -> float:
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    return 100 * usage.used / usage.total


def uploads_disk_metric() -> Metric:
    """The disk holding uploads (MEDIA_ROOT); a bucket has no disk to fill."""
    storage = storages["default"]
    if not isinstance(storage, FileSystemStorage):
        return _metric("disk_used_pct", None, f"n/a ({type(storage).__name__})")
    pct = _disk_pct(Path(storage.location))
    return _metric("disk_used_pct", pct, f"{pct:.0f}% (uploads)")


def database_disk_metric() -> Metric:
    """SQLite: the disk holding its file. PostgreSQL: the database's size against
    DATABASE_STORAGE_LIMIT_MB (its volume or plan quota), since its disk is on another host."""
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            return _metric("db_disk_used_pct", None, "n/a (in-memory SQLite)")
        pct = _disk_pct(Path(name).parent)
        return _metric("db_disk_used_pct", pct, f"{pct:.0f}% (SQLite file)")
    if connection.vendor != "postgresql":
        return _metric("db_disk_used_pct", None, "n/a")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        size_mb = cursor.fetchone()[0] / 2**20
    limit = settings.DATABASE_STORAGE_LIMIT_MB
    if not limit:
        return _metric("db_disk_used_pct", None, f"{size_mb:.0f} MB (no limit set)")
    pct = 100 * size_mb / limit
    return _metric("db_disk_used_pct", pct, f"{size_mb:.0f}/{limit} MB ({pct:.0f}%)")


def security_metrics(*, minutes: int) -> list[Metric]:
    """Suspicious activity rows (lock-outs, ...) and refused webhook signatures, recent."""
    since = timezone.now() - timedelta(minutes=minutes)
    rows = SuspiciousActivity.objects.filter(created_at__gte=since).count()
    refused = security_events.webhook_signature_failures(minutes=minutes)
    return [
        _metric("suspicious_activity", rows, f"{rows} in {minutes} min (admin: Suspicious)"),
        _metric("webhook_signature_failures", refused, f"{refused} in {minutes} min"),
    ]


def collect(*, minutes: int | None = None) -> list[Metric]:
    """Every metric against its threshold. `minutes` replaces the manual's windows."""
    rate = metrics.snapshot(minutes=minutes or WINDOWS["error_rate_pct"])
    slow = metrics.snapshot(minutes=minutes or WINDOWS["p95_response_ms"])
    minimum = settings.ALERT_ERROR_RATE_MIN_REQUESTS
    enough = rate.requests >= minimum and rate.requests > 0
    rate_display = f"{rate.error_rate:.2f}% of {rate.requests}"
    if not enough:
        rate_display += f" (< {minimum} req.)"
    result = [
        _metric(
            "p95_response_ms",
            slow.p95_ms,
            f"{slow.p95_ms} ms" if slow.p95_ms is not None else "no traffic",
        ),
        _metric("error_rate_pct", rate.error_rate if enough else None, rate_display),
    ]
    try:
        usage = db_connection_usage()
    except Exception as exc:
        result.append(Metric("database", None, f"unreachable ({type(exc).__name__})", CRIT))
        # Say what is wrong, not "n/a": the connections can't be counted while it is down.
        result.append(Metric("db_connections_pct", None, "unknown (database unreachable)", CRIT))
    else:
        if usage is not None:
            used, maximum = usage
            pct = 100 * used / maximum
            result.append(_metric("db_connections_pct", pct, f"{used}/{maximum} ({pct:.0f}%)"))
        else:
            result.append(_metric("db_connections_pct", None, f"n/a ({connection.vendor})"))
    result.append(uploads_disk_metric())
    try:
        result.append(database_disk_metric())
    except Exception as exc:  # the database row above already says it is unreachable
        result.append(_metric("db_disk_used_pct", None, f"n/a ({type(exc).__name__})"))
    result.append(memory_metric())
    try:
        result += security_metrics(minutes=minutes or WINDOWS["security"])
    except Exception as exc:
        result.append(Metric("suspicious_activity", None, f"n/a ({type(exc).__name__})", OK))
    result.append(backup_metric())
    for check in health.core_checks():
        if not check.ok and check.critical:
            result.append(Metric(check.name, None, f"down: {check.error}"[:60], CRIT))
    return result


def backup_metric() -> Metric:
    """Age of the newest backup in hours against BACKUP_INTERVAL_HOURS (+ slack, and 2x)."""
    try:
        fresh = backups.backup_freshness(now=timezone.now())
    except Exception as exc:
        return Metric("backup_age_hours", None, f"unreadable ({type(exc).__name__})", CRIT)
    if fresh.level == backups.OFF:
        return Metric("backup_age_hours", None, "not scheduled", OK)
    warn = fresh.warn_after.total_seconds() / 3600
    crit = fresh.crit_after.total_seconds() / 3600
    display = "none yet" if fresh.newest is None else f"{fresh.age_hours} h"
    return Metric("backup_age_hours", fresh.age_hours, display, fresh.level, warn, crit)
