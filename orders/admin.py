from collections.abc import Callable

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path

from orders.exceptions import OrdersError
from orders.models import (
    Checkout,
    Order,
    OrderEvent,
    OrderItem,
    PaymentEvent,
    Payout,
    Refund,
    Review,
    ReviewReport,
    SellerPaymentAccount,
)
from orders.services import disputes, payment, refunds
from orders.services import reviews as review_services


class ReadOnly:
    """Money records change only through the services (gateway-confirmed), never by hand."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class OrderItemInline(ReadOnly, admin.TabularInline):
    model = OrderItem
    extra = 0
    fields = ["listing", "title", "unit_price", "shipping_price", "quantity"]


class OrderEventInline(ReadOnly, admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["actor", "role", "from_status", "to_status", "note", "created_at"]
    readonly_fields = ["created_at"]


STAFF_REFUND_REASON = "Refunded by Threadly staff"


def _refund(order_id: int, actor) -> str:
    refund = refunds.order_refund(order_id=order_id, actor=actor, reason=STAFF_REFUND_REASON)
    if refund.status == Refund.Status.SUCCEEDED:
        return "refunded."
    return "refund requested; the order changes when the payment provider confirms it."


def _cancel(order_id: int, actor) -> str:
    order = payment.order_cancel(order_id=order_id, actor=actor)
    if order.status == Order.Status.CANCELLED:
        return "cancelled."
    return "cancellation requested; the order changes when the payment provider confirms it."


def _dispute_won(order_id: int, actor) -> str:
    order = disputes.order_resolve_dispute(
        order_id=order_id, outcome=disputes.DisputeOutcome.WON, actor=actor
    )
    return f"dispute won; back to {order.get_status_display().lower()}."


def _dispute_lost(order_id: int, actor) -> str:
    disputes.order_resolve_dispute(
        order_id=order_id, outcome=disputes.DisputeOutcome.LOST, actor=actor
    )
    return "dispute lost; the order is refunded and the seller is not paid."


# Admin entry points into the order services: name -> (button label, call). The services check
# the actor (staff act as "admin"), audit and talk to the gateway; admin only reports back.
OPERATIONS: dict[str, tuple[str, Callable[[int, object], str]]] = {
    "refund": ("Refund through the payment provider", _refund),
    "cancel": ("Cancel (refund before shipping)", _cancel),
    "dispute_won": ("Resolve dispute: won", _dispute_won),
    "dispute_lost": ("Resolve dispute: lost", _dispute_lost),
}


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["pk", "buyer", "seller", "status", "total", "platform_fee", "created_at"]
    list_filter = ["status"]
    list_select_related = ["buyer", "seller"]
    inlines = [OrderItemInline, OrderEventInline]
    readonly_fields = [f.name for f in Order._meta.fields]
    actions = ["refund_orders", "cancel_orders", "resolve_dispute_won", "resolve_dispute_lost"]
    change_form_template = "admin/orders/order/change_form.html"

    # Orders are made by checkout and changed by the operations below: no add, no delete.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def run_operation(self, request: HttpRequest, operation: str, order_ids) -> None:
        """Apply one operation to each order and report per order: success or the domain
        error's message. One order failing doesn't stop the others."""
        _, call = OPERATIONS[operation]
        for order_id in sorted(order_ids):
            try:
                outcome = call(order_id, request.user)
            except OrdersError as exc:
                self.message_user(request, f"Order #{order_id}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Order #{order_id}: {outcome}", messages.SUCCESS)

    @admin.action(description=OPERATIONS["refund"][0], permissions=["change"])
    def refund_orders(self, request: HttpRequest, queryset) -> None:
        self.run_operation(request, "refund", queryset.values_list("pk", flat=True))

    @admin.action(description=OPERATIONS["cancel"][0], permissions=["change"])
    def cancel_orders(self, request: HttpRequest, queryset) -> None:
        self.run_operation(request, "cancel", queryset.values_list("pk", flat=True))

    @admin.action(description=OPERATIONS["dispute_won"][0], permissions=["change"])
    def resolve_dispute_won(self, request: HttpRequest, queryset) -> None:
        self.run_operation(request, "dispute_won", queryset.values_list("pk", flat=True))

    @admin.action(description=OPERATIONS["dispute_lost"][0], permissions=["change"])
    def resolve_dispute_lost(self, request: HttpRequest, queryset) -> None:
        self.run_operation(request, "dispute_lost", queryset.values_list("pk", flat=True))

    def get_urls(self):
        operate = self.admin_site.admin_view(self.operate_view)
        return [
            path("<int:object_id>/operate/", operate, name="orders_order_operate"),
            *super().get_urls(),
        ]

    def operate_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """POST from the buttons on the change page: the same operations as the actions."""
        order = self.get_object(request, str(object_id))
        if order is None:
            raise Http404("No such order.")
        if request.method != "POST" or not self.has_change_permission(request, order):
            raise PermissionDenied
        operation = request.POST.get("operation", "")
        if operation not in OPERATIONS:
            raise PermissionDenied
        self.run_operation(request, operation, [order.pk])
        return redirect("admin:orders_order_change", object_id)

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context["order_operations"] = [(key, label) for key, (label, _) in OPERATIONS.items()]
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)


@admin.register(Checkout)
class CheckoutAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["public_id", "buyer", "status", "total", "gateway", "created_at"]
    list_filter = ["status", "gateway"]
    list_select_related = ["buyer"]
    exclude = ["shipping_address"]


@admin.register(Refund)
class RefundAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["pk", "order", "amount", "currency", "status", "reason", "created_at"]
    list_filter = ["status"]
    list_select_related = ["order"]


@admin.register(Payout)
class PayoutAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["pk", "order", "amount", "currency", "status", "gateway_ref", "created_at"]
    list_filter = ["status"]
    list_select_related = ["order"]


@admin.register(PaymentEvent)
class PaymentEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["event_id", "event_type", "received_at"]
    list_filter = ["event_type"]
    search_fields = ["event_id"]


@admin.register(SellerPaymentAccount)
class SellerPaymentAccountAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["stripe_account_id", "user", "details_submitted", "payouts_enabled"]
    list_select_related = ["user"]


# --- Reviews: the moderation queue ------------------------------------------------------------
class ReportedFilter(admin.SimpleListFilter):
    """The queue: reviews with open reports (the default staff start from), or none."""

    title = "reported"
    parameter_name = "reported"

    def lookups(self, request, model_admin):
        return [("open", "Open reports"), ("none", "No open reports")]

    def queryset(self, request, queryset):
        open_reports = {"reports__status": ReviewReport.Status.OPEN}
        if self.value() == "open":
            return queryset.filter(**open_reports).distinct()
        if self.value() == "none":
            return queryset.exclude(**open_reports)
        return queryset


class ReviewReportInline(ReadOnly, admin.TabularInline):
    model = ReviewReport
    extra = 0
    fields = ["reporter", "reason", "status", "created_at", "closed_at"]
    readonly_fields = fields


@admin.register(Review)
class ReviewAdmin(ReadOnly, admin.ModelAdmin):
    """Reviews are written by members; staff only hide, restore or dismiss reports, through
    orders.services.reviews (audited, and the seller's rating is recomputed)."""

    list_display = ["pk", "seller", "buyer", "rating", "is_hidden", "open_reports", "created_at"]
    list_filter = [ReportedFilter, "is_hidden", "rating"]
    list_select_related = ["seller", "buyer"]
    search_fields = ["seller__username", "buyer__username", "text"]
    inlines = [ReviewReportInline]
    actions = ["hide_reviews", "restore_reviews", "dismiss_reports"]

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(
                open_report_count=Count(
                    "reports", filter=Q(reports__status=ReviewReport.Status.OPEN)
                )
            )
        )

    @admin.display(description="Open reports", ordering="open_report_count")
    def open_reports(self, obj: Review) -> int:
        return obj.open_report_count

    def has_moderate_permission(self, request: HttpRequest) -> bool:
        """Moderating is what "change review" means here (the fields themselves are locked)."""
        return request.user.has_perm("orders.change_review")

    def _moderate(self, request: HttpRequest, queryset, call, done: str) -> None:
        for review_id in sorted(queryset.values_list("pk", flat=True)):
            try:
                call(review_id=review_id, actor=request.user)
            except OrdersError as exc:
                self.message_user(request, f"Review #{review_id}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Review #{review_id}: {done}", messages.SUCCESS)

    @admin.action(
        description="Hide (not shown, not counted in the rating)", permissions=["moderate"]
    )
    def hide_reviews(self, request: HttpRequest, queryset) -> None:
        self._moderate(request, queryset, review_services.review_hide, "hidden.")

    @admin.action(description="Restore (shown and counted again)", permissions=["moderate"])
    def restore_reviews(self, request: HttpRequest, queryset) -> None:
        self._moderate(request, queryset, review_services.review_restore, "restored.")

    @admin.action(description="Keep: dismiss the open reports", permissions=["moderate"])
    def dismiss_reports(self, request: HttpRequest, queryset) -> None:
        self._moderate(
            request, queryset, review_services.review_reports_dismiss, "reports dismissed."
        )
