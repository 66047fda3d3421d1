"""Sales figures for the dashboards (reads only; ops' staff dashboard and the seller's).

A sale is an order that was paid and not refunded or cancelled: `SOLD_STATUSES`.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate

from accounts.models import User
from orders.models import CartItem, Checkout, Order, OrderStatus

SOLD_STATUSES = (
    OrderStatus.PAID,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
    OrderStatus.COMPLETED,
    OrderStatus.DISPUTED,
)


@dataclass(frozen=True)
class SalesSummary:
    sales: int
    gmv: dict[str, Decimal] = field(default_factory=dict)  # per currency
    fees: dict[str, Decimal] = field(default_factory=dict)
    per_day: dict[date, int] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckoutFunnel:
    added_to_cart: int
    started_checkout: int
    paid: int


@dataclass(frozen=True)
class SellerSales:
    sales: int
    revenue: dict[str, Decimal]  # the seller's share, per currency


def sales_summary(*, since: datetime) -> SalesSummary:
    """Orders paid since `since` that count as sales: how many, GMV and fees per currency,
    and sales per day."""
    paid = Order.objects.filter(paid_at__gte=since, status__in=SOLD_STATUSES)
    gmv: dict[str, Decimal] = {}
    fees: dict[str, Decimal] = {}
    for row in paid.values("currency").annotate(gmv=Sum("total"), fees=Sum("platform_fee")):
        gmv[row["currency"]] = row["gmv"] or Decimal("0")
        fees[row["currency"]] = row["fees"] or Decimal("0")
    per_day = dict(
        paid.annotate(day=TruncDate("paid_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    return SalesSummary(sales=paid.count(), gmv=gmv, fees=fees, per_day=per_day)


def checkout_funnel(*, since: datetime) -> CheckoutFunnel:
    """Cart additions, checkouts started and checkouts paid since `since`."""
    started = Checkout.objects.filter(created_at__gte=since)
    return CheckoutFunnel(
        added_to_cart=CartItem.objects.filter(created_at__gte=since).count(),
        started_checkout=started.count(),
        paid=started.filter(paid_at__isnull=False).count(),
    )


def seller_sales(*, seller: User) -> SellerSales:
    """One seller's sales, all time, and their share of the money per currency."""
    orders = Order.objects.filter(seller=seller, status__in=SOLD_STATUSES)
    revenue = {
        row["currency"]: row["amount"] or Decimal("0")
        for row in orders.values("currency").annotate(amount=Sum("seller_amount"))
    }
    return SellerSales(sales=orders.count(), revenue=revenue)
