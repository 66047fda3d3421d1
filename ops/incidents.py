"""The incident log: timestamped lines in the database (shown on /status) and in a file.

It must work on the day it is written for: every line goes to LOG_DIR/incidents.log first,
with its own id. When the database is down the line also waits in
LOG_DIR/incidents.pending.jsonl, and `incidents_sync_pending` (run by the next `incident` and
by the worker every tick) adds it to the database once it is back, exactly once.
"""

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import outage
from core.audit import audit_log
from ops import alerts
from ops.models import Incident

logger = logging.getLogger("ops.incident")
SEVERITY = re.compile(r"^\s*\[?(P[0-3])\b", re.IGNORECASE)


@dataclass(frozen=True)
class IncidentLine:
    ref: str
    at: datetime
    message: str
    resolve: bool
    in_database: bool  # False: the database was down; the line waits in the pending file


def severity_of(message: str) -> str:
    match = SEVERITY.match(message)
    return match.group(1).upper() if match else ""


def _log_dir() -> Path:
    return Path(settings.LOG_DIR)


def incident_log(*, message: str, resolve: bool = False, actor: Any = None) -> IncidentLine:
    """Append a line to the incident log; with resolve=True it closes every open incident.

    Written to LOG_DIR/incidents.log first, then to the database (audited) and pushed to
    ALERT_WEBHOOK_URL. With the database down the line is kept for `incidents_sync_pending`,
    still pushed to the webhook, and the result says `in_database=False`.
    """
    message = message.strip()[:500]
    if not message:
        raise ValueError("An incident line needs a message.")
    line = IncidentLine(
        ref=uuid.uuid4().hex, at=timezone.now(), message=message, resolve=resolve,
        in_database=True,
    )  # fmt: skip
    _append(
        "incidents.log",
        f"{line.at.isoformat(timespec='seconds')} [{line.ref[:8]}] "
        f"{'RESOLVED ' if resolve else ''}{message}",
    )
    logger.warning("incident: %s", message)
    try:
        incidents_sync_pending()
        with transaction.atomic():
            incident = _record(line)
            audit_log(action="incident.logged", actor=actor, target=incident, resolve=resolve)
            transaction.on_commit(lambda: alerts.post_webhook(payload=_payload(line)))
    except outage.DATABASE_ERRORS as exc:
        logger.warning("incident %s kept for the database (%s)", line.ref, type(exc).__name__)
        _append("incidents.pending.jsonl", json.dumps(_as_json(line)))
        alerts.post_webhook(payload=_payload(line))
        return IncidentLine(**{**line.__dict__, "in_database": False})
    return line


def incidents_sync_pending() -> int:
    """Add the lines logged while the database was down, each once (by its ref), in order;
    then empty the pending file. Returns how many were added. Raises the database's error
    when it is still down (the file is kept)."""
    path = _log_dir() / "incidents.pending.jsonl"
    if not path.exists():
        return 0
    entries = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(raw))
        except ValueError:
            logger.warning("skipping an unreadable pending incident line: %r", raw[:80])
    added = 0
    with transaction.atomic():
        for entry in entries:
            line = IncidentLine(
                ref=entry["ref"], at=datetime.fromisoformat(entry["at"]),
                message=entry["message"], resolve=entry["resolve"], in_database=True,
            )  # fmt: skip
            if not Incident.objects.filter(ref=line.ref).exists():
                _record(line)
                added += 1
        path.unlink()
    return added


def _record(line: IncidentLine) -> Incident:
    status = Incident.Status.RESOLVED if line.resolve else Incident.Status.OPEN
    incident = Incident.objects.create(
        ref=line.ref,
        message=line.message,
        severity=severity_of(line.message),
        status=status,
        resolved_at=line.at if line.resolve else None,
    )
    Incident.objects.filter(pk=incident.pk).update(created_at=line.at)
    incident.created_at = line.at
    if line.resolve:
        Incident.objects.filter(status=Incident.Status.OPEN, created_at__lte=line.at).update(
            status=Incident.Status.RESOLVED, resolved_at=line.at
        )
    return incident


def _as_json(line: IncidentLine) -> dict[str, Any]:
    return {"ref": line.ref, "at": line.at.isoformat(), "message": line.message,
            "resolve": line.resolve}  # fmt: skip


def _payload(line: IncidentLine) -> dict[str, Any]:
    return {
        "text": f"[Threadly incident{' resolved' if line.resolve else ''}] {line.message}",
        "incident": line.ref,
        "status": "resolved" if line.resolve else "open",
        "severity": severity_of(line.message),
        "created_at": line.at.isoformat(),
        "site": settings.SITE_URL,
    }


def _append(name: str, text: str) -> None:
    try:
        _log_dir().mkdir(parents=True, exist_ok=True)
        with (_log_dir() / name).open("a", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError:
        logger.exception("could not append to %s", name)
