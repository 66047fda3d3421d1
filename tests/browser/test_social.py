"""Follows and reviews in a real phone-sized browser: follow a seller from their shop (htmx)
and find their new item in the feed; review a completed order and see it on the shop."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from marketplace.models import Follow, Listing
from marketplace.tests.factories import ListingFactory, ListingImageFactory
from orders.models import Review
from orders.tests.review_support import completed_order, reviewed
from tests.browser.conftest import assert_fits_width, log_in, serious_axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_buyer_follows_a_seller_and_sees_their_new_item_in_the_feed(live_server, phone):
    """On a phone: Follow on the shop swaps in place (no reload) and counts the follower; the
    seller's next item is first in /following/."""
    call_command("seed_demo", "--listings", "4", verbosity=0)
    base, page = live_server.url, phone
    seller = get_user_model().objects.get(username="mila.vintage")
    log_in(page, base, "buyer@threadly.test")
    page.goto(f"{base}/members/mila.vintage/")
    assert_fits_width(page)
    button = page.locator(".follow-button")
    assert button.inner_text().startswith("Follow")
    url_before = page.url
    button.click()
    page.locator(".follow-button", has_text="Unfollow").wait_for()
    assert page.locator("#follower-count").inner_text() == "1 follower"
    assert page.url == url_before
    assert Follow.objects.filter(seller=seller, follower__email="buyer@threadly.test").exists()

    new = ListingFactory(seller=seller, title="Fresh linen trench")
    ListingImageFactory(listing=new, position=0)
    page.goto(f"{base}/following/")
    first_card = page.locator(".listing-card").first
    assert "Fresh linen trench" in first_card.inner_text()
    assert (
        page.locator(".listing-card").count()
        == Listing.objects.for_sale().filter(seller=seller).count()
    )
    assert_fits_width(page)
    assert serious_axe_violations(page) == []
    assert page.js_errors == []


def test_buyer_reviews_a_completed_order_and_sees_it_on_the_shop(live_server, phone):
    """On a phone: Leave a review from the order page, 3 stars; the shop shows the review and
    the new average (5 and 3 -> 4.0 from 2)."""
    call_command("seed_demo", "--listings", "0", verbosity=0)
    base, page = live_server.url, phone
    users = get_user_model().objects
    seller, buyer = users.get(username="mila.vintage"), users.get(email="buyer@threadly.test")
    reviewed(completed_order(seller=seller), rating=5, text="Earlier happy buyer")
    order = completed_order(seller=seller, buyer=buyer)

    log_in(page, base, "buyer@threadly.test")
    page.goto(f"{base}{order.get_absolute_url()}")
    page.get_by_role("link", name="Leave a review").click()
    page.wait_for_load_state()
    assert_fits_width(page)
    assert serious_axe_violations(page) == []
    page.get_by_label("3 stars").check()
    page.get_by_label("Your review").fill("Nice jacket, a little smaller than I hoped.")
    page.get_by_role("button", name="Post review").click()
    page.wait_for_load_state()
    assert Review.objects.get(order=order).rating == 3

    page.goto(f"{base}/members/mila.vintage/")
    reviews = page.locator(".seller-reviews")
    assert "Nice jacket, a little smaller" in reviews.inner_text()
    assert "★ 4.0 (2)" in page.locator(".follow-stats").inner_text()
    assert_fits_width(page)
    assert serious_axe_violations(page) == []
    assert page.js_errors == []
