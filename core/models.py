"""The kernel's tables: the audit log, suspicious activity and run-time switches."""

from django.conf import settings
from django.db import models


class AuditLog(models.Model):
    """An append-only record of who did what: admin actions, order and money changes, logins.

    Rows are written only through `core.audit.audit_log` and never edited or deleted from the UI.
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

    Written by core.lockout; listed in admin, where staff mark rows as reviewed.
    """

    class Kind(models.TextChoices):
        LOGIN_LOCKOUT_ACCOUNT = (
            "login_lockout_account",
            "Account locked for one client after failed logins",
        )
        LOGIN_LOCKOUT_IP = "login_lockout_ip", "IP locked after failed logins"
        LOGIN_ACCOUNT_TARGETED = (
            "login_account_targeted",
            "Account failing logins from many clients (slowed down, not locked)",
        )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # The account (email/username as typed, lower-cased) or the IP address; for an account
    # lock, ip_address is the one client it is locked for.
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


class Switch(models.Model):
    """A named on/off switch operators flip at run time (maintenance mode)."""

    name = models.CharField(max_length=40, unique=True)
    enabled = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.name}: {'on' if self.enabled else 'off'}"
