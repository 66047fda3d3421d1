"""The discovery issue's journey, as a shopper lives it on a 390 px phone: suggestions while
typing "levis 5", one picked with the keyboard, a search narrowed by size and price with the
counts following, a result opened, the search saved, the daily digest email when a seller
lists a matching item, and the offline page once the network is cut."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import TEST_PASSWORD, UserFactory
from marketplace.models import SavedSearch
from marketplace.search.vocabulary import vocabulary_refresh
from marketplace.tests.factories import CategoryFactory, ListingFactory
from tests.browser.conftest import (
    _page,
    assert_fits_width,
    log_in,
    serious_axe_violations,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the suggestion vocabulary is PostgreSQL's"
    ),
]

PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture
def phone390(browser):
    yield from _page(browser, PHONE_390)


def jeans(title: str, size: str, price: str, minutes_ago: int, category):
    return ListingFactory(
        title=title,
        brand="Levi's",
        size=size,
        price=Decimal(price),
        category=category,
        published_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_shopper_finds_filters_saves_and_is_told_of_a_new_match(live_server, phone390):
    """The whole discovery journey on a phone, suggestions to digest email to offline page."""
    base, page = live_server.url, phone390
    category = CategoryFactory(name="Jeans", slug="jeans")
    jeans("Levi's 501 straight jeans", "W30", "40.00", 30, category)
    jeans("Levi's 505 regular jeans", "W32", "55.00", 20, category)
    jeans("Levi's 511 slim jeans", "W30", "90.00", 10, category)
    ListingFactory(title="Wool jumper", brand="Arket", size="M", category=category)
    vocabulary_refresh()
    shopper = UserFactory(email="shopper@example.test")
    log_in(page, base, shopper.email, TEST_PASSWORD)

    # Suggestions while typing, announced as a listbox; the keyboard picks one.
    page.goto(f"{base}/")
    box = page.locator("#site-search")
    box.press_sequentially("levis 5", delay=60)
    listbox = page.get_by_role("listbox", name="Suggestions")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = listbox.get_by_role("option")
    expect(options.first).to_contain_text("Levi's 5")
    assert "Wool jumper" not in listbox.inner_text()
    box.press("ArrowDown")
    first = options.first
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    picked = first.locator(".suggestion-label").inner_text()
    box.press("Enter")
    page.wait_for_url("**/items/**")
    expect(page.get_by_role("heading", level=1)).to_have_text(picked)

    # A search, narrowed by size and then price: the results and the counts follow.
    page.locator("#site-search").fill("levis")
    page.locator("#site-search").press("Enter")  # no suggestion chosen: Enter searches
    page.wait_for_url("**/browse/?q=levis")
    expect(page.get_by_role("heading", name="3 results")).to_be_visible()
    if not page.locator("details.filters-box").evaluate("box => box.open"):
        page.get_by_text("Filters", exact=True).click()
    expect(page.locator("#id_size option[value=W30]")).to_have_text("W30 (2)")
    page.select_option("#id_size", "W30")
    page.get_by_role("button", name="Show results").click()
    page.wait_for_url("**size=W30**")
    expect(page.get_by_role("heading", name="2 results")).to_be_visible()
    page.fill("#id_max_price", "50")
    page.get_by_role("button", name="Show results").click()
    page.wait_for_url("**max_price=50**")
    expect(page.get_by_role("heading", name="1 result")).to_be_visible()
    expect(page.locator("#id_size option[value=W30]")).to_have_text("W30 (1)")
    assert_fits_width(page)
    assert serious_axe_violations(page) == []

    # Open the result, come back, save the search.
    page.get_by_role("link", name="Levi's 501 straight jeans").first.click()
    page.wait_for_url("**/items/**")
    page.go_back()
    page.wait_for_url("**max_price=50**")
    page.get_by_text("Save this search").click()
    page.get_by_label("Name (optional)").fill("Cheap 501s")
    page.get_by_role("button", name="Save search").click()
    page.get_by_text("Saved ✓").wait_for()
    saved = SavedSearch.objects.get(user=shopper)
    assert "size=W30" in saved.query
    assert "max_price=50" in saved.query

    # A seller lists a matching item: the daily digest emails it, and only it.
    SavedSearch.objects.filter(pk=saved.pk).update(created_at=timezone.now() - timedelta(hours=1))
    new = jeans("Levi's 501 original jeans", "W30", "35.00", 0, category)
    jeans("Levi's 501 big jeans", "W36", "35.00", 0, category)  # another size: no
    mail.outbox.clear()
    call_command("saved_searches_digest")
    [digest] = [m for m in mail.outbox if m.to == [shopper.email]]
    assert new.title in digest.body
    assert "W36" not in digest.body
    assert "big jeans" not in digest.body

    # Network cut: a page never visited shows the site's offline page.
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.context.set_offline(True)
    try:
        page.goto(f"{base}/c/jeans/?sort=price_desc")
        expect(page.get_by_role("heading", name="You're offline")).to_be_visible()
    finally:
        page.context.set_offline(False)
    assert page.js_errors == []
