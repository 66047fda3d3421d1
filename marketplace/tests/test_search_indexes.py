"""The search's queries use their indexes (PostgreSQL EXPLAIN on a few thousand ANALYZEd
rows, the planner free to choose: no enable_seqscan tricks)."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from marketplace import selectors
from marketplace.models import Listing
from marketplace.search import ListingFilters, cursors
from marketplace.search import engine as search_engine
from marketplace.search import facets as search_facets
from marketplace.search.filtering import FACET_FILTERS, listings_matching, text_match
from marketplace.tests.factories import CategoryFactory, ListingFactory
from marketplace.tests.search_helpers import plan_index_names

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans"),
]
ROWS = 4000
WORDS = ["denim", "wool", "linen", "cotton", "striped", "vintage", "cropped", "classic"]
NOUNS = ["jacket", "dress", "shirt", "jumper", "skirt", "trousers", "coat", "tee"]
BRANDS = ["Zara", "COS", "Levi's", "Uniqlo", "Arket", "Mango", "Patagonia", ""]
SIZES = ["XS", "S", "M", "L", "XL", "36", "38", "40"]


@pytest.fixture
def catalog():
    """ROWS listings for sale in 8 categories, plus a few rare ones to look for.

    The table starts fresh (TRUNCATE is transactional, so the test's rollback undoes it):
    dead rows left by earlier tests' rollbacks would otherwise change the planner's costs.
    """
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE marketplace_listing CASCADE")
    seller = ListingFactory().seller
    categories = [CategoryFactory(name=f"Shelf {n}", slug=f"shelf-{n}") for n in range(8)]
    rare_category = CategoryFactory(name="Hats", slug="hats")
    now = timezone.now()
    rows = [
        Listing(
            seller=seller,
            title=f"{WORDS[n % 8]} {WORDS[(n // 8) % 8]} {NOUNS[(n // 3) % 8]}",
            slug="item",
            description="Worn a handful of times, kept with care.",
            category=categories[n % 8],
            category_names=f"Shelf {n % 8}",
            brand=BRANDS[n % 8],
            size=SIZES[(n // 2) % 8],
            condition=Listing.Condition.values[n % 4],
            price=Decimal(5 + n % 200),
            status=Listing.Status.ACTIVE,
            published_at=now - timedelta(minutes=n),
        )
        for n in range(ROWS)
    ]
    for n in range(5):  # the rare values
        rows[n * 700].title = f"Bowler hat {n}"
        rows[n * 700].brand = "Lock & Co"
        rows[n * 700].size = "XXXL"
        rows[n * 700].category = rare_category
    Listing.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        # What autovacuum does in production: merge the GIN index's pending list (new rows
        # wait there; the planner costs it as a full read) and gather statistics.
        cursor.execute("SELECT gin_clean_pending_list('listing_search'::regclass)")
        cursor.execute("ANALYZE marketplace_listing")
        cursor.execute("ANALYZE accounts_user")
    return {"rare_category": rare_category}


def index_names(queryset) -> set[str]:
    """Every index an EXPLAIN of `queryset` mentions."""
    return plan_index_names(json.loads(queryset.explain(format="json")))


def page_query(filters: ListingFilters, *, category_ids=None):
    """The newest-first page query of the search (as engine._keyset_page builds it)."""
    listings = listings_matching(filters, text=text_match(filters.q), category_ids=category_ids)
    return listings.order_by(*cursors.ordering("newest")).values_list("published_at", "pk")[:25]


def sample_query(filters: ListingFilters):
    """The first query of every search: the facet sample (as engine._measure builds it)."""
    listings = listings_matching(
        filters, text=text_match(filters.q), category_ids=None, skip=FACET_FILTERS
    )
    return listings.order_by("-published_at", "-id").values_list(*search_facets.COLUMNS)[
        : search_facets.SAMPLE_SIZE + 1
    ]


def matches_query(filters: ListingFilters):
    """All the matches when the sample shows they are few (as engine._measure fetches them)."""
    listings = listings_matching(filters, text=text_match(filters.q), category_ids=None)
    return listings.values_list(*search_facets.COLUMNS)[: search_engine.TOTAL_CAP + 1]


def test_a_rare_word_uses_the_search_index(catalog):
    """A word in a few listings, or in none, typed whole or still being typed (a prefix), is
    found through the GIN index on the search vector."""
    for q in ("bowler", "bowl", '"bowler"', "unicorn", '"unicorn"'):
        assert "listing_search" in index_names(sample_query(ListingFilters(q=q))), q


def test_a_common_word_walks_the_newest_index_and_stops(catalog):
    """A word in most listings reads the "active newest" index in order until the sample or
    the page is full (no ranking or sorting of every match)."""
    assert "listing_active_newest" in index_names(sample_query(ListingFilters(q="worn")))
    assert "listing_active_newest" in index_names(page_query(ListingFilters(q="worn")))


def test_size_filter_uses_the_lower_size_index(catalog):
    """?size=xxxl compares LOWER(size) to LOWER(value), the expression listing_size_condition
    starts with."""
    assert "listing_size_condition" in index_names(page_query(ListingFilters(size="xxxl")))


def test_brand_filter_uses_a_lower_brand_index(catalog):
    """?brand=lock & co uses an index on LOWER(brand): listing_brand_size_condition or the
    partial listing_brand_prefix (text_pattern_ops also answers equality)."""
    names = index_names(page_query(ListingFilters(brand="LOCK & CO")))
    assert names & {"listing_brand_size_condition", "listing_brand_prefix"}


@pytest.mark.parametrize(
    ("filters", "index"),
    [
        ({"brand": "cos", "size": "m", "condition": "good"}, "listing_brand_size_condition"),
        ({"brand": "cos", "size": "m"}, "listing_brand_size_condition"),
        ({"size": "m", "condition": "good"}, "listing_size_condition"),
        ({"condition": "good", "brand": "cos"}, "listing_condition_brand"),
    ],
    ids=["brand+size+condition", "brand+size", "size+condition", "condition+brand"],
)
def test_facet_filters_together_read_one_index_range(catalog, filters, index):
    """Each combination of the brand, size and condition filters is the leading columns of
    one index: fetching its matches reads that range instead of ANDing large bitmaps."""
    plan = json.loads(matches_query(ListingFilters(**filters)).explain(format="json"))
    assert index in plan_index_names(plan)
    assert "BitmapAnd" not in json.dumps(plan)


def test_category_filter_uses_the_category_index(catalog):
    """A category page's filter uses listing_category."""
    category = catalog["rare_category"]
    ids = selectors.category_descendant_ids(category.pk)
    names = index_names(page_query(ListingFilters(category=category), category_ids=ids))
    # listing_category (category, status, published_at) or Django's index on the foreign key.
    assert any(name == "listing_category" or "category_id" in name for name in names)


def test_a_deep_cursor_page_starts_in_the_index_at_the_cursor(catalog):
    """Page 100 by cursor is an index range scan from the cursor, not a walk from the top."""
    last = Listing.objects.order_by("-published_at", "-id")[3000]
    position = cursors.Position(key=(last.published_at, last.pk))
    listings = listings_matching(ListingFilters(), text=None, category_ids=None)
    query = (
        listings.filter(cursors.after("newest", position))
        .order_by(*cursors.ordering("newest"))
        .values_list("published_at", "pk")[:25]
    )
    plan = query.explain(format="json")
    assert "listing_active_newest" in index_names(query)
    index_condition = plan.split('"Index Cond": ', 1)[1][:200]
    assert "published_at" in index_condition


def test_brand_suggestions_use_the_brand_prefix_index(catalog):
    """Brand suggestions for a rare prefix read listing_brand_prefix (LIKE 'lock%')."""
    from django.db.models.functions import Lower

    query = (
        Listing.objects.for_sale()
        .alias(_brand=Lower("brand"))
        .filter(_brand__startswith="lock")
        .order_by("-published_at", "-id")
        .values_list("brand", flat=True)[:500]
    )
    assert "listing_brand_prefix" in index_names(query)
