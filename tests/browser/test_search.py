"""Searching on a phone, in a real browser: a typo, its correction, a facet, the next page."""

import pytest
from django.db import connection

from marketplace.search.vocabulary import vocabulary_refresh
from marketplace.tests.search_helpers import item
from tests.browser.conftest import assert_fits_width, serious_axe_violations

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="spelling corrections are PostgreSQL's"
    ),
]


def test_shopper_corrects_a_typo_narrows_by_size_and_pages_on(
    live_server, settings, phone, screenshot_dir
):
    """Search "patagnoia", follow "Did you mean", choose size M, go to the next page and back:
    every step swaps the results in place (htmx) and updates the address."""
    settings.LISTINGS_PER_PAGE = 2
    for n in range(3):
        item(f"Fleece {n}", brand="Patagonia", size="M", minutes_ago=n)
    item("Fleece L", brand="Patagonia", size="L", minutes_ago=9)
    item("Wool jumper", brand="Arket", size="M")
    vocabulary_refresh()
    page = phone
    page.goto(f"{live_server.url}/")
    page.fill("#site-search", "patagnoia")
    page.keyboard.press("Enter")
    page.wait_for_url("**/browse/?q=patagnoia")
    assert page.get_by_role("heading", name="4 results").is_visible()
    page.get_by_role("link", name="patagonia").first.click()
    page.wait_for_url("**/browse/?q=patagonia")
    if not page.locator("details.filters-box").evaluate("box => box.open"):
        page.get_by_text("Filters", exact=True).click()
    page.select_option("#id_size", "M")
    page.get_by_role("button", name="Show results").click()
    page.wait_for_url("**size=M**")
    assert page.get_by_role("heading", name="3 results").is_visible()
    assert page.get_by_role("link", name="Fleece 0").is_visible()
    page.evaluate("window.stillThisPage = true")  # gone if the page reloads
    page.get_by_role("link", name="Next").click()
    page.wait_for_url("**cursor=**")
    assert page.get_by_role("link", name="Fleece 2").is_visible()
    assert not page.get_by_role("link", name="Fleece 0").is_visible()
    page.get_by_role("link", name="Previous").click()
    page.get_by_role("link", name="Fleece 0").wait_for()
    assert page.evaluate("window.stillThisPage") is True
    if screenshot_dir:
        page.screenshot(path=str(screenshot_dir / "search-phone.png"), full_page=True)
    assert_fits_width(page)
    assert serious_axe_violations(page) == []
    assert page.js_errors == []
