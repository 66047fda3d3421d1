"""Anonymous GETs of catalogue pages set no cookie and don't vary on Cookie (issue 11).

A shared cache in front of the site (CDN, nginx) may then keep one copy per URL for every
anonymous visitor; signed-in pages keep their session and CSRF cookie as before.
"""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from marketplace.tests.factories import CategoryFactory, ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    seller = UserFactory(username="shop.anon")
    category = CategoryFactory(slug="women")
    listing = ListingFactory(seller=seller, category=category, title="Denim jacket")
    ListingImageFactory(listing=listing, position=0)
    return {"seller": seller, "category": category, "listing": listing}


def _catalogue_urls(catalogue) -> list[str]:
    return [
        reverse("marketplace:home"),
        reverse("marketplace:browse"),
        reverse("marketplace:browse") + "?q=denim",
        reverse("marketplace:category", args=[catalogue["category"].slug]),
        catalogue["listing"].get_absolute_url(),
        reverse("marketplace:seller", args=[catalogue["seller"].username]),
        reverse("marketplace:search_suggest") + "?q=den",
        reverse("help:index"),
    ]


def test_anonymous_catalogue_pages_set_no_cookie_and_do_not_vary_on_cookie(client, catalogue):
    """Every catalogue page answers an anonymous GET without Set-Cookie or Vary: Cookie."""
    for url in _catalogue_urls(catalogue):
        response = client.get(url)
        assert response.status_code == 200, url
        assert not response.cookies, (url, list(response.cookies))
        assert "set-cookie" not in {name.lower() for name in response.headers}, url
        assert "cookie" not in response.get("Vary", "").lower(), (url, response.get("Vary"))


def test_anonymous_listing_page_links_to_login_instead_of_posting(client, catalogue):
    """The anonymous listing page carries no CSRF form field: its controls lead to log in."""
    response = client.get(catalogue["listing"].get_absolute_url())
    assert b"csrfmiddlewaretoken" not in response.content
    assert reverse("account_login").encode() in response.content


def test_signed_in_listing_page_keeps_its_csrf_token(client, catalogue, buyer):
    """A signed-in member still gets the CSRF token and cookie for the page's forms."""
    client.force_login(buyer)
    response = client.get(catalogue["listing"].get_absolute_url())
    assert b"csrfmiddlewaretoken" in response.content
    assert "csrftoken" in response.cookies


def test_anonymous_add_to_cart_goes_through_the_cart_page_confirmation(client, catalogue):
    """The anonymous "Add to cart" is a GET to the cart page, whose POST form adds the item."""
    listing = catalogue["listing"]
    body = client.get(listing.get_absolute_url()).content.decode()
    assert f'action="{reverse("orders:cart")}"' in body
    confirm = client.get(reverse("orders:cart") + f"?add={listing.pk}")
    assert f'action="{reverse("orders:cart_add", args=[listing.pk])}"' in confirm.text
    assert "csrftoken" in confirm.cookies
    client.post(reverse("orders:cart_add", args=[listing.pk]), {"quantity": "1"})
    assert listing.title in client.get(reverse("orders:cart")).text


def test_a_visitor_with_a_session_still_gets_vary_cookie(client, catalogue):
    """Once a visitor has a session cookie, pages vary on it again (no shared copy)."""
    client.post(reverse("orders:cart_add", args=[catalogue["listing"].pk]))
    assert "sessionid" in client.cookies
    response = client.get(reverse("marketplace:home"))
    assert "cookie" in response.get("Vary", "").lower()
