"""Admin actions for moderation. Each calls an ops.moderation service per row (audited).

ops/admin.py registers them on the ops models and attaches the user/listing ones to the
User and Listing admins when those are registered.
"""

from django.contrib import admin, messages

from ops import moderation
from ops.exceptions import ModerationError
from ops.models import Report


def _each(modeladmin, request, queryset, service, id_arg: str, verb: str, **kw) -> None:
    done, failed = 0, []
    for pk in list(queryset.values_list("pk", flat=True)):
        try:
            service(actor=request.user, **{id_arg: pk}, **kw)
        except ModerationError as exc:
            failed.append(str(exc))
        else:
            done += 1
    modeladmin.message_user(request, f"{verb}: {done}.", messages.SUCCESS)
    for message in failed:
        modeladmin.message_user(request, message, messages.WARNING)


@admin.action(description="Ban selected members (hides their listings)")
def ban_users(modeladmin, request, queryset) -> None:
    _each(
        modeladmin, request, queryset, moderation.user_set_banned, "user_id", "Banned", banned=True
    )


@admin.action(description="Unban selected members")
def unban_users(modeladmin, request, queryset) -> None:
    _each(
        modeladmin,
        request,
        queryset,
        moderation.user_set_banned,
        "user_id",
        "Unbanned",
        banned=False,
    )


@admin.action(description="Hide selected listings")
def hide_listings(modeladmin, request, queryset) -> None:
    _each(
        modeladmin,
        request,
        queryset,
        moderation.listing_set_hidden,
        "listing_id",
        "Hidden",
        hidden=True,
    )


@admin.action(description="Restore selected listings")
def restore_listings(modeladmin, request, queryset) -> None:
    _each(
        modeladmin,
        request,
        queryset,
        moderation.listing_set_hidden,
        "listing_id",
        "Restored",
        hidden=False,
    )


@admin.action(description="Act on selected reports (hide listing / ban member, resolve)")
def act_on_reports(modeladmin, request, queryset) -> None:
    _each(modeladmin, request, queryset, moderation.report_act, "report_id", "Acted on")


@admin.action(description="Mark selected reports resolved")
def resolve_reports(modeladmin, request, queryset) -> None:
    _each(
        modeladmin,
        request,
        queryset,
        moderation.report_close,
        "report_id",
        "Resolved",
        status=Report.Status.RESOLVED,
    )


@admin.action(description="Dismiss selected reports")
def dismiss_reports(modeladmin, request, queryset) -> None:
    _each(
        modeladmin,
        request,
        queryset,
        moderation.report_close,
        "report_id",
        "Dismissed",
        status=Report.Status.DISMISSED,
    )
