"""Numbers for the admin analytics dashboard and the seller dashboard, from the database.

Operator side: reads marketplace, accounts and (when installed) orders tables.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from marketplace.models import Favourite, Listing

PERIODS = (7, 30, 90)
COUNTED_ORDER_STATUSES = ("paid", "shipped", "delivered", "completed", "disputed")


@dataclass
class Bar:
    label: str
    value: Any
    pct: float  # 0..100 of the largest bar


@dataclass
class Dashboard:
    days: int
    new_users: int = 0
    new_listings: int = 0
    sales: int = 0
    gmv: dict[str, Decimal] = field(default_factory=dict)
    fees: dict[str, Decimal] = field(default_factory=dict)
    daily_sales: list[Bar] = field(default_factory=list)
    funnel: list[Bar] = field(default_factory=list)
    orders_available: bool = False


def _model(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _bars(pairs: list[tuple[str, Any]]) -> list[Bar]:
    top = max((float(v) for _, v in pairs), default=0) or 1
    return [Bar(label, value, round(100 * float(value) / top, 1)) for label, value in pairs]


def platform_dashboard(*, days: int) -> Dashboard:
    """Sales, GMV, fees, new users and listings, and the funnel over the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    board = Dashboard(days=days)
    board.new_users = User.objects.filter(date_joined__gte=since).count()
    board.new_listings = Listing.objects.filter(created_at__gte=since).count()
    favourites = Favourite.objects.filter(created_at__gte=since).count()
    steps: list[tuple[str, Any]] = [("Signed up", board.new_users), ("Favourited", favourites)]
    Order = _model("orders.Order")
    if Order is not None:
        board.orders_available = True
        paid = Order.objects.filter(paid_at__gte=since, status__in=COUNTED_ORDER_STATUSES)
        board.sales = paid.count()
        for row in paid.values("currency").annotate(gmv=Sum("total"), fees=Sum("platform_fee")):
            board.gmv[row["currency"]] = row["gmv"] or Decimal("0")
            board.fees[row["currency"]] = row["fees"] or Decimal("0")
        per_day = dict(
            paid.annotate(day=TruncDate("paid_at"))
            .values("day")
            .annotate(n=Count("id"))
            .values_list("day", "n")
        )
        today = timezone.now().date()
        board.daily_sales = _bars(
            [
                (d.strftime("%d %b"), per_day.get(d, 0))
                for d in (today - timedelta(days=i) for i in range(days - 1, -1, -1))
            ]
        )
        CartItem = _model("orders.CartItem")
        Checkout = _model("orders.Checkout")
        if CartItem is not None:
            steps.append(("Added to cart", CartItem.objects.filter(created_at__gte=since).count()))
        if Checkout is not None:
            started = Checkout.objects.filter(created_at__gte=since)
            steps.append(("Started checkout", started.count()))
            steps.append(("Paid", started.filter(paid_at__isnull=False).count()))
    board.funnel = _bars(steps)
    return board


@dataclass
class SellerStats:
    listings: int
    active: int
    views: int
    favourites: int
    sales: int
    revenue: dict[str, Decimal]
    top_listings: list[Bar]
    orders_available: bool


def seller_stats(*, seller: Any) -> SellerStats:
    """Views, favourites and sales of one seller's listings (all time)."""
    listings = Listing.objects.filter(seller=seller, deleted_at__isnull=True)
    totals = listings.aggregate(
        n=Count("id"),
        active=Count("id", filter=Q(status=Listing.Status.ACTIVE)),
        views=Sum("view_count"),
    )
    favourites = Favourite.objects.filter(listing__seller=seller).count()
    top = listings.order_by("-view_count", "-id").values_list("title", "view_count")[:10]
    sales, revenue, available = 0, {}, False
    Order = _model("orders.Order")
    if Order is not None:
        available = True
        orders = Order.objects.filter(seller=seller, status__in=COUNTED_ORDER_STATUSES)
        sales = orders.count()
        revenue = {
            row["currency"]: row["amount"] or Decimal("0")
            for row in orders.values("currency").annotate(amount=Sum("seller_amount"))
        }
    return SellerStats(
        listings=totals["n"] or 0,
        active=totals["active"] or 0,
        views=totals["views"] or 0,
        favourites=favourites,
        sales=sales,
        revenue=revenue,
        top_listings=_bars(list(top)),
        orders_available=available,
    )


def parse_days(value: str | None) -> int:
    try:
        days = int(value or 30)
    except ValueError:
        return 30
    return days if days in PERIODS else 30
