"""The seller's rating ("★ 4.8 (23)") on cards, listing and seller pages comes from the
profile those pages already join: no query of its own."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import profile_rating_set
from accounts.tests.factories import UserFactory
from marketplace.tests.factories import ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db


def _count(client, url: str) -> tuple[int, str]:
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.text


@pytest.mark.parametrize("page", ["home", "browse", "listing", "seller"])
def test_rating_shows_without_an_extra_query(client, page):
    """Rated or not, each page runs the same queries; rated, it shows "★ 4.8 (23)"."""
    seller = UserFactory(is_seller=True, username="rated")
    listings = ListingFactory.create_batch(3, seller=seller)
    for listing in listings:
        ListingImageFactory(listing=listing)
    url = {
        "home": reverse("marketplace:home"),
        "browse": reverse("marketplace:browse"),
        "listing": listings[0].get_absolute_url(),
        "seller": reverse("marketplace:seller", args=["rated"]),
    }[page]
    unrated, text = _count(client, url)
    assert "★" not in text
    profile_rating_set(user=seller, count=23, average=Decimal("4.78"))
    rated, text = _count(client, url)
    assert "★ 4.8 (23)" in text
    assert rated == unrated
