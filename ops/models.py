"""The operator's own tables: the incident log and the alert state."""

from django.db import models


class Incident(models.Model):
    """One line of the incident log (`manage.py incident "P0 acknowledged"`), shown on /status."""

    class Status(models.TextChoices):
        OPEN = "open", "Investigating"
        RESOLVED = "resolved", "Resolved"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The line's id, also written in LOG_DIR/incidents.log: a line logged while the database
    # was down is added later exactly once (ops.incidents.incidents_sync_pending).
    ref = models.CharField(max_length=32, blank=True, default="")
    message = models.CharField(max_length=500)
    # P0 (site down) .. P3 (minor), read from the start of the message; blank if none.
    severity = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ref"], condition=~models.Q(ref=""), name="incident_ref_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.message}"


class AlertState(models.Model):
    """The last alert ops_status sent for a metric, so one metric alerts at most once per
    window (ALERT_WINDOW_MINUTES) unless it gets worse."""

    metric = models.CharField(max_length=40, unique=True)
    level = models.CharField(max_length=4)
    sent_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.metric} {self.level} at {self.sent_at:%Y-%m-%d %H:%M}"
