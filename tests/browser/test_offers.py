"""Offers in a real phone-sized browser, with no keys: the buyer offers, the seller counters on
My offers (htmx), the buyer accepts and pays the agreed price on the test payment page."""

from decimal import ROUND_DOWN, Decimal

import pytest
from django.core.management import call_command

from marketplace.models import Listing
from orders.models import Offer, Order
from orders.rules import offer_floor
from tests.browser.conftest import assert_fits_width, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_buyer_offers_seller_counters_buyer_accepts_and_pays_the_agreed_price(live_server, phone):
    """Offer at the floor -> counter half way to the price -> accepted -> the cart shows the
    agreed price and the order is paid at it (plus shipping), the fee 5 % of it."""
    call_command("seed_demo", verbosity=0)
    base, page = live_server.url, phone
    listing = (
        Listing.objects.for_sale()
        .filter(seller__username="mila.vintage", quantity=1, price__gte=10)
        .order_by("pk")
        .first()
    )
    offered = offer_floor(listing.price)
    counter = ((offered + listing.price) / 2).quantize(Decimal("0.01"), ROUND_DOWN)
    assert offered < counter < listing.price

    log_in(page, base, "buyer@threadly.test")
    page.goto(f"{base}{listing.get_absolute_url()}")
    page.get_by_text("Make an offer", exact=True).click()
    page.get_by_label(f"Your offer ({listing.currency})").fill(str(offered))
    page.get_by_role("button", name="Send offer").click()
    page.wait_for_url(f"{base}/offers/")
    assert page.get_by_text("Offer sent.").is_visible()
    assert_fits_width(page)

    log_in(page, base, "seller1@threadly.test")
    page.goto(f"{base}/offers/")
    page.get_by_label(f"Counter-offer for {listing.title}").fill(str(counter))
    page.get_by_role("button", name="Counter").click()
    page.get_by_text("Counter-offer sent.").wait_for()  # the row swapped in by htmx
    assert page.get_by_text("Waiting for the buyer").is_visible()
    assert_fits_width(page)

    log_in(page, base, "buyer@threadly.test")
    page.goto(f"{base}/offers/")
    page.get_by_role("button", name="Accept").click()
    page.get_by_role("link", name="Pay in your cart").click()
    page.wait_for_url(f"{base}/cart/")
    assert page.get_by_text("Your offer · reserved until").is_visible()
    assert_fits_width(page)
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
    page.get_by_role("button", name="Approve test payment").click()
    page.wait_for_load_state()

    order = Order.objects.get(buyer__username="demo.buyer")
    assert order.status == Order.Status.PAID
    assert order.items_total == counter
    assert order.total == counter + listing.shipping_price
    assert order.platform_fee == (counter * Decimal("0.05")).quantize(Decimal("0.01"))
    assert Offer.objects.get().status == Offer.Status.PAID
    assert page.js_errors == []
