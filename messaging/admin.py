"""Admin for messaging: conversations (read-only messages), blocks, and the conversation
report queue with its moderation actions. Every action calls a service per row (audited)."""

from django.contrib import admin

from accounts.exceptions import AccountError
from core.admin_actions import admin_each
from messaging import services
from messaging.exceptions import MessagingError
from messaging.models import Block, Conversation, ConversationReport, Message


def _each(modeladmin, request, queryset, service, id_arg: str, verb: str, **kw) -> None:
    admin_each(
        modeladmin,
        request,
        queryset,
        service,
        id_arg,
        verb,
        refusals=(AccountError, MessagingError),
        **kw,
    )


class MessageInline(admin.TabularInline):
    """The thread, read-only: staff read a reported conversation, they never edit it."""

    model = Message
    extra = 0
    fields = ["created_at", "kind", "sender", "body"]
    readonly_fields = fields
    ordering = ["id"]
    can_delete = False
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("sender")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = ["id", "listing", "buyer", "seller", "last_message_at", "is_closed"]
    list_filter = ["is_closed", "closed_reason"]
    list_select_related = ["listing", "buyer", "seller"]
    search_fields = [
        "buyer__username",
        "buyer__email",
        "seller__username",
        "seller__email",
        "listing__title",
    ]
    date_hierarchy = "created_at"
    readonly_fields = [
        "listing",
        "buyer",
        "seller",
        "last_message",
        "last_message_at",
        "buyer_read_id",
        "seller_read_id",
        "buyer_notified_id",
        "seller_notified_id",
        "is_closed",
        "closed_reason",
        "closed_at",
        "created_at",
        "updated_at",
    ]
    inlines = [MessageInline]
    actions = ["close_conversations", "reopen_conversations"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Close selected conversations")
    def close_conversations(self, request, queryset) -> None:
        _each(self, request, queryset, services.conversation_close, "conversation_id", "Closed")

    @admin.action(description="Reopen selected conversations (closed by staff)")
    def reopen_conversations(self, request, queryset) -> None:
        _each(self, request, queryset, services.conversation_reopen, "conversation_id", "Reopened")


@admin.register(ConversationReport)
class ConversationReportAdmin(admin.ModelAdmin):
    """The queue of reported conversations: open reports first, oldest first."""

    list_display = ["created_at", "reason", "reported_user", "reporter", "conversation", "status"]
    list_filter = ["status", "reason"]
    search_fields = ["details", "reported_user__username", "reporter__username"]
    list_select_related = ["reported_user", "reporter", "conversation"]
    readonly_fields = [
        "conversation",
        "reporter",
        "reported_user",
        "reason",
        "details",
        "status",
        "resolved_by",
        "resolved_at",
        "created_at",
        "updated_at",
    ]
    actions = ["resolve", "dismiss", "close_conversation", "ban_reported_member"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        # The queue opens on open reports; the filter still shows the others.
        if "status__exact" not in request.GET and not request.GET.get("_changelist_filters"):
            query = request.GET.copy()
            query["status__exact"] = ConversationReport.Status.OPEN
            request.GET = query
            request.META["QUERY_STRING"] = query.urlencode()
        return super().changelist_view(request, extra_context)

    @admin.action(description="Resolve selected reports")
    def resolve(self, request, queryset) -> None:
        _each(
            self,
            request,
            queryset,
            services.conversation_report_close,
            "report_id",
            "Resolved",
            status=ConversationReport.Status.RESOLVED,
        )

    @admin.action(description="Dismiss selected reports")
    def dismiss(self, request, queryset) -> None:
        _each(
            self,
            request,
            queryset,
            services.conversation_report_close,
            "report_id",
            "Dismissed",
            status=ConversationReport.Status.DISMISSED,
        )

    @admin.action(description="Close the reported conversations (and resolve)")
    def close_conversation(self, request, queryset) -> None:
        _each(
            self,
            request,
            queryset,
            services.conversation_report_close_conversation,
            "report_id",
            "Closed",
        )

    @admin.action(description="Ban the reported members (and resolve)")
    def ban_reported_member(self, request, queryset) -> None:
        _each(self, request, queryset, services.conversation_report_ban, "report_id", "Banned")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ["created_at", "blocker", "blocked"]
    list_select_related = ["blocker", "blocked"]
    search_fields = ["blocker__username", "blocked__username"]
    readonly_fields = ["blocker", "blocked", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
