"""Structured data in a real browser: the JSON-LD block needs no CSP nonce (it is data, never
run) and parses; the help centre's search works without JavaScript."""

import json

import pytest

from marketplace.tests.factories import ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_listing_json_ld_parses_in_the_browser_without_a_csp_report(live_server, phone):
    """The ld+json blocks are read as data by Chromium under our CSP: no console error, no
    CSP violation, and they parse to the Product and its breadcrumbs."""
    listing = ListingFactory(title='Tee </script><script>alert("x")</script>')
    ListingImageFactory(listing=listing, position=0)
    violations: list[str] = []
    phone.on("console", lambda message: violations.append(message.text))
    phone.goto(f"{live_server.url}{listing.get_absolute_url()}")
    phone.wait_for_load_state("load")
    blocks = phone.evaluate(
        "Array.from(document.querySelectorAll('script[type=\"application/ld+json\"]'))"
        ".map(s => s.textContent)"
    )
    data = [json.loads(block) for block in blocks]
    assert [item["@type"] for item in data] == ["Product", "BreadcrumbList"]
    assert data[0]["name"] == listing.title
    assert phone.js_errors == []
    assert not [text for text in violations if "Content Security Policy" in text]


def test_help_search_works_without_javascript(live_server, browser):
    """With JavaScript off, the help search form still finds the fees page."""
    context = browser.new_context(java_script_enabled=False, viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(f"{live_server.url}/help/")
    page.get_by_label("Search the help centre").fill("commission")
    page.get_by_role("button", name="Search help").click()
    page.wait_for_load_state()
    assert "/help/?q=commission" in page.url
    links = page.locator(".help-list a").all_inner_texts()
    context.close()
    assert len(links) == 1
    assert links[0].startswith("Fees")
