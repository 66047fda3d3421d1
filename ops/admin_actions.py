"""Admin actions for moderation. Each calls the owning app's service per row (audited).

ops/admin.py registers them on the ops models and attaches the user/listing ones to the
User and Listing admins when those are registered.
"""

from django.contrib import admin

from accounts.exceptions import AccountError
from core.admin_actions import admin_each
from marketplace.exceptions import MarketplaceError
from marketplace.models import Report
from marketplace.services import moderation


def _each(modeladmin, request, queryset, service, id_arg: str, verb: str, **kw) -> None:
    admin_each(
        modeladmin,
        request,
        queryset,
        service,
        id_arg,
        verb,
        refusals=(AccountError, MarketplaceError),
        **kw,
    )


def _moderation_action(name: str, description: str, service, id_arg: str, verb: str, **kw):
    """An admin action named `name` (admin tells actions apart by __name__) that calls
    `service` for each selected row (see `_each`)."""

    @admin.action(description=description)
    def action(modeladmin, request, queryset) -> None:
        _each(modeladmin, request, queryset, service, id_arg, verb, **kw)

    action.__name__ = action.__qualname__ = name
    return action


ban_users = _moderation_action(
    "ban_users",
    "Ban selected members (hides their listings)",
    moderation.member_set_banned,
    "user_id",
    "Banned",
    banned=True,
)
unban_users = _moderation_action(
    "unban_users",
    "Unban selected members",
    moderation.member_set_banned,
    "user_id",
    "Unbanned",
    banned=False,
)
hide_listings = _moderation_action(
    "hide_listings",
    "Hide selected listings",
    moderation.listing_set_hidden,
    "listing_id",
    "Hidden",
    hidden=True,
)
restore_listings = _moderation_action(
    "restore_listings",
    "Restore selected listings",
    moderation.listing_set_hidden,
    "listing_id",
    "Restored",
    hidden=False,
)
act_on_reports = _moderation_action(
    "act_on_reports",
    "Act on selected reports (hide listing / ban member, resolve)",
    moderation.report_act,
    "report_id",
    "Acted on",
)
resolve_reports = _moderation_action(
    "resolve_reports",
    "Mark selected reports resolved",
    moderation.report_close,
    "report_id",
    "Resolved",
    status=Report.Status.RESOLVED,
)
dismiss_reports = _moderation_action(
    "dismiss_reports",
    "Dismiss selected reports",
    moderation.report_close,
    "report_id",
    "Dismissed",
    status=Report.Status.DISMISSED,
)
