"""The browse/search page: what a shopper sees around the results."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from marketplace.browsing import results_label
from marketplace.search import SearchPage
from marketplace.search import engine as search_engine
from marketplace.search import facets as search_facets
from marketplace.search.vocabulary import vocabulary_refresh
from marketplace.tests.factories import CategoryFactory
from marketplace.tests.search_helpers import item

pytestmark = pytest.mark.django_db
BROWSE = reverse("marketplace:browse")
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="typo tolerance is PostgreSQL's"
)


def titles(response) -> list[str]:
    return [listing.title for listing in response.context["listings"]]


@postgres_only
def test_typo_shows_results_and_a_did_you_mean_link(client):
    """ "patagnoia" lists the Patagonia item and links to the corrected search."""
    item("Fleece jacket", brand="Patagonia")
    vocabulary_refresh()
    response = client.get(BROWSE, {"q": "patagnoia", "size": "M"})
    assert titles(response) == ["Fleece jacket"]
    body = response.content.decode()
    assert "Did you mean" in body
    assert 'href="?q=patagonia&amp;size=M"' in body
    assert titles(client.get(BROWSE, {"q": "Patagonia", "size": "M"})) == ["Fleece jacket"]


def test_a_query_sorts_by_best_match_unless_asked(client):
    """With a query the default sort is relevance; without one it is newest (and "Best
    match" isn't offered)."""
    item("Coat", description="corduroy collar")
    item("Corduroy trousers", minutes_ago=30)
    response = client.get(BROWSE, {"q": "corduroy"})
    assert response.context["results"].extra["sort"] == "relevance"
    assert titles(response) == ["Corduroy trousers", "Coat"]
    assert titles(client.get(BROWSE, {"q": "corduroy", "sort": "newest"})) == [
        "Coat",
        "Corduroy trousers",
    ]
    plain = client.get(BROWSE)
    assert "relevance" not in dict(plain.context["form"].fields["sort"].choices)


def test_facets_show_counts_and_link_to_the_narrowed_results(client):
    """Size, brand and condition selects show counts; category and price are links that
    narrow the results and keep the query."""
    women = CategoryFactory(name="Women", slug="women")
    men = CategoryFactory(name="Men", slug="men")
    item("Red dress", size="S", brand="Zara", category=women, price=8)
    item("Blue dress", size="M", brand="Zara", category=women, price=30)
    item("Dress shirt", size="M", brand="COS", category=men, price=30)
    response = client.get(BROWSE, {"q": "dress"})
    body = response.content.decode()
    assert '<option value="M">M (2)</option>' in body
    assert '<option value="Zara">Zara (2)</option>' in body
    assert '<option value="good">Good (3)</option>' in body
    facets = {f["name"]: f for f in response.context["facets"]}
    women_link = next(v for v in facets["category"]["values"] if v["label"] == "Women")
    assert (women_link["label"], women_link["count"]) == ("Women", 2)
    assert women_link["url"] == "/c/women/?q=dress"
    assert titles(client.get(women_link["url"])) == ["Blue dress", "Red dress"]
    band = next(v for v in facets["price"]["values"] if v["label"] == "€25 to €50")
    assert band["count"] == 2
    assert band["url"] == "?q=dress&min_price=25&max_price=49.99"
    narrowed = client.get(BROWSE + band["url"])
    assert titles(narrowed) == ["Dress shirt", "Blue dress"]
    selected = next(v for v in narrowed.context["facets"][-1]["values"] if v["selected"])
    assert selected["url"] == "?q=dress"  # choosing it again removes it


def test_chosen_value_stays_chosen_as_typed(client):
    """?size=m (lower case) keeps the size select on that value so re-submitting keeps it."""
    item("Blue dress", size="M")
    body = client.get(BROWSE, {"size": "m"}).content.decode()
    assert '<option value="m" selected>M (1)</option>' in body


def test_result_count_label_says_when_it_is_a_lower_bound():
    """Totals read "1 000+ results" past the cap, and "1 result" / "124 results" below."""
    assert results_label(SearchPage(ids=(), total=1000, total_is_lower_bound=True)) == (
        "1\u00a0000+ results"
    )
    assert results_label(SearchPage(ids=(), total=1)) == "1 result"
    assert results_label(SearchPage(ids=(), total=124)) == "124 results"


def test_big_results_show_estimated_counts(client, monkeypatch):
    """Past the facet sample the page says "3+ results" and marks counts with "~"."""
    monkeypatch.setattr(search_facets, "SAMPLE_SIZE", 2)
    monkeypatch.setattr(search_engine, "TOTAL_CAP", 3)
    for n in range(5):
        item(f"Tee {n}", size="M")
    response = client.get(BROWSE)
    body = response.content.decode()
    assert "3+ results" in body
    assert "(~" in body


def test_empty_state_offers_filters_to_drop_and_popular_places(client):
    """No results: links that drop each filter, popular categories and brands."""
    cache.clear()
    category = CategoryFactory(name="Shoes", slug="shoes")
    item("Loafers", brand="Church's", size="42", category=category)
    response = client.get(BROWSE, {"q": "loafers", "size": "XS"})
    assert titles(response) == []
    body = response.content.decode()
    assert "No items match" in body
    assert 'href="?q=loafers">Remove Size: XS' in body
    assert "Popular categories" in body
    assert 'href="/c/shoes/"' in body
    assert "Popular brands" in body
    assert "/browse/?brand=Church%27s" in body


@pytest.mark.parametrize(
    "params",
    [
        {"q": "x" * 5000},
        {"q": '"'},
        {"q": "-"},
        {"q": "&|!():*"},
        {"cursor": "garbage"},
        {"cursor": "x" * 10000},
        {"sort": "relevance"},
        {"q": "tee", "sort": "relevance", "cursor": "eyJ9:1:bad"},
        {"size": "x" * 500, "brand": "<script>", "min_price": "-1", "max_price": "1e9999"},
    ],
)
def test_odd_parameters_never_break_the_page(client, params):
    """Whatever the query string holds, the page answers 200 with results or none."""
    item("Tee")
    response = client.get(BROWSE, params)
    assert response.status_code == 200
    assert "<script>" not in response.content.decode().split("</header>", 1)[1]


def test_htmx_gets_the_results_with_their_facets(client):
    """An htmx request gets the swappable part: results, facets and pagination links."""
    item("Scarf", size="M")
    response = client.get(BROWSE, {"q": "scarf"}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert "Scarf" in body
    assert "M (1)" in body
    assert "1 result" in body


def test_price_filters_are_decimal_and_inclusive(client):
    """min_price and max_price include their bounds."""
    item("Tee", price=Decimal("10.00"))
    item("Top", price=Decimal("10.01"))
    assert titles(client.get(BROWSE, {"max_price": "10"})) == ["Tee"]
    assert titles(client.get(BROWSE, {"min_price": "10.01"})) == ["Top"]
