"""The audit log's one way in. Any app may call it; it imports no other app of ours."""

from typing import Any

from django.db import models

from core.models import AuditLog


def audit_log(
    *,
    action: str,
    actor: Any = None,
    target: models.Model | None = None,
    ip_address: str | None = None,
    **data: Any,
) -> AuditLog:
    """Append one entry. Runs inside the caller's transaction, so it commits or rolls back with
    the change it describes."""
    return AuditLog.objects.create(
        action=action,
        actor=actor if actor is not None and getattr(actor, "is_authenticated", False) else None,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        ip_address=ip_address,
        data=data,
    )
