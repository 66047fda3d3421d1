"""Numbers for the staff analytics dashboard and the seller dashboard.

Operator side: reads each app's figures through its own selectors (accounts, marketplace
stats, orders stats); it holds no query of its own.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.selectors import users_joined_count
from marketplace.stats import catalog_activity, seller_catalog
from orders.stats import checkout_funnel, sales_summary, seller_sales

PERIODS = (7, 30, 90)


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


def _bars(pairs: list[tuple[str, Any]]) -> list[Bar]:
    top = max((float(v) for _, v in pairs), default=0) or 1
    return [Bar(label, value, round(100 * float(value) / top, 1)) for label, value in pairs]


def platform_dashboard(*, days: int) -> Dashboard:
    """Sales, GMV, fees, new users and listings, and the funnel over the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    catalog = catalog_activity(since=since)
    summary = sales_summary(since=since)
    funnel = checkout_funnel(since=since)
    today = timezone.now().date()
    days_shown = (today - timedelta(days=i) for i in range(days - 1, -1, -1))
    board = Dashboard(
        days=days,
        new_users=users_joined_count(since=since),
        new_listings=catalog.new_listings,
        sales=summary.sales,
        gmv=summary.gmv,
        fees=summary.fees,
        daily_sales=_bars([(d.strftime("%d %b"), summary.per_day.get(d, 0)) for d in days_shown]),
    )
    board.funnel = _bars(
        [
            ("Signed up", board.new_users),
            ("Favourited", catalog.favourites),
            ("Added to cart", funnel.added_to_cart),
            ("Started checkout", funnel.started_checkout),
            ("Paid", funnel.paid),
        ]
    )
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


def seller_stats(*, seller: Any) -> SellerStats:
    """Views, favourites and sales of one seller's listings (all time)."""
    catalog = seller_catalog(seller=seller)
    sales = seller_sales(seller=seller)
    return SellerStats(
        listings=catalog.listings,
        active=catalog.active,
        views=catalog.views,
        favourites=catalog.favourites,
        sales=sales.sales,
        revenue=sales.revenue,
        top_listings=_bars(catalog.top_listings),
    )


def parse_days(value: str | None) -> int:
    try:
        days = int(value or 30)
    except ValueError:
        return 30
    return days if days in PERIODS else 30
