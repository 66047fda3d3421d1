"""PostgreSQL full-text search: matching, ranking, typos, filters, facets, cursors."""

from decimal import Decimal

import pytest
from django.db import connection

from marketplace import selectors
from marketplace.models import SearchWord
from marketplace.search import ListingFilters, database_backend
from marketplace.search import engine as search_engine
from marketplace.search import facets as search_facets
from marketplace.search.filtering import listings_matching, text_match
from marketplace.search.postgres import PostgresSearchBackend
from marketplace.search.vocabulary import similar_words, vocabulary_refresh
from marketplace.services import category_listing_names_refresh
from marketplace.tests.factories import CategoryFactory, ListingFactory, ListingImageFactory
from marketplace.tests.search_helpers import every_page, facet, ids, item, search

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL full text needs PostgreSQL"
    ),
]


@pytest.fixture
def backend() -> PostgresSearchBackend:
    return PostgresSearchBackend()


def test_database_backend_is_postgres_on_postgresql():
    """On PostgreSQL the database search is the full-text backend."""
    assert isinstance(database_backend(), PostgresSearchBackend)


# --- Matching --------------------------------------------------------------------------


def test_title_match_ranks_above_description_match(backend):
    """With relevance, a word in the title beats the same word in the description."""
    in_description = item("Plain shirt", description="Goes well with a corduroy jacket.")
    in_title = item("Corduroy jacket", minutes_ago=60)  # older: only relevance puts it first
    assert ids(backend, q="corduroy", sort="relevance") == [in_title.pk, in_description.pk]


def test_brand_match_ranks_above_description_match(backend):
    """A word in the brand beats the same word in the description."""
    in_description = item("Wool coat", description="Not Patagonia, but as warm.")
    in_brand = item("Fleece", brand="Patagonia", minutes_ago=60)
    assert ids(backend, q="patagonia", sort="relevance") == [in_brand.pk, in_description.pk]


def test_category_names_are_searched_and_follow_a_rename(backend):
    """A listing is found by its category path's names, also after the category is renamed."""
    knitwear = CategoryFactory(name="Knitwear", slug="knitwear")
    jumper = item("Cosy jumper", category=knitwear)
    assert ids(backend, q="knitwear") == [jumper.pk]
    knitwear.name = "Jumpers & cardigans"
    knitwear.save()
    assert category_listing_names_refresh(category_id=knitwear.pk) == 1
    assert ids(backend, q="cardigans") == [jumper.pk]
    assert ids(backend, q="knitwear") == []


def test_accents_and_apostrophes_are_folded(backend):
    """Typing levis finds Levi's (straight or curly apostrophe), cafe finds café, both ways."""
    levis = item("Levi's 501 jeans")
    curly = item("Levi’s trucker jacket")  # noqa: RUF001 - the curly apostrophe is the point
    cafe = item("Café racer jacket")
    assert set(ids(backend, q="levis")) == {levis.pk, curly.pk}
    assert set(ids(backend, q="levi's")) == {levis.pk, curly.pk}
    assert ids(backend, q="cafe") == [cafe.pk]
    assert ids(backend, q="CAFÉ") == [cafe.pk]


def test_last_word_matches_as_a_prefix(backend):
    """The last word matches as a prefix while typing; earlier words must be whole."""
    patagonia = item("Fleece", brand="Patagonia")
    jeans = item("Levi's jeans")
    assert ids(backend, q="patag") == [patagonia.pk]
    assert ids(backend, q="levis jea") == [jeans.pk]
    # "lev" is not the last word: no exact match (the page offers the typo correction).
    assert list(selectors.listings_search(filters=ListingFilters(q="lev jeans"))) == []
    vocabulary_refresh()
    assert search(backend, q="lev jeans").did_you_mean == "levis jeans"


def test_quotes_match_a_phrase(backend):
    """Quoted words must be side by side; a closing quote ends prefix matching."""
    phrase = item("Blue jeans")
    apart = item("Blue shirt and jeans")
    assert set(ids(backend, q="blue jeans")) == {phrase.pk, apart.pk}
    assert ids(backend, q='"blue jeans"') == [phrase.pk]
    closed = ListingFilters(q='"blue jea"')  # no prefix: the page offers a correction instead
    assert list(selectors.listings_search(filters=closed)) == []
    vocabulary_refresh()
    assert search(backend, q='"blue jea"').did_you_mean == '"blue jeans"'


def test_minus_excludes_and_or_gives_alternatives(backend):
    """-word excludes listings with it; `or` accepts either word."""
    zara = item("Black dress", brand="Zara")
    mango = item("Black dress", brand="Mango")
    cos = item("Linen shirt", brand="COS")
    assert ids(backend, q="dress -zara") == [mango.pk]
    assert set(ids(backend, q="zara or cos")) == {zara.pk, cos.pk}


def test_typo_finds_the_item_and_suggests_the_spelling(backend):
    """A typo (patagnoia) finds the Patagonia items and offers the corrected query."""
    fleece = item("Fleece jacket", brand="Patagonia")
    item("Wool jumper", brand="Arket")
    vocabulary_refresh()
    page = search(backend, q="patagnoia")
    assert list(page.ids) == [fleece.pk]
    assert page.did_you_mean == "patagonia"
    two_words = search(backend, q="patagnoia fleece")
    assert list(two_words.ids) == [fleece.pk]
    assert two_words.did_you_mean == "patagonia fleece"


def test_vocabulary_counts_the_words_of_listings_for_sale():
    """The vocabulary lists the folded words (3+ letters) of listings for sale with how many
    listings have each in the title or brand, and anywhere; look-alikes of a misspelt word
    come from the title and brand words only."""
    knitwear = CategoryFactory(name="Knitwear", slug="knitwear")
    item("Café jacket", brand="Levi's", description="Soft jacket wool", category=knitwear)
    item("Wool jacket", status="sold")
    assert vocabulary_refresh() == 6
    assert set(SearchWord.objects.values_list("word", "listings", "documents")) == {
        ("cafe", 1, 1),
        ("jacket", 1, 1),
        ("levis", 1, 1),
        ("soft", 0, 1),
        ("wool", 0, 1),
        ("knitwear", 0, 1),
    }
    assert similar_words("jakcet") == [("jacket", 1)]
    assert similar_words("sotf") == []  # a description word is never offered
    assert similar_words("unicorn") == []


def test_enough_exact_results_skip_typo_tolerance(backend):
    """With enough exact matches, look-alike words don't join and nothing is suggested."""
    exact = [item(f"Pleated skirt {n}") for n in range(3)]
    item("Pleated shirt")
    page = search(backend, q="skirt")
    assert set(page.ids) == {listing.pk for listing in exact}
    assert page.did_you_mean == ""


def test_few_results_of_a_correctly_spelled_query_get_no_look_alikes(backend):
    """A precise query with one result isn't padded with similar listings."""
    phrase = item("Blue jeans")
    item("Blue shirt and jeans")
    item("Blue jean jacket")
    vocabulary_refresh()
    page = search(backend, q='"blue jeans"')
    assert list(page.ids) == [phrase.pk]
    assert page.did_you_mean == ""


def test_typo_tolerance_keeps_exclusions(backend):
    """The look-alikes of a typo (patagnoia -zara) still leave out excluded words."""
    kept = item("Fleece", brand="Patagonia")
    item("Fleece, Zara style", brand="Patagonia")
    vocabulary_refresh()
    page = search(backend, q="patagnoia -zara")
    assert list(page.ids) == [kept.pk]
    assert page.did_you_mean == "patagonia -zara"


HOSTILE = [
    '"',
    '""',
    "-",
    "--",
    "- -",
    ":*",
    "&|!()",
    "a & b | !c",
    "'; DROP TABLE marketplace_listing; --",
    "\\",
    "%_%",
    "or",
    "-or",
    '"unclosed phrase',
    "<->",
    "a:*A",
    "x" * 5000,
    "🙂 ﷽ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    " ".join(["word"] * 1000),
]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_give_a_page_or_nothing_never_an_error(backend, q):
    """Any text (syntax only, SQL, 5 000 characters, odd Unicode) searches without errors."""
    item("Denim jacket", brand="Levi's")
    for sort in ("relevance", "newest", "price_asc"):
        page = search(backend, q=q, sort=sort)
        assert page.total >= len(page.ids)
    backend.suggest(q, limit=8)


def test_a_query_of_only_syntax_is_no_query(backend):
    """Quotes or a lone minus have nothing to search for: everything for sale is shown."""
    listing = item("Denim jacket")
    assert ids(backend, q='"') == [listing.pk]
    assert ids(backend, q="-") == [listing.pk]


# --- Filters, facets, totals ------------------------------------------------------------


@pytest.fixture
def catalog():
    """Dresses and a coat across two categories, sizes, brands, conditions and prices."""
    women = CategoryFactory(name="Women", slug="women")
    dresses = CategoryFactory(name="Dresses", slug="dresses", parent=women)
    men = CategoryFactory(name="Men", slug="men")
    good, fair = ListingFactory._meta.model.Condition.GOOD, "fair"
    rows = [
        ("Red dress", dresses, "S", "Zara", good, 8),
        ("Blue dress", dresses, "M", "zara", good, 15),
        ("Green dress", dresses, "m", "Mango", fair, 30),
        ("Black dress", women, "L", "Mango", good, 60),
        ("Dress shirt", men, "M", "COS", fair, 120),
        ("Wool coat", men, "M", "COS", good, 45),
    ]
    return {
        "women": women,
        "dresses": dresses,
        "men": men,
        "items": [
            item(t, category=c, size=s, brand=b, condition=cond, price=p, minutes_ago=n)
            for n, (t, c, s, b, cond, p) in enumerate(rows)
        ],
    }


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"category": "women"}, {"Red dress", "Blue dress", "Green dress", "Black dress"}),
        ({"category": "dresses"}, {"Red dress", "Blue dress", "Green dress"}),
        ({"size": "m"}, {"Blue dress", "Green dress", "Dress shirt"}),
        ({"brand": "ZARA"}, {"Red dress", "Blue dress"}),
        ({"condition": "fair"}, {"Green dress", "Dress shirt"}),
        (
            {"min_price": Decimal("10"), "max_price": Decimal("60")},
            {"Blue dress", "Green dress", "Black dress"},
        ),
    ],
)
def test_each_filter_combines_with_the_query(backend, catalog, extra, expected):
    """Every filter narrows a query's matches (sizes and brands ignore case)."""
    if "category" in extra:
        extra = {**extra, "category": catalog[extra["category"]]}
    found = set(ids(backend, q="dress", **extra))
    titles = {x.title for x in catalog["items"] if x.pk in found}
    assert titles == expected


def _real_count(filters: ListingFilters) -> int:
    category_ids = (
        selectors.category_descendant_ids(filters.category.pk) if filters.category else None
    )
    text = text_match(filters.q)
    return listings_matching(filters, text=text, category_ids=category_ids).count()


@pytest.mark.parametrize(
    "selection",
    [{}, {"size": "M"}, {"brand": "mango"}, {"condition": "good", "min_price": Decimal("10")}],
)
def test_exact_facet_counts_agree_with_the_results(backend, catalog, selection):
    """Each facet value's count is what choosing it (and keeping the other filters) finds."""
    filters = ListingFilters(q="dress", **selection)
    page = backend.search(filters, per_page=24)
    assert page.total == _real_count(filters)
    assert not page.total_is_lower_bound
    for name in ("size", "brand", "condition"):
        for value in next(f for f in page.facets if f.name == name).values:
            assert not value.selected or value.value.lower() == str(selection[name]).lower()
            chosen = ListingFilters(**{**filters.__dict__, name: value.value})
            assert value.count == _real_count(chosen), (name, value)
    for value in next(f for f in page.facets if f.name == "price").values:
        low, high = search_facets.price_band(value.value)
        chosen = ListingFilters(**{**filters.__dict__, "min_price": low, "max_price": high})
        assert value.count == _real_count(chosen), value
    for value in next(f for f in page.facets if f.name == "category").values:
        chosen = ListingFilters(**{**filters.__dict__, "category": catalog[value.value]})
        assert value.count == _real_count(chosen), value


def test_category_facet_lists_children_of_the_current_category(backend, catalog):
    """On a category, the category facet counts its children (with their subtrees)."""
    top = search(backend, q="dress")
    assert facet(top, "category") == {"Women": 4, "Men": 1}
    inside = search(backend, q="dress", category=catalog["women"])
    assert facet(inside, "category") == {"Dresses": 3}


def test_large_results_cap_the_total_and_estimate_facets(backend, catalog, monkeypatch):
    """Past the sample, counts are estimates (approximate) and the total a lower bound."""
    monkeypatch.setattr(search_facets, "SAMPLE_SIZE", 2)
    monkeypatch.setattr(search_engine, "TOTAL_CAP", 3)
    page = search(backend, q="dress")
    assert page.total == 3
    assert page.total_is_lower_bound
    assert all(f.approximate for f in page.facets)
    small = search(backend, q="coat")
    assert small.total == 1
    assert not small.total_is_lower_bound
    assert not any(f.approximate for f in small.facets)


# --- Sorting and cursors -----------------------------------------------------------------


@pytest.fixture
def ties():
    """Eleven matches with equal prices and equal publication times in groups."""
    return [
        item(f"Striped top {n}", price=10 + n // 4, minutes_ago=n // 3, description="top")
        for n in range(11)
    ]


@pytest.fixture(params=["small result", "large result"])
def sample_size(request, monkeypatch) -> str:
    """Run a test on a small result (the sample holds every match) and as if the result
    were large (a sample of 4, 5 relevance candidates): the SQL keyset walks."""
    if request.param == "large result":
        monkeypatch.setattr(search_facets, "SAMPLE_SIZE", 4)
        monkeypatch.setattr(search_engine, "CANDIDATES", 5)
        monkeypatch.setattr(search_engine, "TOTAL_CAP", 6)
    return request.param


@pytest.mark.parametrize("sort", ["relevance", "newest", "price_asc", "price_desc"])
@pytest.mark.parametrize("condition", ["", "good"])
def test_cursor_pages_return_every_match_exactly_once(backend, ties, sort, condition, sample_size):
    """Walking the next cursors with 3 per page visits each match once, in sort order."""
    item("Plain trousers")  # not a match
    fair = item("Striped fair top", condition="fair")  # filtered out by condition=good
    expected = [x.pk for x in ties] + ([] if condition else [fair.pk])
    found = every_page(backend, per_page=3, q="striped", sort=sort, condition=condition)
    assert len(found) == len(set(found))
    if sort == "relevance" and sample_size == "large result":
        assert len(found) == 5  # only the 5 freshest matches are ranked
        return
    assert sorted(found) == sorted(expected)
    all_at_once = ids(backend, q="striped", sort=sort, per_page=100, condition=condition)
    assert found == all_at_once


@pytest.mark.parametrize("sort", ["relevance", "newest", "price_desc"])
def test_previous_cursor_returns_the_page_before(backend, ties, sort, sample_size):
    """Previous from page 3 gives page 2, and from page 2 the first page (without previous)."""

    def page(cursor: str = ""):
        return search(backend, per_page=2, q="striped", sort=sort, cursor=cursor)

    one = page()
    two = page(one.next_cursor)
    three = page(two.next_cursor)
    assert three.ids
    back_two = page(three.previous_cursor)
    assert back_two.ids == two.ids
    back_one = page(back_two.previous_cursor)
    assert back_one.ids == one.ids
    assert one.previous_cursor == ""


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "a" * 5000,
        "eyJzIjoibmV3ZXN0In0:1abc:forged",
        "\x00",
        "%00",
    ],
)
def test_tampered_or_foreign_cursor_gives_the_first_page(backend, ties, cursor):
    """A cursor that isn't ours, was edited, or belongs to another sort gives page 1."""
    first = search(backend, per_page=3, q="striped", sort="newest")
    assert search(backend, per_page=3, q="striped", sort="newest", cursor=cursor).ids == first.ids
    edited = first.next_cursor[:-2] + ("AA" if not first.next_cursor.endswith("AA") else "BB")
    assert search(backend, per_page=3, q="striped", cursor=edited).ids == first.ids
    price_cursor = search(backend, per_page=3, q="striped", sort="price_asc").next_cursor
    assert search(backend, per_page=3, q="striped", cursor=price_cursor).ids == first.ids


# --- Suggestions and the digest's selector ----------------------------------------------


def test_suggest_lists_listings_then_brands_then_categories(backend):
    """Suggestions: fresh listings matching the title, then brands by prefix, then categories."""
    patagonia = CategoryFactory(name="Patagonia outlet", slug="patagonia-outlet")
    fleece = item("Patagonia fleece", brand="Patagonia", price=40, minutes_ago=5)
    ListingImageFactory(listing=fleece, position=0)
    item("Patagonia vest", brand="Patagonia", minutes_ago=1)
    item("Old anorak", brand="Patagonia", minutes_ago=9)  # title doesn't match
    item("Patagonia tee", brand="Patagonia", status="sold")  # not for sale
    found = backend.suggest("patag", limit=6)
    assert [(s.kind, s.label) for s in found] == [
        ("listing", "Patagonia vest"),
        ("listing", "Patagonia fleece"),
        ("brand", "Patagonia"),
        ("category", "Patagonia outlet"),
    ]
    assert (found[1].price, found[1].currency) == (Decimal("40.00"), "EUR")
    assert found[1].thumbnail_url.startswith("/media/")
    assert found[1].url == fleece.get_absolute_url()
    assert found[2].url == "/browse/?brand=Patagonia"
    assert found[3].url == patagonia.get_absolute_url()
    assert backend.suggest("", limit=6) == ()


def test_listing_suggestions_follow_the_vocabulary(backend):
    """Suggestions look in the vocabulary first: listings whose words it lacks are offered
    after its next refresh (search finds them at once), rare words still come newest first."""
    hat = item("Bowler hat", minutes_ago=50)
    cap = item("Bowler cap", minutes_ago=5)
    vocabulary_refresh()
    assert [s.label for s in backend.suggest("bowl", limit=4) if s.kind == "listing"] == [
        cap.title,
        hat.title,
    ]
    onesie = item("Unicorn onesie")
    assert [s for s in backend.suggest("unicor", limit=4) if s.kind == "listing"] == []
    assert ids(backend, q="unicor") == [onesie.pk]
    vocabulary_refresh()
    assert [s.label for s in backend.suggest("unicor", limit=4)] == [onesie.title]


def test_the_worker_refreshes_the_vocabulary():
    """search_words_refresh is on the worker's schedule and rebuilds the vocabulary."""
    from django.core.management import call_command

    from ops.jobs import SCHEDULE

    assert "search_words_refresh" in [name for name, _every, _args in SCHEDULE]
    item("Corduroy blazer")
    call_command("search_words_refresh", verbosity=0)
    titles = SearchWord.objects.filter(listings__gt=0).values_list("word", flat=True)
    assert set(titles) == {"corduroy", "blazer"}


def test_listings_search_selector_matches_like_the_page(backend, catalog):
    """The digest's selector finds exactly what the search page finds for the same filters."""
    for filters in (
        ListingFilters(q="dress"),
        ListingFilters(q="dres", size="m"),
        ListingFilters(q='"red dress" or coat'),
        ListingFilters(q="dress -zara", category=catalog["women"]),
    ):
        selected = {x.pk for x in selectors.listings_search(filters=filters)}
        assert selected == set(ids(backend, **filters.__dict__))


def test_index_listings_is_a_no_op(backend):
    """The generated column keeps itself up to date: nothing to index."""
    listing = item("Denim jacket")
    assert backend.index_listings([listing.pk]) is None
    listing.title = "Suede boots"
    listing.save(update_fields=["title"])
    assert ids(backend, q="suede") == [listing.pk]


@pytest.mark.parametrize("matching", [3, 30])
def test_suggestions_run_the_same_few_queries_however_many_listings_match(
    client, matching, django_assert_num_queries
):
    """The suggest endpoint costs the same five queries (vocabulary look-ups, listings, their
    photos, brands; categories come from the cached tree) whether 3 or 30 listings match."""
    for n in range(matching):
        ListingImageFactory(
            listing=item(f"Carhartt corduroy jacket {n}", brand="Carhartt", minutes_ago=n)
        )
    vocabulary_refresh()
    selectors.category_tree()  # warm, as on a running site
    with django_assert_num_queries(5):
        response = client.get("/api/search/suggest", {"q": "carh"})
    suggestions = response.json()["suggestions"]
    assert suggestions[0]["label"].startswith("Carhartt corduroy jacket")
    assert suggestions[0]["thumbnail"]
    assert {"kind": "brand", "label": "Carhartt"}.items() <= next(
        s for s in suggestions if s["kind"] == "brand"
    ).items()
