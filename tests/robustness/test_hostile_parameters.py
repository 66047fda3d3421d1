"""Hostile GET parameters on every list page: never a 500, always escaped."""

import pytest
from django.urls import reverse

from marketplace.models import Listing
from marketplace.tests.factories import (
    ListingFactory,
)
from tests.robustness.world import XSS, World, assert_escaped, assert_no_crash

pytestmark = pytest.mark.django_db


# --- Hostile GET parameters -----------------------------------------------------------------
HOSTILE_VALUES = [
    "' OR 1=1 --",
    "1; DROP TABLE marketplace_listing; --",
    "1' UNION SELECT password FROM accounts_user --",
    XSS,
    "%00",
    "\x00",
    "99999999999999999999999999999999",
    "-1",
    "0",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e309",
    "１２",  # full-width digits
    "zaÅ¼Ã³Å‚Ä‡ gÄ™Å›lÄ… 🧥 جاكيت",
    "\u202e\u200b",
    "A" * 10_000,
    "abc",
    "[]",
]
BROWSE_PARAMS = ["q", "category", "size", "brand", "condition", "min_price", "max_price", "sort"]


def _hostile_urls(world: World) -> list[tuple[str, list[str]]]:
    """(page, params) for every list page that reads GET parameters."""
    return [
        (reverse("marketplace:browse"), [*BROWSE_PARAMS, "page"]),
        (reverse("marketplace:category", kwargs={"slug": world.category.slug}), BROWSE_PARAMS),
        (reverse("marketplace:home"), ["page", "q"]),
        (world.listing.get_absolute_url(), ["page", "q"]),
        (reverse("marketplace:seller", kwargs={"username": world.owner.username}), ["page"]),
        (reverse("marketplace:my_listings"), ["page"]),
        (reverse("marketplace:favourites"), ["page"]),
        (reverse("orders:order_list"), ["page", "status"]),
        (reverse("orders:sales_list"), ["page", "status"]),
        (reverse("orders:cart"), ["page"]),
        (reverse("ops:status"), ["page", "format"]),
        (reverse("account_login"), ["next"]),
        (reverse("account_signup"), ["next"]),
    ]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=lambda v: repr(v[:24]))
def test_hostile_get_parameters_never_500_and_are_escaped(world, value):
    """Every GET parameter of every list page, one hostile value at a time: 2xx/3xx/4xx,
    no trace, reflected markup escaped."""
    client = world.client("owner")
    for url, params in _hostile_urls(world):
        for param in params:
            response = client.get(url, {param: value})
            assert_no_crash(response, f"{url}?{param}={value[:30]!r}")
            assert_escaped(response, value, f"{url}?{param}")


@pytest.mark.parametrize("page", ["0", "-1", "99999", "abc", "1.5", "1e3", "", "%00"])
def test_pagination_out_of_range_shows_a_page(world, page):
    """page=0/-1/99999/abc falls back to a real page of results (200), not 404/500."""
    ListingFactory.create_batch(3, seller=world.owner, category=world.category)
    for url in (reverse("marketplace:browse"), reverse("marketplace:my_listings")):
        response = world.client("owner").get(url, {"page": page})
        assert response.status_code == 200, (url, page, response.status_code)


def test_repeated_and_combined_parameters_never_500(world):
    """Repeated keys, every filter at once, and min > max are handled as form errors."""
    query = (
        "q=a&q=b&min_price=10&min_price=NaN&max_price=5&max_price=1e309&sort=price_asc"
        "&sort=evil&condition=good&condition=<x>&category=jackets&category=nope&page=2&page=x"
    )
    for url in (reverse("marketplace:browse"), f"/c/{world.category.slug}/"):
        response = world.client("anonymous").get(f"{url}?{query}")
        assert response.status_code == 200


def test_browse_filters_with_sql_injection_match_nothing(world):
    """An injection string is searched for literally: it finds nothing, and the catalogue is
    still there afterwards."""
    response = world.client("anonymous").get(reverse("marketplace:browse"), {"q": "' OR '1'='1"})
    assert response.status_code == 200
    assert world.listing.title not in response.content.decode()
    assert Listing.objects.filter(pk=world.listing.pk).exists()


def test_browse_escapes_the_search_term_in_chips_and_inputs(world):
    """The search term shows up in the filter chip and the input, escaped."""
    response = world.client("anonymous").get(reverse("marketplace:browse"), {"q": XSS[:90]})
    body = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<script>alert(1)" not in body


def test_htmx_partial_browse_with_hostile_values_never_500(world):
    """The htmx partial (results only) handles hostile filters like the full page."""
    for value in ("NaN", "1e309", XSS, "\x00"):
        response = world.client("anonymous").get(
            reverse("marketplace:browse"),
            {"min_price": value, "q": value},
            headers={"HX-Request": "true"},
        )
        assert_no_crash(response, f"htmx browse {value!r}")
        assert_escaped(response, value, "htmx browse")
