"""Reads for the operator side (status page, ops_status, dashboards)."""

from datetime import timedelta

from django.utils import timezone

from ops.models import Incident

RECENT_INCIDENT_DAYS = 14


def incidents_for_status_page() -> tuple[list[Incident], list[Incident]]:
    """(open incidents, incident lines of the last two weeks), newest first."""
    since = timezone.now() - timedelta(days=RECENT_INCIDENT_DAYS)
    recent = list(Incident.objects.filter(created_at__gte=since)[:50])
    open_ = [i for i in recent if i.status == Incident.Status.OPEN]
    return open_, recent
