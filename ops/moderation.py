"""Moderation services: ban/unban members, hide/restore listings, work the report queue.

Every action is audited in the same transaction. Operator side: may import other apps.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from marketplace.models import Listing
from ops.audit import audit_log
from ops.exceptions import ModerationError
from ops.models import Report


@transaction.atomic
def user_set_banned(*, user_id: int, banned: bool, actor: Any, reason: str = "") -> User:
    """Ban or unban a member. A banned member can't sign in; their listings are hidden by
    Listing.objects.visible(). Locks the user row. Raises ModerationError for staff targets."""
    user = User.objects.select_for_update().get(pk=user_id)
    if banned and (user.is_staff or user.is_superuser):
        raise ModerationError(f"{user} is staff; remove their staff role before banning.")
    if user.is_banned != banned:
        user.is_banned = banned
        user.save(update_fields=["is_banned"])
        audit_log(
            action="user.banned" if banned else "user.unbanned",
            actor=actor,
            target=user,
            reason=reason,
        )
    return user


@transaction.atomic
def listing_set_hidden(*, listing_id: int, hidden: bool, actor: Any, reason: str = "") -> Listing:
    """Hide a listing from everyone but its seller, or restore it. Locks the listing row."""
    listing = Listing.objects.select_for_update().get(pk=listing_id)
    if listing.is_hidden != hidden:
        listing.is_hidden = hidden
        listing.save(update_fields=["is_hidden", "updated_at"])
        audit_log(
            action="listing.hidden" if hidden else "listing.restored",
            actor=actor,
            target=listing,
            reason=reason,
        )
    return listing


@transaction.atomic
def report_close(*, report_id: int, status: str, actor: Any, note: str = "") -> Report:
    """Resolve or dismiss an open report. Locks the report row."""
    if status not in {Report.Status.RESOLVED, Report.Status.DISMISSED}:
        raise ModerationError(f"A report can be closed as resolved or dismissed, not {status}.")
    report = Report.objects.select_for_update().get(pk=report_id)
    if report.status != Report.Status.OPEN:
        return report
    report.status = status
    report.resolved_by = actor
    report.resolved_at = timezone.now()
    report.save(update_fields=["status", "resolved_by", "resolved_at", "updated_at"])
    audit_log(action=f"report.{status}", actor=actor, target=report, note=note)
    return report


@transaction.atomic
def report_act(*, report_id: int, actor: Any) -> Report:
    """Take the report's action: hide the reported listing and/or ban the reported member,
    then resolve the report."""
    report = Report.objects.select_related("listing", "reported_user").get(pk=report_id)
    reason = f"report #{report.pk}: {report.get_reason_display()}"
    if report.listing_id:
        listing_set_hidden(listing_id=report.listing_id, hidden=True, actor=actor, reason=reason)
    if report.reported_user_id:
        user_set_banned(user_id=report.reported_user_id, banned=True, actor=actor, reason=reason)
    return report_close(report_id=report.pk, status=Report.Status.RESOLVED, actor=actor)


def report_create(
    *,
    reporter: Any,
    reason: str,
    listing: Listing | None = None,
    reported_user: User | None = None,
    message_id: str = "",
    details: str = "",
) -> Report:
    """File a report (for the marketplace/messaging report buttons)."""
    if listing is None and reported_user is None and not message_id:
        raise ModerationError("A report needs a listing, a member or a message.")
    if reason not in Report.Reason.values:
        raise ModerationError("Choose a reason for the report.")
    return Report.objects.create(
        reporter=reporter if getattr(reporter, "is_authenticated", False) else None,
        reason=reason,
        listing=listing,
        reported_user=reported_user,
        message_id=message_id,
        details=details,
    )
