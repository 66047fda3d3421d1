"""Query discipline: list pages run the same number of queries for 3 or 30 items.

Counts are of the catalog's own queries (tables of marketplace and accounts); queries other
apps add to every request (middleware, context processors) are excluded from the exact
number but included in the "3 items == 30 items" comparison.
"""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import UserFactory
from marketplace.models import Favourite
from marketplace.tests.factories import CategoryFactory, ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db

# Anonymous visitors, cold cache (the category tree is then cached; the navigation is made
# from it, and a request reads it from the cache once: core.request_memo).
HOME_QUERIES = 3  # the category tree, the cards (rows with the seller's rating), first photos
# the category tree (navigation, filter select, facets), the search's facet sample (on a small
# result it also gives the exact total and the page's ids), the page's cards (rows, photos).
BROWSE_QUERIES = 4
CATEGORY_QUERIES = 5  # the same + the category
# The same + the query's analysis (marketplace/search/pg_query.py: PostgreSQL's parse and the
# vocabulary's counts, for the planner); the sample carries the relevance scores. The SQLite
# fallback's search has no such analysis.
SEARCH_QUERIES = BROWSE_QUERIES + (1 if connection.vendor == "postgresql" else 0)
# the category tree (navigation, the breadcrumbs' parents), listing (+seller, profile), its
# photos, the seller's count for sale (cold cache). The view is no longer an UPDATE here: it
# is a cache counter flushed by listing_views_flush.
DETAIL_QUERIES = 4
# The category tree and seller's count come from the cache, and so do the page's parts: on
# PostgreSQL they are keyed by the listing's photos_revision, so the photos aren't read.
DETAIL_QUERIES_WARM = 1 if connection.vendor == "postgresql" else 2
# the category tree, member (+profile, follow counts), active count, the keyset page's keys,
# its cards (rows and first photos: selectors.listing_cards), and the latest reviews (orders'
# {% seller_reviews %} tag; it joins the reviewers' profiles)
SELLER_QUERIES = 7


def make_listings(count: int, **kwargs) -> None:
    for listing in ListingFactory.create_batch(count, **kwargs):
        ListingImageFactory(listing=listing, position=0)
        ListingImageFactory(listing=listing, position=1)


def queries_for(client, url: str) -> tuple[int, int]:
    """(all queries, catalog queries) of one cold-cache GET."""
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), len(_ours(captured.captured_queries))


def _ours(queries: list[dict]) -> list[dict]:
    return [q for q in queries if "marketplace_" in q["sql"] or "accounts_" in q["sql"]]


@pytest.fixture
def assert_fixed(client, django_assert_num_queries):
    """Measure `url` with the current rows, call `grow()`, then assert the very same number
    of queries with django_assert_num_queries, `expected` of them the catalog's."""

    def check(url: str, expected: int, grow) -> None:
        total, ours = queries_for(client, url)
        assert ours == expected
        grow()
        cache.clear()
        with django_assert_num_queries(total) as captured:
            assert client.get(url).status_code == 200
        assert len(_ours(captured.captured_queries)) == expected

    return check


def test_home_query_count_is_fixed(assert_fixed):
    """Home runs HOME_QUERIES catalog queries for 3 or for 30 items."""
    make_listings(3)
    assert_fixed(reverse("marketplace:home"), HOME_QUERIES, lambda: make_listings(27))


def test_browse_query_count_is_fixed(assert_fixed):
    """Browse runs the same queries for 3 and for 30 listings."""
    make_listings(3)
    assert_fixed(reverse("marketplace:browse"), BROWSE_QUERIES, lambda: make_listings(27))


def test_browse_with_filters_query_count_is_fixed(assert_fixed):
    """Filters and sorting add no queries to a text search."""
    make_listings(3, brand="Zara")
    url = reverse("marketplace:browse") + "?q=jacket&brand=zara&sort=price_asc&min_price=1"
    assert_fixed(url, SEARCH_QUERIES, lambda: make_listings(27, brand="Zara"))


def test_search_by_relevance_query_count_is_fixed(assert_fixed):
    """A text search sorted by relevance runs the same queries for 3 and for 30 matches."""
    make_listings(3)
    url = reverse("marketplace:browse") + "?q=denim+jacket"
    assert_fixed(url, SEARCH_QUERIES, lambda: make_listings(27))


def test_category_query_count_is_fixed(assert_fixed):
    """A category page (with descendants) runs a fixed number of queries."""
    parent = CategoryFactory(slug="women")
    child = CategoryFactory(slug="women-tops", parent=parent)
    make_listings(3, category=child)
    url = reverse("marketplace:category", args=["women"])
    assert_fixed(url, CATEGORY_QUERIES, lambda: make_listings(27, category=child))


def test_listing_detail_query_count_is_fixed(assert_fixed):
    """The detail page's queries don't grow with the number of photos."""
    listing = ListingFactory()
    ListingImageFactory(listing=listing, position=0)

    def more_photos() -> None:
        for position in range(1, 8):
            ListingImageFactory(listing=listing, position=position)

    assert_fixed(listing.get_absolute_url(), DETAIL_QUERIES, more_photos)


def test_seller_page_query_count_is_fixed(assert_fixed):
    """The seller page runs a fixed number of queries."""
    seller = UserFactory(username="shop.one")
    make_listings(3, seller=seller)
    url = reverse("marketplace:seller", args=["shop.one"])
    assert_fixed(url, SELLER_QUERIES, lambda: make_listings(27, seller=seller))


def test_my_listings_and_saved_items_query_counts_do_not_grow(client):
    """My listings and Saved items: same query count for 3 and 30 items."""
    seller = UserFactory()
    shopper = UserFactory()

    def grow(count: int) -> None:
        make_listings(count, seller=seller)
        for listing in seller.listings.exclude(favourites__user=shopper):
            Favourite.objects.create(user=shopper, listing=listing)

    grow(3)
    client.force_login(seller)
    small = queries_for(client, reverse("marketplace:my_listings"))
    client.force_login(shopper)
    small_saved = queries_for(client, reverse("marketplace:favourites"))
    grow(27)
    client.force_login(seller)
    assert queries_for(client, reverse("marketplace:my_listings")) == small
    client.force_login(shopper)
    assert queries_for(client, reverse("marketplace:favourites")) == small_saved


def test_listing_detail_on_a_warm_cache_runs_only_the_listing_query(
    client, django_assert_num_queries
):
    """Second view: navigation, the seller's count for sale and the parts (photos included,
    on PostgreSQL) are cached; no view UPDATE."""
    listing = ListingFactory()
    ListingImageFactory(listing=listing, position=0)
    cache.clear()
    client.get(listing.get_absolute_url())
    with CaptureQueriesContext(connection) as captured:
        assert client.get(listing.get_absolute_url()).status_code == 200
    assert len(_ours(captured.captured_queries)) == DETAIL_QUERIES_WARM


def test_sellers_cached_count_for_sale_follows_their_listings(client):
    """Publishing, selling or deleting a listing updates the count on the listing page."""
    from marketplace.selectors import seller_active_listing_count

    seller = UserFactory()
    first = ListingFactory(seller=seller)
    cache.clear()
    assert seller_active_listing_count(seller=seller) == 1
    second = ListingFactory(seller=seller)
    assert seller_active_listing_count(seller=seller) == 2
    first.status = "sold"
    first.save(update_fields=["status"])
    assert seller_active_listing_count(seller=seller) == 1
    second.delete()
    assert seller_active_listing_count(seller=seller) == 0
