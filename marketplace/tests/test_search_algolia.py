"""Algolia: indexing after commit, search and suggest mapped both ways, the fallback to the
database on any failure, search_reindex and the partial-keys check. The real SDK talks to a
local fake Algolia (marketplace/tests/algolia_server.py)."""

import logging
from decimal import Decimal
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

import marketplace.search
from accounts.tests.factories import UserFactory
from marketplace.exceptions import SearchEngineError
from marketplace.models import Listing
from marketplace.search import ListingFilters, SearchPage, Suggestion, algolia, sync
from marketplace.services import (
    ListingDetails,
    listing_delete,
    listing_mark_sold,
    listing_publish,
    listing_release_stock,
    listing_reserve_stock,
    listing_unpublish,
    listing_update,
    listings_lock,
)
from marketplace.services.moderation import listing_set_hidden, member_set_banned
from marketplace.tests.algolia_server import ADMIN_KEY, APP_ID, SEARCH_KEY, FakeAlgolia
from marketplace.tests.factories import CategoryFactory, ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db
INDEX = "test_listings"


class RecordingFallback:
    """Stands in for the database backend (postgres.py/simple.py live on another branch)."""

    name = "fallback"

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def search(self, filters, *, cursor="", per_page):
        self.calls.append(("search", filters.q, cursor, per_page))
        return SearchPage(ids=(), total=0, backend=self.name)

    def suggest(self, q, *, limit):
        self.calls.append(("suggest", q, limit))
        return (Suggestion(kind="brand", label="From the database", url="/browse/"),)

    def index_listings(self, listing_ids):
        self.calls.append(("index", list(listing_ids)))


@pytest.fixture
def fallback(monkeypatch):
    fallback = RecordingFallback()
    monkeypatch.setattr(marketplace.search, "database_backend", lambda: fallback)
    return fallback


@pytest.fixture
def fake(settings, monkeypatch, fallback):
    """Algolia switched on, the SDK pointed at a local fake, with short timeouts."""
    monkeypatch.setattr(algolia, "CONNECT_TIMEOUT_MS", 500)
    monkeypatch.setattr(algolia, "READ_TIMEOUT_MS", 300)
    monkeypatch.setattr(algolia, "WRITE_TIMEOUT_MS", 300)
    with FakeAlgolia() as server:
        settings.ALGOLIA_APP_ID = APP_ID
        settings.ALGOLIA_SEARCH_KEY = SEARCH_KEY
        settings.ALGOLIA_ADMIN_KEY = ADMIN_KEY
        settings.ALGOLIA_INDEX_NAME = INDEX
        settings.ALGOLIA_HOSTS = [server.host]
        yield server


@pytest.fixture
def backend(fake, fallback):
    return marketplace.search.get_backend()


@pytest.fixture
def catalog(fake):
    """Women > Jackets, Women > Fleece, Men; three listings for sale and a draft, indexed
    (in a configured index: the sorts need their replicas)."""
    algolia.configure_index()
    women = CategoryFactory(name="Women", slug="women")
    jackets = CategoryFactory(name="Jackets", slug="women-jackets", parent=women)
    fleece = CategoryFactory(name="Fleece", slug="women-fleece", parent=women)
    men = CategoryFactory(name="Men", slug="men")
    levis = ListingFactory(
        title="Denim jacket", brand="Levi's", size="M", category=jackets, price=Decimal("25.00")
    )
    patagonia = ListingFactory(
        title="Fleece jacket",
        brand="Patagonia",
        size="L",
        condition=Listing.Condition.LIKE_NEW,
        category=fleece,
        price=Decimal("80.00"),
    )
    mens = ListingFactory(
        title="Trucker jacket", brand="Levi's", size="L", category=men, price=Decimal("40.00")
    )
    draft = ListingFactory(title="Draft jacket", draft=True, category=men)
    marketplace.search.get_backend().index_listings([levis.pk, patagonia.pk, mens.pk, draft.pk])
    return {
        "women": women,
        "jackets": jackets,
        "men": men,
        "levis": levis,
        "patagonia": patagonia,
        "mens": mens,
        "draft": draft,
    }


def last_queries(fake: FakeAlgolia) -> list[dict]:
    return fake.calls("/queries")[-1]["body"]["requests"]


def facet(page: SearchPage, name: str) -> dict[str, tuple[int, bool]]:
    found = next(f for f in page.facets if f.name == name)
    return {v.value: (v.count, v.selected) for v in found.values}


# --- Records and indexing --------------------------------------------------------------------


def test_index_listings_saves_for_sale_records_and_deletes_the_others(catalog, fake):
    """A listing for sale gets its full record (ancestor categories, exact price string); a
    draft's objectID is deleted, in one batch request with the admin key."""
    levis = catalog["levis"]
    ListingImageFactory(listing=levis)
    fake.records(INDEX)[str(catalog["draft"].pk)] = {"objectID": str(catalog["draft"].pk)}
    marketplace.search.get_backend().index_listings([levis.pk, catalog["draft"].pk])
    record = fake.records(INDEX)[str(levis.pk)]
    assert record["category_ids"] == [catalog["women"].pk, catalog["jackets"].pk]
    assert record["category_names"] == ["Women", "Jackets"]
    assert record["price"] == 25.0
    assert record["price_display"] == "25.00"
    assert record["brand_key"] == "levi's"
    assert record["url"] == levis.get_absolute_url()
    assert record["thumbnail_url"].startswith("/media/listings/")
    assert record["seller"] == levis.seller.username
    assert record["published_at"] == int(levis.published_at.timestamp())
    assert str(catalog["draft"].pk) not in fake.records(INDEX)
    batch = fake.calls("/batch")[-1]["body"]["requests"]
    assert [r["action"] for r in batch] == ["updateObject", "deleteObject"]


def test_index_listings_query_count_is_constant(catalog, django_assert_max_num_queries):
    """Indexing a batch costs the same few queries whatever its size."""
    ids = [ListingFactory(category=catalog["men"]).pk for _ in range(6)]
    backend = marketplace.search.get_backend()
    with django_assert_max_num_queries(3):
        backend.index_listings(ids)


def test_listing_changes_reach_the_index_after_commit(
    catalog, fake, django_capture_on_commit_callbacks
):
    """Publish, edit, unpublish, sell and delete each update or remove the record after
    commit, not before."""
    listing = ListingFactory(draft=True, with_image=True, category=catalog["men"])
    seller, key = listing.seller, str(listing.pk)
    with django_capture_on_commit_callbacks(execute=True):
        listing_publish(user=seller, listing_id=listing.pk)
        assert key not in fake.records(INDEX)
    assert fake.records(INDEX)[key]["title"] == listing.title

    details = ListingDetails.of(listing)
    changed = ListingDetails(**{**details.values(), "title": "Renamed", "price": Decimal("9.99")})
    with django_capture_on_commit_callbacks(execute=True):
        listing_update(user=seller, listing_id=listing.pk, details=changed)
    assert fake.records(INDEX)[key]["title"] == "Renamed"
    assert fake.records(INDEX)[key]["price_display"] == "9.99"

    with django_capture_on_commit_callbacks(execute=True):
        listing_unpublish(user=seller, listing_id=listing.pk)
    assert key not in fake.records(INDEX)
    with django_capture_on_commit_callbacks(execute=True):
        listing_publish(user=seller, listing_id=listing.pk)
    assert key in fake.records(INDEX)
    with django_capture_on_commit_callbacks(execute=True):
        listing_mark_sold(user=seller, listing_id=listing.pk)
    assert key not in fake.records(INDEX)

    other = catalog["mens"]
    with django_capture_on_commit_callbacks(execute=True):
        listing_delete(user=other.seller, listing_id=other.pk)
    assert str(other.pk) not in fake.records(INDEX)


def test_a_rolled_back_change_is_not_indexed(catalog, fake, django_capture_on_commit_callbacks):
    """Nothing is pushed for a transaction that rolls back."""
    listing = catalog["levis"]

    def sell_then_fail() -> None:
        with transaction.atomic():
            listing_mark_sold(user=listing.seller, listing_id=listing.pk)
            raise RuntimeError("boom")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        sell_then_fail()
    assert not [c for c in callbacks if getattr(c, "func", None) is sync._enqueue]
    assert str(listing.pk) in fake.records(INDEX)


def test_last_unit_sold_leaves_the_index_and_a_release_brings_it_back(
    catalog, fake, django_capture_on_commit_callbacks
):
    """Reserving the last unit removes the record; releasing it puts the listing back."""
    listing, key = catalog["levis"], str(catalog["levis"].pk)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        locked = listings_lock(listing_ids=[listing.pk])[listing.pk]
        listing_reserve_stock(listing=locked, quantity=1)
    assert key not in fake.records(INDEX)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        locked = listings_lock(listing_ids=[listing.pk])[listing.pk]
        listing_release_stock(listing=locked, quantity=1)
    assert key in fake.records(INDEX)


def test_hide_restore_and_seller_ban_update_the_index(
    catalog, fake, django_capture_on_commit_callbacks
):
    """Hiding a listing or banning its seller removes it; restoring or unbanning restores it."""
    staff = UserFactory(is_staff=True)
    listing, key = catalog["patagonia"], str(catalog["patagonia"].pk)
    with django_capture_on_commit_callbacks(execute=True):
        listing_set_hidden(listing_id=listing.pk, hidden=True, actor=staff)
    assert key not in fake.records(INDEX)
    with django_capture_on_commit_callbacks(execute=True):
        listing_set_hidden(listing_id=listing.pk, hidden=False, actor=staff)
    assert key in fake.records(INDEX)
    with django_capture_on_commit_callbacks(execute=True):
        member_set_banned(user_id=listing.seller_id, banned=True, actor=staff)
    assert key not in fake.records(INDEX)
    with django_capture_on_commit_callbacks(execute=True):
        member_set_banned(user_id=listing.seller_id, banned=False, actor=staff)
    assert key in fake.records(INDEX)


def test_ban_admin_action_removes_the_sellers_listings(
    catalog, fake, client, django_capture_on_commit_callbacks
):
    """The admin's "ban" action goes through the catalog, so the seller's items leave search."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = catalog["levis"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "ban_users", "_selected_action": [listing.seller_id]},
        )
    assert response.status_code == 302
    assert str(listing.pk) not in fake.records(INDEX)


def test_category_rename_in_admin_reindexes_its_subtree(
    catalog, fake, client, django_capture_on_commit_callbacks
):
    """Renaming a category re-indexes the listings under it with the new name."""
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    women = catalog["women"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:marketplace_category_change", args=[women.pk]),
            {"name": "Womenswear", "slug": "women", "parent": "", "position": 0},
        )
    assert response.status_code == 302
    records = fake.records(INDEX)
    assert records[str(catalog["levis"].pk)]["category_names"] == ["Womenswear", "Jackets"]
    assert records[str(catalog["patagonia"].pk)]["category_names"][0] == "Womenswear"


def test_without_algolia_changes_enqueue_nothing(
    settings, fallback, django_capture_on_commit_callbacks
):
    """With no ALGOLIA_* keys, services register no indexing work at all."""
    settings.ALGOLIA_APP_ID = ""
    listing = ListingFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        listing_mark_sold(user=listing.seller, listing_id=listing.pk)
    assert not [c for c in callbacks if getattr(c, "func", None) is sync._enqueue]


def test_failed_indexing_is_logged_and_never_breaks_the_change(
    catalog, fake, caplog, django_capture_on_commit_callbacks
):
    """Algolia answering 500 during indexing: the listing is still sold, a warning says
    search_reindex will catch up."""
    listing = catalog["levis"]
    fake.mode = "error"
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        listing_mark_sold(user=listing.seller, listing_id=listing.pk)
    listing.refresh_from_db()
    assert listing.status == Listing.Status.SOLD
    assert "search_reindex will catch up" in caplog.text


# --- Search --------------------------------------------------------------------------------


def test_search_maps_filters_to_algolia_and_results_back(catalog, backend, fake):
    """Category subtree, brand (any case), size, condition and price become facet/numeric
    filters; the hits come back as listing ids with the total."""
    filters = ListingFilters(
        q="jacket",
        category=catalog["women"],
        brand="LEVI'S",
        size="m",
        condition=Listing.Condition.GOOD,
        min_price=Decimal("10.50"),
        max_price=Decimal("30"),
        sort="relevance",
    )
    page = backend.search(filters, per_page=24)
    assert page.ids == (catalog["levis"].pk,)
    assert page.total == 1
    assert page.backend == "algolia"
    main = last_queries(fake)[0]
    assert main["indexName"] == INDEX
    assert main["query"] == "jacket"
    assert sorted(main["facetFilters"]) == sorted(
        [
            f"category_ids:{catalog['women'].pk}",
            "brand_key:levi's",
            "size_key:m",
            "condition:good",
        ]
    )
    assert main["numericFilters"] == ["price>=10.5", "price<=30.0"]


def test_facet_counts_ignore_their_own_selection(catalog, backend, fake):
    """Choosing a brand keeps the other brands' counts (a query without that filter) while the
    other facets count within the choice; categories list the chosen one's children."""
    page = backend.search(
        ListingFilters(category=catalog["women"], brand="Levi's", sort="newest"), per_page=24
    )
    assert page.ids == (catalog["levis"].pk,)
    assert facet(page, "brand") == {"Levi's": (1, True), "Patagonia": (1, False)}
    assert facet(page, "size") == {"M": (1, False)}
    assert facet(page, "category") == {"women-jackets": (1, False)}
    assert facet(page, "condition") == {"good": (1, False)}
    requests = last_queries(fake)
    assert len(requests) == 2
    assert requests[1]["facets"] == ["brand"]
    assert requests[1]["hitsPerPage"] == 0
    assert "brand_key:levi's" not in requests[1]["facetFilters"]


def test_top_level_categories_are_the_category_facet_without_a_category(catalog, backend):
    """Without a category, the facet counts each top-level category's whole subtree."""
    page = backend.search(ListingFilters(q="jacket"), per_page=24)
    assert facet(page, "category") == {"women": (2, False), "men": (1, False)}
    assert page.total == 3


@pytest.mark.parametrize(
    ("sort", "replica", "order"),
    [
        ("price_asc", "price_asc", ["levis", "mens", "patagonia"]),
        ("price_desc", "price_desc", ["patagonia", "mens", "levis"]),
    ],
)
def test_sorts_query_their_replica(catalog, backend, fake, sort, replica, order):
    """A price sort searches its standard replica, which ranks by price first."""
    page = backend.search(ListingFilters(sort=sort), per_page=24)
    assert last_queries(fake)[0]["indexName"] == f"{INDEX}_{replica}"
    assert page.ids == tuple(catalog[name].pk for name in order)


def test_cursor_is_an_algolia_page_and_a_tampered_one_is_page_zero(catalog, backend, fake):
    """Cursors walk the pages; a cursor that isn't a reachable page number gives page 0."""
    first = backend.search(ListingFilters(), per_page=2)
    assert (first.next_cursor, first.previous_cursor) == ("1", "")
    second = backend.search(ListingFilters(), cursor=first.next_cursor, per_page=2)
    assert (second.next_cursor, second.previous_cursor) == ("", "0")
    assert set(first.ids) | set(second.ids) == {
        catalog[n].pk for n in ("levis", "patagonia", "mens")
    }
    assert not set(first.ids) & set(second.ids)
    for tampered in ("abc", "-1", "01", "999", "1e3", " 1"):
        backend.search(ListingFilters(), cursor=tampered, per_page=2)
        assert last_queries(fake)[0]["page"] == 0, tampered


def test_no_cursor_past_algolias_pagination_limit(catalog, backend, fake, monkeypatch):
    """Pages stop where Algolia's paginationLimitedTo does, even when nbHits is larger."""
    monkeypatch.setattr(algolia, "PAGINATION_LIMIT", 2)
    page = backend.search(ListingFilters(), cursor="0", per_page=2)
    assert page.total == 3
    assert page.next_cursor == ""


def test_suggest_lists_listings_brands_then_categories(catalog, backend, fake):
    """Listings from the index (exact price back from its string), brands from a facet-value
    search in the same request, then categories from the database's tree."""
    suggestions = backend.suggest("fle", limit=5)
    kinds = [s.kind for s in suggestions]
    assert kinds == ["listing", "category"]
    listing = suggestions[0]
    assert listing.label == "Fleece jacket"
    assert listing.price == Decimal("80.00")
    assert listing.url == catalog["patagonia"].get_absolute_url()
    assert suggestions[1].label == "Women › Fleece"
    assert suggestions[1].url == reverse("marketplace:category", args=["women-fleece"])
    brands = backend.suggest("pata", limit=5)
    assert [(s.kind, s.label, s.url) for s in brands] == [
        ("listing", "Fleece jacket", catalog["patagonia"].get_absolute_url()),
        ("brand", "Patagonia", "/browse/?brand=Patagonia"),
    ]
    assert len(fake.calls("/queries")) == 2


# --- Failures fall back to the database ------------------------------------------------------


@pytest.mark.parametrize("failure", ["error", "hang", "refused", "bad_key"])
def test_any_algolia_failure_falls_back_to_the_database(
    catalog, backend, fake, fallback, settings, caplog, failure
):
    """A 500, a timeout, a refused connection or a wrong key: the database backend answers
    the search and the suggestions, with a warning in the log."""
    if failure in {"error", "hang"}:
        fake.mode = failure
    elif failure == "refused":
        settings.ALGOLIA_HOSTS = ["http://127.0.0.1:9"]
    else:
        settings.ALGOLIA_SEARCH_KEY = "wrong"
    with caplog.at_level(logging.WARNING, logger="marketplace.search.algolia"):
        page = backend.search(ListingFilters(q="jacket"), cursor="1", per_page=24)
    assert page.backend == "fallback"
    assert fallback.calls == [("search", "jacket", "1", 24)]
    assert "answering from the database" in caplog.text
    fake.release()


def test_after_a_failure_algolia_is_skipped_for_a_while(catalog, backend, fake, fallback):
    """Once Algolia failed, the next searches go straight to the database (no more waiting on
    timeouts) until the window ends."""
    fake.mode = "error"
    backend.search(ListingFilters(), per_page=24)
    calls = len(fake.requests)
    fake.mode = "ok"
    assert backend.suggest("jac", limit=3)[0].label == "From the database"
    assert backend.search(ListingFilters(), per_page=24).backend == "fallback"
    assert len(fake.requests) == calls
    from django.core.cache import cache

    cache.delete(algolia.DOWN_CACHE_KEY)
    assert backend.search(ListingFilters(), per_page=24).backend == "algolia"


def test_while_algolia_is_down_indexing_fails_fast_without_calling_it(
    catalog, backend, fake, caplog, django_capture_on_commit_callbacks
):
    """After a failed search, a listing change doesn't wait on Algolia: the task fails at once
    (logged) and the change itself goes through."""
    fake.mode = "error"
    backend.search(ListingFilters(), per_page=24)
    calls = len(fake.requests)
    listing = catalog["levis"]
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        listing_mark_sold(user=listing.seller, listing_id=listing.pk)
    assert len(fake.requests) == calls
    assert "marked down" in caplog.text


def test_a_refused_index_request_does_not_take_search_down(catalog, backend, fake, settings):
    """A 4xx on a write (here a wrong admin key) fails that indexing only; searches still use
    Algolia."""
    settings.ALGOLIA_ADMIN_KEY = "wrong"
    with pytest.raises(SearchEngineError, match="Invalid Application-ID or API key"):
        backend.index_listings([catalog["levis"].pk])
    assert backend.search(ListingFilters(), per_page=24).backend == "algolia"


# --- search_reindex ------------------------------------------------------------------------


def test_search_reindex_configures_pushes_in_batches_and_drops_stale_records(
    catalog, fake, monkeypatch
):
    """Settings and replicas first, then every listing for sale in batches into a temporary
    index moved over the main one: stale records are gone, progress is printed."""
    monkeypatch.setattr(algolia, "BATCH_SIZE", 2)
    fake.records(INDEX)["999999"] = {"objectID": "999999", "title": "Stale"}
    out = StringIO()
    call_command("search_reindex", stdout=out)
    expected = {str(catalog[n].pk) for n in ("levis", "patagonia", "mens")}
    assert set(fake.records(INDEX)) == expected
    batches = fake.calls("/batch")[-2:]
    assert [len(b["body"]["requests"]) for b in batches] == [2, 1]
    assert all("_tmp_" in b["path"] for b in batches)
    settings = fake.settings(INDEX)
    assert settings["searchableAttributes"] == ["title", "brand", "category_names", "description"]
    assert "searchable(brand)" in settings["attributesForFaceting"]
    assert settings["replicas"] == [f"{INDEX}_newest", f"{INDEX}_price_asc", f"{INDEX}_price_desc"]
    assert fake.settings(f"{INDEX}_price_asc")["ranking"][0] == "asc(price)"
    assert not [name for name in fake.indexes if "_tmp_" in name]
    text = out.getvalue()
    assert "Indexed 2/3 listings" in text
    assert "Indexed 3/3 listings" in text
    assert "Re-indexed 3 listings" in text


def test_search_reindex_settings_only_pushes_no_records(fake):
    """--settings-only applies the settings and sends no batch."""
    call_command("search_reindex", "--settings-only", stdout=StringIO())
    assert fake.settings(INDEX)["customRanking"] == ["desc(published_at)"]
    assert fake.calls("/batch") == []


def test_search_reindex_without_algolia_says_so(settings):
    """Without the keys the command explains and exits normally."""
    settings.ALGOLIA_APP_ID = ""
    out = StringIO()
    call_command("search_reindex", stdout=out)
    assert "not configured" in out.getvalue()


def test_search_reindex_reports_an_algolia_failure(fake):
    """Algolia failing during a reindex ends the command with one clear error."""
    from django.core.management import CommandError

    fake.mode = "error"
    with pytest.raises(CommandError, match="Algolia configure failed"):
        call_command("search_reindex", stdout=StringIO())


# --- Settings --------------------------------------------------------------------------------


def test_partial_algolia_keys_fail_the_system_check_naming_the_missing_one(settings):
    """Some but not all ALGOLIA_* keys: an Error per missing variable."""
    settings.ALGOLIA_APP_ID = "APP"
    settings.ALGOLIA_SEARCH_KEY = "search"
    settings.ALGOLIA_ADMIN_KEY = ""
    errors = [e for e in run_checks() if e.id == "marketplace.E001"]
    assert [e.msg.split()[0] for e in errors] == ["ALGOLIA_ADMIN_KEY"]
    settings.ALGOLIA_ADMIN_KEY = "admin"
    assert not [e for e in run_checks() if e.id == "marketplace.E001"]
    settings.ALGOLIA_APP_ID = settings.ALGOLIA_SEARCH_KEY = settings.ALGOLIA_ADMIN_KEY = ""
    assert not [e for e in run_checks() if e.id == "marketplace.E001"]


def test_algolia_hosts_setting_builds_sdk_hosts(settings):
    """ALGOLIA_HOSTS takes host[:port] (https) and http://host:port; empty = Algolia's."""
    settings.ALGOLIA_HOSTS = ["proxy.example:8443", "http://127.0.0.1:7700"]
    hosts = algolia._hosts().read()
    assert [(h.scheme, h.url, h.port) for h in hosts] == [
        ("https", "proxy.example", 8443),
        ("http", "127.0.0.1", 7700),
    ]
    settings.ALGOLIA_HOSTS = []
    assert algolia._hosts() is None


def test_indexing_into_algolia_drops_cached_result_pages(catalog, fake, monkeypatch):
    """A result page cached between the commit and Algolia's update listed the old results:
    the indexing task marks the catalogue's pages stale once Algolia has the change."""
    from marketplace import page_cache
    from marketplace.tasks import search_index_listings

    marked = []
    monkeypatch.setattr(page_cache, "search_results_changed", lambda: marked.append("catalogue"))
    search_index_listings.enqueue([catalog["levis"].pk])
    assert marked == ["catalogue"]


@pytest.mark.django_db
def test_database_search_indexing_marks_no_pages(settings, monkeypatch):
    """The database backend is current at commit (its indexing does nothing): no extra mark."""
    from marketplace import page_cache
    from marketplace.tasks import search_index_listings

    settings.ALGOLIA_APP_ID = ""
    marked = []
    monkeypatch.setattr(page_cache, "search_results_changed", lambda: marked.append("catalogue"))
    search_index_listings.enqueue([ListingFactory().pk])
    assert marked == []
