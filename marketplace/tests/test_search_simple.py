"""The simple fallback search (SQLite's default), run through the backend class directly so
it is tested on whatever database the suite uses."""

from decimal import Decimal

import pytest
from django.db import connection

from marketplace.search import database_backend
from marketplace.search.simple import SimpleSearchBackend
from marketplace.tests.factories import CategoryFactory
from marketplace.tests.search_helpers import every_page, facet, ids, item, search

pytestmark = pytest.mark.django_db


@pytest.fixture
def backend() -> SimpleSearchBackend:
    return SimpleSearchBackend()


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite default")
def test_database_backend_is_simple_on_sqlite():
    """On SQLite the database search is the simple backend."""
    assert isinstance(database_backend(), SimpleSearchBackend)


def test_every_word_must_be_in_title_brand_category_or_description(backend):
    """Words match as case-insensitive substrings anywhere in the listing's text."""
    knitwear = CategoryFactory(name="Knitwear", slug="knitwear")
    jumper = item("Wool jumper", brand="Arket", category=knitwear)
    scarf = item("Scarf", description="Soft wool, hand knitted.")
    assert set(ids(backend, q="WOOL")) == {jumper.pk, scarf.pk}
    assert ids(backend, q="wool arket") == [jumper.pk]
    assert ids(backend, q="knitwear") == [jumper.pk]
    assert ids(backend, q="wool silk") == []


def test_apostrophes_are_ignored_and_words_match_as_prefixes(backend):
    """ "levis" finds Levi's; a partly typed word finds the whole one."""
    levis = item("Levi's 501", brand="Levi's")
    assert ids(backend, q="levis") == [levis.pk]
    assert ids(backend, q="levi's 50") == [levis.pk]


def test_minus_phrase_and_or(backend):
    """-word excludes, quotes keep a phrase together, `or` gives alternatives."""
    zara = item("Black dress", brand="Zara")
    mango = item("Black dress", brand="Mango")
    shirt = item("Dress shirt black")
    assert ids(backend, q="dress -zara", sort="newest") == [shirt.pk, mango.pk]
    assert set(ids(backend, q='"black dress"')) == {zara.pk, mango.pk}
    assert set(ids(backend, q="zara or mango")) == {zara.pk, mango.pk}


def test_relevance_puts_title_before_brand_before_description(backend):
    """A word in the title scores above the brand, the brand above the description."""
    in_description = item("Coat", description="Like Patagonia")
    in_brand = item("Fleece", brand="Patagonia", minutes_ago=10)
    in_title = item("Patagonia-style anorak", minutes_ago=20)
    assert ids(backend, q="patagonia", sort="relevance") == [
        in_title.pk,
        in_brand.pk,
        in_description.pk,
    ]


def test_filters_facets_and_totals_are_exact(backend):
    """Filters combine with the query; facet counts ignore their own selection."""
    item("Red dress", size="S", brand="Zara", price=10)
    blue = item("Blue dress", size="M", brand="Zara", price=40)
    item("Green dress", size="M", brand="Mango", price=40)
    item("Coat", size="M", brand="Zara", price=40)
    page = search(backend, q="dress", size="m", brand="zara")
    assert list(page.ids) == [blue.pk]
    assert page.total == 1
    assert facet(page, "size") == {"S": 1, "M": 1}
    assert facet(page, "brand") == {"Zara": 1, "Mango": 1}
    assert not any(f.approximate for f in page.facets)
    priced = search(backend, q="dress", min_price=Decimal("20"))
    assert priced.total == 2


def test_cursor_pages_visit_every_match_once(backend):
    """Following next cursors, 2 per page, returns each match once for every sort."""
    listings = [item(f"Tee {n}", price=5 + n // 2, minutes_ago=n // 2) for n in range(7)]
    for sort in ("relevance", "newest", "price_asc", "price_desc"):
        found = every_page(backend, per_page=2, q="tee", sort=sort)
        assert sorted(found) == sorted(x.pk for x in listings), sort


def test_bad_input_never_errors(backend):
    """Syntax-only, huge or tampered input gives a page."""
    listing = item("Tee")
    for q in ['"', "-", "%_", "x" * 5000, "a or or b", "--x"]:
        search(backend, q=q)
        backend.suggest(q, limit=5)
    assert ids(backend, q="-") == [listing.pk]
    assert search(backend, cursor="nonsense").ids == (listing.pk,)


def test_suggest_lists_titles_brands_and_categories(backend):
    """Suggestions: listings whose title has the words, brands by prefix, then categories."""
    CategoryFactory(name="Denim", slug="denim")
    jacket = item("Denim jacket", brand="Denim & Co")
    found = backend.suggest("deni", limit=6)
    assert [(s.kind, s.label) for s in found] == [
        ("listing", "Denim jacket"),
        ("brand", "Denim & Co"),
        ("category", "Denim"),
    ]
    assert found[0].url == jacket.get_absolute_url()
