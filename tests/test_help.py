"""The help centre (threadly/help.py): index, search, articles, and the links to it."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from marketplace.tests.factories import ListingFactory
from threadly.help import PAGES, fold, help_search

pytestmark = pytest.mark.django_db


def result_slugs(client, query: str) -> list[str]:
    response = client.get(reverse("help:index"), {"q": query})
    assert response.status_code == 200
    section = response.content.decode().split('id="help-results"', 1)[1]
    return re.findall(r'href="/help/([a-z-]+)/"', section)


def test_index_lists_every_help_page(client):
    """/help/ links every page of the registry with its title and summary."""
    body = client.get(reverse("help:index")).content.decode()
    for page in PAGES:
        assert f'href="/help/{page.slug}/"' in body
        assert escape(page.title) in body
        assert escape(page.summary) in body


def test_search_finds_a_page_by_keyword(client):
    """ "chargeback" is a keyword of the returns page: it comes first."""
    assert result_slugs(client, "chargeback")[0] == "returns-and-disputes"


def test_search_finds_a_page_by_its_text(client):
    """A word only in the selling page's text ("reorder") finds that page alone."""
    assert result_slugs(client, "reorder") == ["selling"]


def test_search_ignores_case_and_accents(client):
    """ "RÉFUND" finds the refund page like "refund" does."""
    assert result_slugs(client, "RÉFUND") == result_slugs(client, "refund")
    assert "returns-and-disputes" in result_slugs(client, "RÉFUND")


def test_search_needs_every_word():
    """A page matches only when it contains every word of the query."""
    assert [page.slug for page in help_search("chargeback tracking")] == ["returns-and-disputes"]
    assert help_search("chargeback reorder") == []


def test_search_with_no_match_says_so(client):
    """An unknown word lists nothing and offers all topics."""
    response = client.get(reverse("help:index"), {"q": "zeppelin"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Nothing matches" in body
    assert result_slugs(client, "zeppelin") == []


def test_search_with_an_overlong_query_shows_the_error_and_every_page(client):
    """A query over 100 characters is refused with a message; all topics stay listed."""
    response = client.get(reverse("help:index"), {"q": "x" * 101})
    body = response.content.decode()
    assert response.status_code == 200
    assert "at most 100 characters" in body
    assert len(result_slugs(client, "x" * 101)) == len(PAGES)


def test_help_search_ranks_heading_matches_before_text_matches():
    """A page naming the word in its title or keywords ranks above one with it in its text."""
    results = help_search("fee")
    assert results[0].slug == "fees"
    assert fold("Évités  ÀB") == "evites ab"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.slug)
def test_every_help_page_renders_for_anonymous_visitors(client, page):
    """Each article: 200, its title and summary, indexable, canonical to itself."""
    response = client.get(reverse("help:page", args=[page.slug]))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'<h1 id="help-title">{escape(page.title)}</h1>' in body
    assert escape(page.summary) in body
    assert '<meta name="robots"' not in body
    assert f'<link rel="canonical" href="http://testserver/help/{page.slug}/">' in body


def test_unknown_help_page_is_404(client):
    """A slug the registry doesn't know is a 404."""
    assert client.get("/help/no-such-topic/").status_code == 404


def test_help_search_results_page_is_noindex(client):
    """/help/?q= is a search result: noindex, follow, canonical to /help/."""
    body = client.get(reverse("help:index"), {"q": "fees"}).content.decode()
    assert '<meta name="robots" content="noindex, follow">' in body
    assert '<link rel="canonical" href="http://testserver/help/">' in body


def test_fees_page_quotes_the_fee_the_code_charges(client, settings):
    """The fees page shows PLATFORM_FEE_PERCENTAGE and a payout worked out with it."""
    settings.PLATFORM_FEE_PERCENTAGE = Decimal("7")
    body = client.get(reverse("help:page", args=["fees"])).content.decode()
    assert "7% of the item price" in body
    assert "−€1.40" in body  # 7% of €20.00
    assert "€22.10" in body  # 20.00 + 3.50 shipping - 1.40


def test_footer_links_to_the_help_centre(client):
    """Every page's footer links /help/."""
    body = client.get(reverse("marketplace:home")).content.decode()
    footer = body.split('<footer class="site-footer">', 1)[1]
    assert 'href="/help/"' in footer


def test_checkout_links_buyer_protection_and_sell_form_links_fees(client, buyer, seller):
    """Checkout explains buyer protection; the sell form explains fees, one line each."""
    client.force_login(buyer)
    listing = ListingFactory(seller=seller)
    client.post(reverse("orders:cart_add", args=[listing.pk]), {"quantity": 1})
    checkout = client.get(reverse("orders:checkout"))
    assert checkout.status_code == 200
    assert 'href="/help/buyer-protection/"' in checkout.content.decode()
    client.force_login(seller)
    sell = client.get(reverse("marketplace:listing_create")).content.decode()
    assert 'href="/help/fees/"' in sell


def test_help_search_does_not_fill_the_site_search_box(client):
    """The header's item search shows the catalogue's query, not the help centre's."""
    body = client.get("/help/?q=tracking").content.decode()
    assert 'name="q" value=""' in body
    browse = client.get("/browse/?q=denim").content.decode()
    assert 'id="site-search" type="search" name="q" value="denim"' in browse
