"""Every kind of search term on PostgreSQL: what it finds, and that it reads the right index
(EXPLAIN of the queries the search really runs, on a few thousand ANALYZEd rows, the
planner free to choose) in a bounded number of queries."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from marketplace import selectors
from marketplace.models import Listing
from marketplace.search import ListingFilters
from marketplace.search import engine as search_engine
from marketplace.search import postgres as search_postgres
from marketplace.search.pg_query import analyse, build
from marketplace.search.postgres import PostgresSearchBackend
from marketplace.search.vocabulary import vocabulary_refresh
from marketplace.tests.factories import CategoryFactory, ListingFactory
from marketplace.tests.search_helpers import ids, item, plan_index_names, plan_nodes

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL full text"),
]


@pytest.fixture
def backend() -> PostgresSearchBackend:
    return PostgresSearchBackend()


# --- What each kind of term finds --------------------------------------------------------


def test_a_hyphenated_word_finds_its_titles_however_written(backend):
    """t-shirt finds "T-Shirt" and "t-shirts" (the last word is a prefix) and not a plain
    shirt; "T-SHIRT dress" needs both words."""
    tee = item("Striped T-Shirt")
    tees = item("Two t-shirts", minutes_ago=1)
    item("Oxford shirt", minutes_ago=2)
    dress = item("T-shirt dress", minutes_ago=3)
    assert set(ids(backend, q="t-shirt")) == {tee.pk, tees.pk, dress.pk}
    assert ids(backend, q="T-SHIRT dress") == [dress.pk]
    assert set(ids(backend, q="t-s")) == {tee.pk, tees.pk, dress.pk}


def test_compounds_apostrophes_and_short_words_match(backend):
    """v-neck, levi's / levis, one- and two-letter words and a quoted phrase with a compound
    all find their listings."""
    vneck = item("Cashmere v-neck jumper")
    levis = item("Levi's 501 jeans", minutes_ago=1)
    xs = item("Vest size xs", minutes_ago=2)
    assert ids(backend, q="v-neck") == [vneck.pk]
    assert ids(backend, q="levis 501") == [levis.pk]
    assert ids(backend, q="levi's") == [levis.pk]
    assert ids(backend, q="xs") == [xs.pk]
    assert ids(backend, q="x") == [xs.pk]  # a prefix of xs
    assert ids(backend, q='"cashmere v-neck"') == [vneck.pk]
    assert ids(backend, q="jumper -v-neck") == []


def test_a_prefix_finds_what_the_digest_finds_with_or_without_a_vocabulary(backend):
    """The page names the vocabulary's words for a prefix; it finds exactly the listings the
    saved-search digest (the plain prefix) finds, before and after a refresh."""
    for n, title in enumerate(["Patagonia fleece", "Patagonian wool hat", "Pattern dress"]):
        item(title, minutes_ago=n)
    queries = ("pat", "patag", "patagonia", "fleece pat", "pat -fleece", "dress or pata")

    def same() -> None:
        for q in queries:
            digest = {x.pk for x in selectors.listings_search(filters=ListingFilters(q=q))}
            assert set(ids(backend, q=q)) == digest, q

    same()
    vocabulary_refresh()
    same()


def test_a_word_new_since_the_refresh_is_found_once_typed_whole(backend):
    """A prefix matches the words the vocabulary knows; a word first used since its last
    refresh is found typed in full (and by prefix after the refresh)."""
    item("Patagonia fleece")
    vocabulary_refresh()
    newer = item("Patagoniax limited edition", minutes_ago=1)
    assert newer.pk in ids(backend, q="patagoniax")
    vocabulary_refresh()
    assert newer.pk in ids(backend, q="patag")


# --- The rewritten tsquery (no database) -------------------------------------------------


def test_the_prefix_is_replaced_by_the_words_it_begins_when_they_are_few():
    """With every vocabulary word of a prefix known, the match names them instead of the
    prefix (GIN answers plain words fast); with many, the prefix stays; ranking keeps it."""
    few = build("'patag':*", last_word="patag", completions=(("patagonia", 9, 12),))
    assert few.match == "( 'patag' | 'patagonia' )"
    assert few.rank == "'patag':*"
    assert few.title == "( 'patag':A | 'patagonia':A )"
    many = tuple((f"c{n}", 1, 1) for n in range(8))
    assert build("'c':*", last_word="c", completions=many).match.startswith("( 'c':* | 'c' |")


def test_an_excluded_or_quoted_last_word_gets_no_completions():
    """-word and a closed phrase are not prefixes: nothing is added to them."""
    completions = (("zara", 5, 5),)
    excluded = build("'dress' & !'zar':*", last_word="zar", completions=completions)
    assert excluded.match == "'dress' & ! 'zar':*"
    assert excluded.terms == (("dress", False),)
    phrase = build("!( 'blue' <-> 'zar':* )", last_word="zar", completions=completions)
    assert "zara" not in phrase.match


def test_vocabulary_words_are_quoted_in_the_tsquery():
    """A vocabulary word with a quote or a backslash can't break the tsquery syntax."""
    odd = build("'o':*", last_word="o", completions=(("o'x\\y", 1, 1),))
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::tsquery::text", [odd.match])
        assert "o''x" in cursor.fetchone()[0]


def test_postgresql_parses_compounds_as_one_lexeme():
    """pg_sql's reading: t-shirt alone is one lexeme, inside a longer phrase it stays a
    phrase; the last word is a prefix."""
    assert analyse("t-shirt", prefix=True).rank == "'t-shirt':*"
    assert analyse("v-neck t-shirt", prefix=False).rank == "'v-neck' & 't-shirt'"
    assert "<->" in analyse('"blue t-shirt"', prefix=False).rank


# --- Plans and query counts on a catalog of thousands ------------------------------------

ROWS = 4000
COLOURS = ["black", "navy", "cream", "green", "red", "blue", "pink", "camel"]
NOUNS = ["T-shirt", "jumper", "dress", "jacket", "T-shirt", "trousers", "T-shirt", "skirt"]


@pytest.fixture
def catalog():
    """ROWS listings for sale (a T-shirt in 3 of 8, every colour in 1 of 8, the same
    description everywhere), 5 bowler hats, ANALYZEd, with the vocabulary refreshed."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE marketplace_listing CASCADE")
    seller = ListingFactory().seller
    category = CategoryFactory(name="Shelf", slug="shelf")
    now = timezone.now()
    rows = [
        Listing(
            seller=seller,
            title=f"{COLOURS[n % 8]} {NOUNS[(n // 8) % 8]}",
            slug="item",
            description="Worn a handful of times, kept with care.",
            category=category,
            category_names="Shelf",
            brand="",
            size="M",
            condition=Listing.Condition.GOOD,
            price=Decimal(5 + n % 200),
            status=Listing.Status.ACTIVE,
            published_at=now - timedelta(minutes=n),
        )
        for n in range(ROWS)
    ]
    for n in range(5):
        rows[n * 700 + 1].title = f"Bowler hat {n}"
    Listing.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list('listing_search'::regclass)")
        cursor.execute("ANALYZE marketplace_listing")
        cursor.execute("ANALYZE accounts_user")
    vocabulary_refresh()


def searched(q: str, **filters) -> tuple[list[dict], object]:
    """The queries one search runs (a fresh backend, as per request; the category tree
    cached, as on a running site) and its page."""
    selectors.category_tree()
    with CaptureQueriesContext(connection) as captured:
        page = PostgresSearchBackend().search(ListingFilters(q=q, **filters), per_page=24)
    return captured.captured_queries, page


def sample_plans(queries: list[dict]) -> list[dict]:
    """EXPLAIN (JSON) of each query that reads the listings' search vectors."""
    plans = []
    with connection.cursor() as cursor:
        for query in queries:
            sql = query["sql"]
            if sql.startswith("SELECT") and "search_vector @@" in sql and "LIMIT" in sql:
                cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
                plan = cursor.fetchone()[0]
                plans.append(plan[0] if isinstance(plan, list) else json.loads(plan)[0])
    return plans


def estimated_rows(plan: dict, relation: str = "marketplace_listing") -> float:
    """The planner's rows for the scan of `relation` (before the LIMIT)."""
    return next(n["Plan Rows"] for n in plan_nodes(plan) if n.get("Relation Name") == relation)


def test_a_hyphenated_word_is_one_lexeme_the_planner_estimates_well(catalog):
    """t-shirt (1 500 of 4 000 listings) is searched as the lexeme 't-shirt', not the phrase
    't-shirt' <-> 't' <-> 'shirt' whose frequency the planner multiplies (about 200)."""
    queries, page = searched("t-shirt")
    assert page.total_is_lower_bound
    plans = sample_plans(queries)
    assert plans
    assert all("<->" not in query["sql"] for query in queries if "search_vector @@" in query["sql"])
    assert 750 <= estimated_rows(plans[0]) <= 3000


def test_a_word_in_most_listings_walks_the_newest_index(catalog):
    """worn (every description): the sample walks listing_active_newest and stops."""
    plans = sample_plans(searched("worn")[0])
    assert "listing_active_newest" in plan_index_names(plans[0])


def test_a_rare_word_and_its_prefix_read_the_text_index(catalog):
    """bowler (5 listings), typed whole or as "bowl", is read through listing_search; the
    prefix is matched as the vocabulary's words (no GIN partial match)."""
    for q in ("bowler", "bowl"):
        queries, page = searched(q)
        assert page.total == 5, q
        plans = sample_plans(queries)
        assert all("listing_search" in plan_index_names(plan) for plan in plans), q
    listing_queries = [q["sql"] for q in searched("bowl")[0] if "search_vector @@" in q["sql"]]
    assert listing_queries
    assert not any(":*" in sql for sql in listing_queries)


def test_common_words_rarely_together_read_the_text_index(catalog):
    """bowler + care (in every description): the vocabulary says the rarest word is rare, so
    the text index intersects them instead of walking the newest-first index."""
    queries, page = searched("care bowler")
    assert page.total == 5
    assert all("listing_search" in plan_index_names(plan) for plan in sample_plans(queries))


def test_several_common_words_look_among_the_newest_first(catalog, monkeypatch):
    """black t-shirt (1 in 8 x 3 in 8, a frequency the planner can't know): the first sample
    query reads only listings published since the RECENT-th newest (a constant the planner
    sees), with a match no index answers, so it walks that range of listing_active_newest
    rather than every match through the text index."""
    monkeypatch.setattr(search_postgres, "RARE_WORDS", 100)  # as if the catalog were large
    # Black is in 500 listings: the 2 500 newest may hold a sample of it.
    monkeypatch.setattr(search_postgres, "RECENT", 2500)
    monkeypatch.setattr(search_engine, "RECENT", 2500)
    cache.clear()
    queries, page = searched("black t-shirt")
    assert page.ids
    assert any("OFFSET 2500" in query["sql"] for query in queries)  # the bound, then cached
    first = next(
        q["sql"] for q in queries if "search_vector" in q["sql"] and "LIMIT 301" in q["sql"]
    )
    assert "ts_match_vq" in first
    assert re.search(r'"published_at" >= \'\d{4}-', first)
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + first)
        plan = cursor.fetchone()[0]
    assert "listing_active_newest" in plan_index_names(plan)
    assert "listing_search" not in plan_index_names(plan)


@pytest.mark.parametrize(
    ("q", "filters"),
    [
        ("t-shirt", {}),
        ("black", {"sort": "relevance"}),
        ("bowl", {}),
        ("care bowler", {}),
        ("black t-shirt", {"sort": "relevance"}),
        ("t-shirt", {"min_price": Decimal("10"), "max_price": Decimal("12")}),
        ("worn", {"sort": "price_asc"}),
        ("b", {}),
    ],
)
def test_each_kind_of_term_costs_a_few_queries(catalog, q, filters):
    """Whatever the term (common, rare, prefix, several words, with filters or sorts), a
    search runs at most four queries: the analysis and at most three on the listings."""
    queries, page = searched(q, **filters)
    assert page.ids
    assert len(queries) <= 4, [query["sql"][:80] for query in queries]
