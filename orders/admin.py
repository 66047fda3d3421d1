from django.contrib import admin

from orders.models import (
    Checkout,
    Order,
    OrderEvent,
    OrderItem,
    PaymentEvent,
    Payout,
    Refund,
    SellerPaymentAccount,
)


class OrderItemInline(admin.TabularInline):
    model = OrderItem
    extra = 0
    readonly_fields = ["listing", "title", "unit_price", "shipping_price", "quantity"]


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    readonly_fields = ["actor", "role", "from_status", "to_status", "note", "created_at"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = ["pk", "buyer", "seller", "status", "total", "platform_fee", "created_at"]
    list_filter = ["status"]
    list_select_related = ["buyer", "seller"]
    inlines = [OrderItemInline, OrderEventInline]
    readonly_fields = [f.name for f in Order._meta.fields]


@admin.register(Checkout)
class CheckoutAdmin(admin.ModelAdmin):
    list_display = ["public_id", "buyer", "status", "total", "gateway", "created_at"]
    list_filter = ["status", "gateway"]
    exclude = ["shipping_address"]
    readonly_fields = [
        "public_id",
        "buyer",
        "status",
        "currency",
        "total",
        "gateway",
        "gateway_ref",
        "payment_intent_ref",
        "charge_ref",
        "expires_at",
        "paid_at",
    ]


admin.site.register([PaymentEvent, Payout, Refund, SellerPaymentAccount])
