"""The incident log: timestamped lines in the database (shown on /status) and in a file."""

import logging
import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import audit_log
from ops import alerts
from ops.models import Incident

logger = logging.getLogger("ops.incident")
SEVERITY = re.compile(r"^\s*\[?(P[0-3])\b", re.IGNORECASE)


def severity_of(message: str) -> str:
    match = SEVERITY.match(message)
    return match.group(1).upper() if match else ""


@transaction.atomic
def incident_log(*, message: str, resolve: bool = False, actor: Any = None) -> Incident:
    """Append a line to the incident log. With resolve=True the line closes every open
    incident. Also appended to LOG_DIR/incidents.log so the log survives a database outage,
    and, after the commit, pushed to ALERT_WEBHOOK_URL (a failed push is logged)."""
    message = message.strip()
    if not message:
        raise ValueError("An incident line needs a message.")
    now = timezone.now()
    status = Incident.Status.RESOLVED if resolve else Incident.Status.OPEN
    incident = Incident.objects.create(
        message=message[:500],
        severity=severity_of(message),
        status=status,
        resolved_at=now if resolve else None,
    )
    if resolve:
        Incident.objects.filter(status=Incident.Status.OPEN).update(
            status=Incident.Status.RESOLVED, resolved_at=now
        )
    audit_log(action="incident.logged", actor=actor, target=incident, resolve=resolve)
    _append_to_file(
        f"{now.isoformat(timespec='seconds')} {'RESOLVED ' if resolve else ''}{message}"
    )
    logger.warning("incident: %s", message)
    payload = {
        "text": f"[Threadly incident{' resolved' if resolve else ''}] {incident.message}",
        "incident": incident.pk,
        "status": incident.status,
        "severity": incident.severity,
        "created_at": incident.created_at.isoformat(),
        "site": settings.SITE_URL,
    }
    transaction.on_commit(lambda: alerts.post_webhook(payload=payload))
    return incident


def _append_to_file(line: str) -> None:
    try:
        log_dir = settings.LOG_DIR
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / "incidents.log").open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
    except OSError:
        logger.exception("could not append to the incident log file")
