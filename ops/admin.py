"""Admin for the operator: the audit log, switches, suspicious activity, incidents, the
report queue, plus moderation actions attached to the User and Listing admins."""

from django.contrib import admin, messages
from django.db import transaction

from core import lockout, maintenance
from core.audit import audit_log
from core.models import AuditLog, SuspiciousActivity, Switch
from marketplace.models import Report
from ops import admin_actions, incidents
from ops.models import Incident


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """Read-only: audit entries are never added, edited or deleted from the UI."""

    list_display = ["created_at", "action", "actor", "target_type", "target_id", "ip_address"]
    list_filter = ["action", "target_type"]
    search_fields = ["action", "target_id", "actor__username", "actor__email", "ip_address"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    readonly_fields = [f.name for f in AuditLog._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SuspiciousActivity)
class SuspiciousActivityAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "identifier", "ip_address", "failures", "locked_until"]
    list_filter = ["kind", "reviewed"]
    search_fields = ["identifier", "ip_address"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in SuspiciousActivity._meta.fields if f.name != "reviewed"]
    actions = ["mark_reviewed", "lift_lock"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Mark selected as reviewed")
    def mark_reviewed(self, request, queryset) -> None:
        with transaction.atomic():
            for activity in queryset.filter(reviewed=False):
                activity.reviewed = True
                activity.save(update_fields=["reviewed"])
                audit_log(action="security.reviewed", actor=request.user, target=activity)
        self.message_user(request, "Marked as reviewed.", messages.SUCCESS)

    @admin.action(description="Lift the lock now")
    def lift_lock(self, request, queryset) -> None:
        with transaction.atomic():
            for activity in queryset:
                if activity.kind in {
                    SuspiciousActivity.Kind.LOGIN_LOCKOUT_ACCOUNT,
                    SuspiciousActivity.Kind.LOGIN_ACCOUNT_TARGETED,
                }:
                    # Clears the account's failures from every client (axes' AccessAttempt).
                    lockout.reset(identifier=activity.identifier)
                elif activity.ip_address:
                    lockout.lift_ip(ip=activity.ip_address)
                audit_log(action="security.lock_lifted", actor=request.user, target=activity)
        self.message_user(request, "Locks lifted.", messages.SUCCESS)


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    """The moderation queue: open reports first, oldest first."""

    list_display = ["created_at", "reason", "listing", "reported_user", "message_id", "status"]
    list_filter = ["status", "reason"]
    search_fields = ["details", "listing__title", "reported_user__username", "message_id"]
    list_select_related = ["listing", "reported_user", "reporter"]
    raw_id_fields = ["reporter", "listing", "reported_user"]
    readonly_fields = ["status", "resolved_by", "resolved_at", "created_at", "updated_at"]
    actions = [
        admin_actions.act_on_reports,
        admin_actions.resolve_reports,
        admin_actions.dismiss_reports,
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # The queue opens on open reports; the filter still shows the others.
        if "status__exact" not in request.GET and not request.GET.get("_changelist_filters"):
            query = request.GET.copy()
            query["status__exact"] = Report.Status.OPEN
            request.GET = query
            request.META["QUERY_STRING"] = query.urlencode()
        return super().changelist_view(request, extra_context)


@admin.register(Switch)
class SwitchAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "updated_at"]
    readonly_fields = ["name", "enabled", "updated_at"]
    actions = ["maintenance_on", "maintenance_off"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        Switch.objects.get_or_create(name=maintenance.SWITCH)
        return super().get_queryset(request)

    @admin.action(description="Turn maintenance mode ON")
    def maintenance_on(self, request, queryset) -> None:
        maintenance.maintenance_set(enabled=True, actor=request.user, source="admin")
        self.message_user(request, "Maintenance mode is on.", messages.WARNING)

    @admin.action(description="Turn maintenance mode off")
    def maintenance_off(self, request, queryset) -> None:
        maintenance.maintenance_set(enabled=False, actor=request.user, source="admin")
        self.message_user(request, "Maintenance mode is off.", messages.SUCCESS)


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["created_at", "severity", "status", "message"]
    list_filter = ["status", "severity"]
    search_fields = ["message"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        obj.severity = obj.severity or incidents.severity_of(obj.message)
        super().save_model(request, obj, form, change)
        audit_log(
            action="incident.changed" if change else "incident.created",
            actor=request.user,
            target=obj,
        )


def attach_moderation_actions(site: admin.AdminSite = admin.site) -> None:
    """Add ban/unban to the User admin and hide/restore to the Listing admin, if registered.

    Those admins belong to accounts/marketplace, whose admin modules load before ours
    (INSTALLED_APPS order), so by now they are in the registry.
    """
    from accounts.models import User
    from marketplace.models import Listing

    wanted = {
        User: [admin_actions.ban_users, admin_actions.unban_users],
        Listing: [admin_actions.hide_listings, admin_actions.restore_listings],
    }
    for model, actions in wanted.items():
        model_admin = site._registry.get(model)
        if model_admin is None:
            continue
        existing = list(model_admin.actions or [])
        model_admin.actions = [*existing, *(a for a in actions if a not in existing)]


attach_moderation_actions()
