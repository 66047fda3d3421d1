"""Moderation of the catalog: hiding listings and the report queue.

Staff act through the admin screens in ops, which call these services. Every change is
audited in the same transaction.
"""

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_set_banned
from core.audit import audit_log
from marketplace.exceptions import ReportError
from marketplace.models import Listing, Report
from marketplace.search.sync import listings_changed, seller_listings_changed


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
        listings_changed([listing.pk])
    return listing


@transaction.atomic
def member_set_banned(*, user_id: int, banned: bool, actor: Any, reason: str = "") -> User:
    """Ban or unban a member (accounts.services.user_set_banned: locks the user row, audited)
    and take their listings out of search, or put them back, after commit.

    The catalog's way in to a ban: accounts can't know about listings. Raises BanNotAllowed
    (accounts) for a staff member."""
    user = user_set_banned(user_id=user_id, banned=banned, actor=actor, reason=reason)
    seller_listings_changed(user.pk)
    return user


def report_create(
    *,
    reporter: Any,
    reason: str,
    listing: Listing | None = None,
    reported_user: User | None = None,
    message_id: str = "",
    details: str = "",
) -> Report:
    """File a report about a listing, a member or a message. Raises ReportError without a
    target or with an unknown reason."""
    if listing is None and reported_user is None and not message_id:
        raise ReportError("A report needs a listing, a member or a message.")
    if reason not in Report.Reason.values:
        raise ReportError("Choose a reason for the report.")
    return Report.objects.create(
        reporter=reporter if getattr(reporter, "is_authenticated", False) else None,
        reason=reason,
        listing=listing,
        reported_user=reported_user,
        message_id=message_id,
        details=details,
    )


@transaction.atomic
def report_close(*, report_id: int, status: str, actor: Any, note: str = "") -> Report:
    """Resolve or dismiss an open report (a closed one is left as it is). Locks the report
    row. Raises ReportError for a status other than resolved or dismissed."""
    if status not in {Report.Status.RESOLVED, Report.Status.DISMISSED}:
        raise ReportError(f"A report can be closed as resolved or dismissed, not {status}.")
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
    then resolve the report. Raises BanNotAllowed (accounts) for a staff member."""
    report = Report.objects.select_related("listing", "reported_user").get(pk=report_id)
    reason = f"report #{report.pk}: {report.get_reason_display()}"
    if report.listing_id:
        listing_set_hidden(listing_id=report.listing_id, hidden=True, actor=actor, reason=reason)
    if report.reported_user_id:
        member_set_banned(user_id=report.reported_user_id, banned=True, actor=actor, reason=reason)
    return report_close(report_id=report.pk, status=Report.Status.RESOLVED, actor=actor)
