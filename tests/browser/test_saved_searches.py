"""A shopper saves a search from the browse page and finds it in their saved searches."""

import pytest

from accounts.tests.factories import TEST_PASSWORD, UserFactory
from marketplace.models import SavedSearch
from marketplace.tests.factories import ListingFactory
from tests.browser.conftest import assert_fits_width, log_in, serious_axe_violations

pytestmark = pytest.mark.django_db(transaction=True)


def test_shopper_saves_a_search_and_sees_it_in_the_list(live_server, phone, screenshot_dir):
    """On a phone: search, "Save this search" with a name (htmx swaps in "Saved ✓"), then the
    saved search is on the list, linking back to the search."""
    shopper = UserFactory(email="saver@example.test")
    ListingFactory(title="Green corduroy jacket", brand="Carhartt")
    page = phone
    log_in(page, live_server.url, shopper.email, TEST_PASSWORD)

    page.goto(f"{live_server.url}/browse/?q=corduroy")
    page.get_by_text("Save this search").click()
    page.get_by_label("Name (optional)").fill("Cord jackets")
    assert_fits_width(page)
    assert serious_axe_violations(page) == []
    page.screenshot(path=str(screenshot_dir / "save-search-360.png"), full_page=True)
    page.get_by_role("button", name="Save search").click()
    page.get_by_text("Saved ✓").wait_for()
    assert SavedSearch.objects.get(user=shopper).query == "q=corduroy"

    page.get_by_role("link", name="See your saved searches").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Saved searches").is_visible()
    link = page.get_by_role("link", name="Cord jackets", exact=True)
    assert link.get_attribute("href") == "/browse/?q=corduroy"
    assert_fits_width(page)
    assert serious_axe_violations(page) == []
    page.screenshot(path=str(screenshot_dir / "saved-searches-360.png"), full_page=True)
    assert page.js_errors == []
