"""Admin analytics dashboard and seller dashboard."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from marketplace.models import Favourite
from ops.dashboards import platform_dashboard, seller_stats
from ops.tests.factories import make_listing

pytestmark = pytest.mark.django_db


def test_analytics_dashboard_is_staff_only(client):
    """Members are sent to the admin login; staff see the dashboard for 7/30/90 days."""
    client.force_login(UserFactory())
    assert client.get(reverse("ops:analytics")).status_code == 302
    client.force_login(UserFactory(is_staff=True))
    for days in (7, 30, 90):
        response = client.get(reverse("ops:analytics"), {"days": days})
        assert response.status_code == 200
        assert f"Last {days} days" in response.content.decode()


def test_platform_dashboard_counts_new_users_listings_and_funnel():
    """New members, new listings and favourites show up in the period's numbers."""
    listing = make_listing()
    Favourite.objects.create(user=UserFactory(), listing=listing)
    board = platform_dashboard(days=7)
    assert board.new_users == 2
    assert board.new_listings == 1
    funnel = {bar.label: bar.value for bar in board.funnel}
    assert funnel["Signed up"] == 2
    assert funnel["Favourited"] == 1
    assert board.funnel[0].pct == 100.0


def test_seller_dashboard_shows_views_and_favourites(client):
    """A seller sees their own views and favourites, not other sellers'."""
    seller = UserFactory()
    listing = make_listing(seller=seller, view_count=42, title="Wool scarf")
    make_listing(view_count=999)  # someone else's
    Favourite.objects.create(user=UserFactory(), listing=listing)
    stats = seller_stats(seller=seller)
    assert stats.views == 42
    assert stats.favourites == 1
    client.force_login(seller)
    page = client.get(reverse("ops:seller_stats")).content.decode()
    assert "Wool scarf" in page
    assert "999" not in page


def test_seller_dashboard_needs_login(client):
    """Signed-out visitors are sent to log in."""
    assert client.get(reverse("ops:seller_stats")).status_code == 302


def _paid_order(*, seller, total: str, fee: str):
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from orders.models import Checkout, Order

    buyer = UserFactory()
    now = timezone.now()
    checkout = Checkout.objects.create(
        buyer=buyer,
        currency="EUR",
        total=Decimal(total),
        gateway="local",
        shipping_address="1 Test Street",
        expires_at=now + timedelta(minutes=30),
        status="paid",
        paid_at=now,
    )
    return Order.objects.create(
        checkout=checkout,
        buyer=buyer,
        seller=seller,
        status="paid",
        currency="EUR",
        items_total=Decimal(total),
        shipping_total=Decimal("0"),
        total=Decimal(total),
        platform_fee=Decimal(fee),
        seller_amount=Decimal(total) - Decimal(fee),
        paid_at=now,
    )


def test_sales_gmv_and_fees_come_from_paid_orders():
    """Paid orders count as sales; GMV and fees add up per currency; sellers see revenue."""
    from decimal import Decimal

    seller = UserFactory()
    _paid_order(seller=seller, total="40.00", fee="2.00")
    _paid_order(seller=seller, total="10.00", fee="0.50")
    board = platform_dashboard(days=30)
    assert board.sales == 2
    assert board.gmv == {"EUR": Decimal("50.00")}
    assert board.fees == {"EUR": Decimal("2.50")}
    assert sum(bar.value for bar in board.daily_sales) == 2
    assert seller_stats(seller=seller).revenue == {"EUR": Decimal("47.50")}
