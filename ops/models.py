from django.conf import settings
from django.db import models


class AuditLog(models.Model):
    """An append-only record of who did what: admin actions, order and money changes, logins.

    Rows are written only through `ops.audit.audit_log` and never edited or deleted from the UI.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What happened, as a dotted verb: "order.shipped", "user.banned", "auth.login_failed".
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"


class SuspiciousActivity(models.Model):
    """Something an operator should look at: a login lock-out, a rate-limit storm.

    Written by ops.lockout; listed in admin, where staff mark rows as reviewed.
    """

    class Kind(models.TextChoices):
        LOGIN_LOCKOUT_ACCOUNT = "login_lockout_account", "Account locked after failed logins"
        LOGIN_LOCKOUT_IP = "login_lockout_ip", "IP locked after failed logins"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The locked account identifier (email/username as typed, lower-cased) or the IP address.
    identifier = models.CharField(max_length=254, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    reviewed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "suspicious activity"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.identifier or self.ip_address}"


class Report(models.Model):
    """A member's report about a listing or a user, reviewed by staff in the admin queue."""

    class Reason(models.TextChoices):
        COUNTERFEIT = "counterfeit", "Counterfeit or replica"
        PROHIBITED = "prohibited", "Prohibited item"
        SCAM = "scam", "Scam or fraud"
        SPAM = "spam", "Spam"
        OFFENSIVE = "offensive", "Offensive content"
        MESSAGE = "message", "Abusive message"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports_made",
    )
    listing = models.ForeignKey(
        "marketplace.Listing",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reports",
    )
    reported_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="reports_received",
    )
    # A reported message, by id, while the messaging app owns the Message model.
    message_id = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    details = models.TextField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(listing__isnull=False)
                | models.Q(reported_user__isnull=False)
                | ~models.Q(message_id=""),
                name="report_has_target",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "resolved", "dismissed"]),
                name="report_status_known",
            ),
        ]

    def __str__(self) -> str:
        target = self.listing or self.reported_user or f"message {self.message_id}"
        return f"{self.get_reason_display()}: {target}"


class Switch(models.Model):
    """A named on/off switch operators flip at run time (maintenance mode)."""

    name = models.CharField(max_length=40, unique=True)
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {'on' if self.enabled else 'off'}"


class Incident(models.Model):
    """One line of the incident log (`manage.py incident "P0 acknowledged"`), shown on /status."""

    class Status(models.TextChoices):
        OPEN = "open", "Investigating"
        RESOLVED = "resolved", "Resolved"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    message = models.CharField(max_length=500)
    # P0 (site down) .. P3 (minor), read from the start of the message; blank if none.
    severity = models.CharField(max_length=2, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

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
