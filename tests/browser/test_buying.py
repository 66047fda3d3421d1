"""The money path in a real phone-sized browser, with no keys: two sellers, one checkout, the
test payment page, shipping, and delivery confirmed before anyone is paid."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from marketplace.models import Listing
from orders.models import Order, Payout
from tests.browser.conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


def _add_first_item_of(page, base: str, username: str) -> Listing:
    listing = Listing.objects.for_sale().filter(seller__username=username).order_by("pk").first()
    page.goto(f"{base}{listing.get_absolute_url()}")
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_load_state()
    return listing


def test_shopper_buys_from_two_sellers_and_each_is_paid_only_after_delivery(live_server, phone):
    """Cart from two sellers -> one checkout -> test payment -> two orders; a seller ships, the
    buyer confirms delivery, and only that order gets its payout (price + shipping - 5%)."""
    call_command("seed_demo", verbosity=0)
    base, page = live_server.url, phone

    log_in(page, base, "buyer@threadly.test")
    first = _add_first_item_of(page, base, "mila.vintage")
    second = _add_first_item_of(page, base, "oskar.threads")
    page.goto(f"{base}/cart/")
    assert page.get_by_text("From mila.vintage").is_visible()
    assert page.get_by_text("From oskar.threads").is_visible()
    page.get_by_role("link", name="Check out").click()
    page.wait_for_load_state()

    page.fill("input[name=full_name]", "Sam Buyer")
    page.fill("input[name=line1]", "1 Liffey Street")
    page.fill("input[name=city]", "Dublin")
    page.fill("input[name=postcode]", "D01 F5P2")
    page.select_option("select[name=country]", "IE")
    page.fill("input[name=phone]", "+353 1 234 5678")
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_load_state()
    assert "test-payment" in page.url
    assert page.get_by_text("Test payment").first.is_visible()
    page.get_by_role("button", name="Approve test payment").click()
    page.wait_for_load_state()

    orders = {o.seller.username: o for o in Order.objects.select_related("seller")}
    assert set(orders) == {"mila.vintage", "oskar.threads"}
    assert {o.status for o in orders.values()} == {Order.Status.PAID}
    mila_order = orders["mila.vintage"]

    log_in(page, base, "seller1@threadly.test")
    page.goto(f"{base}{mila_order.get_absolute_url()}")
    page.fill("input[name=carrier]", "An Post")
    page.fill("input[name=tracking_number]", "CP123456789IE")
    page.get_by_role("button", name="Mark as shipped").click()
    page.wait_for_load_state()
    mila_order.refresh_from_db()
    assert mila_order.status == Order.Status.SHIPPED
    assert not Payout.objects.filter(order=mila_order).exists()

    log_in(page, base, "buyer@threadly.test")
    page.goto(f"{base}{mila_order.get_absolute_url()}")
    page.get_by_role("button", name="I received it — all good").click()
    page.wait_for_load_state()
    mila_order.refresh_from_db()
    assert mila_order.status == Order.Status.COMPLETED
    fee = (first.price * Decimal("0.05")).quantize(Decimal("0.01"))
    assert mila_order.seller_amount == first.price + first.shipping_price - fee
    assert Payout.objects.get(order=mila_order).amount == mila_order.seller_amount
    assert not Payout.objects.filter(order=orders["oskar.threads"]).exists()
    assert Listing.objects.get(pk=second.pk).status == Listing.Status.SOLD
    assert page.js_errors == []
