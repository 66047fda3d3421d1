"""The anonymous page cache (core.page_cache, marketplace.page_cache; issue 11): cookie-less
visitors get home, category, listing and shop pages from Redis, and a change a shopper can see
drops the pages that show it as soon as it commits."""

import re
from dataclasses import replace
from decimal import Decimal

import pytest
from django.core.cache import cache, caches
from django.core.handlers.wsgi import WSGIRequest
from django.test.client import ClientHandler
from django.urls import reverse

from accounts.tests.factories import UserFactory
from core import page_cache
from core.cache import ResilientRedisCache
from core.maintenance import maintenance_set
from core.tests.test_counters import redis_round_trips
from marketplace import selectors
from marketplace.models import Listing
from marketplace.services import listing_delete, listing_mark_sold, listing_update
from marketplace.services.listings import ListingDetails
from marketplace.services.moderation import listing_set_hidden
from marketplace.services.view_counts import listing_views_flush
from marketplace.tests.factories import CategoryFactory, ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db
NONCE = re.compile(r"'nonce-([^']+)'")


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    settings.PAGE_CACHE_SECONDS = 300


@pytest.fixture
def shop():
    seller = UserFactory(username="shop.cache", is_seller=True)
    category = CategoryFactory(slug="jackets", name="Jackets")
    listing = ListingFactory(
        seller=seller, category=category, title="Corduroy jacket", price=Decimal("25.00")
    )
    ListingImageFactory(listing=listing, position=0)
    return {"seller": seller, "category": category, "listing": listing}


def _urls(shop) -> dict[str, str]:
    return {
        "home": reverse("marketplace:home"),
        "category": reverse("marketplace:category", args=[shop["category"].slug]),
        "filtered": reverse("marketplace:category", args=[shop["category"].slug])
        + "?sort=newest&q=corduroy",
        "listing": shop["listing"].get_absolute_url(),
        "seller": reverse("marketplace:seller", args=[shop["seller"].username]),
    }


def _warm(client, urls) -> None:
    for url in urls:
        assert client.get(url)["X-Cache"] == "miss", url
        assert client.get(url)["X-Cache"] == "hit", url


def _details(listing: Listing, **changes) -> ListingDetails:
    return replace(ListingDetails.of(listing), **changes)


def test_second_anonymous_get_is_a_hit_with_no_sql(client, shop, django_assert_num_queries):
    """The first cookie-less GET renders and stores the page; the next is answered from the
    cache without a single query, the same page apart from the CSP nonce."""
    for name, url in _urls(shop).items():
        first = client.get(url)
        assert first.status_code == 200, name
        assert first["X-Cache"] == "miss", name
        with django_assert_num_queries(0):
            second = client.get(url)
        assert second.status_code == 200, name
        assert second["X-Cache"] == "hit", name
        strip = lambda body: NONCE.sub("", re.sub(r'nonce="[^"]+"', "", body))  # noqa: E731
        assert strip(second.content.decode()) == strip(first.content.decode()), name


def test_hit_sets_no_cookie_and_does_not_vary_on_cookie(client, shop):
    """A page from the cache carries no Set-Cookie and no Vary: Cookie, and keeps the
    security headers of a rendered page."""
    url = shop["listing"].get_absolute_url()
    miss = client.get(url)
    hit = client.get(url)
    assert hit["X-Cache"] == "hit"
    assert not hit.cookies
    assert "cookie" not in hit.get("Vary", "").lower()
    for header in (
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Permissions-Policy",
        "Cross-Origin-Opener-Policy",
        "Content-Type",
    ):
        assert hit[header] == miss[header], header
    assert int(hit["Content-Length"]) == len(hit.content)


def test_signed_in_member_never_gets_the_cached_page(client, shop, buyer):
    """A member's request bypasses the cache (and never stores a page) even when the
    anonymous page is cached."""
    urls = _urls(shop)
    _warm(client, urls.values())
    client.force_login(buyer)
    for name, url in urls.items():
        response = client.get(url)
        assert "X-Cache" not in response, name
        assert b"My Threadly" in response.content, name
    client.logout()
    anonymous = client.get(urls["home"])
    assert anonymous["X-Cache"] == "hit"
    assert b"My Threadly" not in anonymous.content


def test_visitor_with_a_session_bypasses_the_cache(client, shop):
    """A guest with a session (a cart) gets the rendered page, not the copy."""
    url = reverse("marketplace:home")
    _warm(client, [url])
    client.post(reverse("orders:cart_add", args=[shop["listing"].pk]))
    assert "sessionid" in client.cookies
    assert "X-Cache" not in client.get(url)


def test_visitor_with_only_a_csrf_cookie_reads_stored_pages_but_stores_none(client, shop):
    """A returning guest who once saw a form (a year-long CSRF cookie) still gets stored
    pages; a page rendered for them is not kept, as it could hold their token."""
    urls = _urls(shop)
    _warm(client, [urls["home"]])
    client.cookies["csrftoken"] = "x" * 32
    hit = client.get(urls["home"])
    assert hit["X-Cache"] == "hit"
    assert not hit.cookies
    assert [client.get(urls["seller"])["X-Cache"] for _ in range(2)] == ["miss", "miss"]
    client.cookies.clear()
    assert client.get(urls["seller"])["X-Cache"] == "miss"  # the guest's render wasn't kept


@pytest.mark.urls("tests.page_cache_urls")
def test_page_that_shows_a_csrf_token_is_never_stored(client):
    """A cacheable view whose page carries a form token sets the CSRF cookie on a cookie-less
    visit, so it is rendered every time: no visitor is served another's token."""
    first = client.get("/form/")
    assert first["X-Cache"] == "miss"
    assert "csrftoken" in first.cookies
    client.cookies.clear()
    assert client.get("/form/")["X-Cache"] == "miss"
    client.cookies["csrftoken"] = "y" * 32
    assert client.get("/form/")["X-Cache"] == "miss"  # rendered with this visitor's token


def test_hard_reload_renders_afresh_and_refreshes_the_stored_page(client, shop):
    """Cache-Control: no-cache (a browser's hard reload) skips the copy and stores the new
    render, which the next visitor gets."""
    url = shop["listing"].get_absolute_url()
    _warm(client, [url])
    # A change that bypasses the services' invalidation (a raw UPDATE).
    Listing.objects.filter(pk=shop["listing"].pk).update(title="Velvet jacket")
    assert b"Corduroy jacket" in client.get(url).content  # still the stored copy
    reloaded = client.get(url, headers={"Cache-Control": "no-cache"})
    assert reloaded["X-Cache"] == "miss"
    assert b"Velvet jacket" in reloaded.content
    after = client.get(url)
    assert after["X-Cache"] == "hit"
    assert b"Velvet jacket" in after.content
    assert client.get(url, headers={"Pragma": "no-cache"})["X-Cache"] == "miss"


def test_price_change_visible_at_once_everywhere(client, shop, django_capture_on_commit_callbacks):
    """A new price shows on the listing, home and category pages right after the commit."""
    urls = _urls(shop)
    _warm(client, urls.values())
    listing = shop["listing"]
    with django_capture_on_commit_callbacks(execute=True):
        listing_update(
            user=shop["seller"],
            listing_id=listing.pk,
            details=_details(listing, price=Decimal("31.50")),
        )
    for name in ("home", "category", "filtered", "listing", "seller"):
        response = client.get(urls[name])
        assert response["X-Cache"] == "miss", name
        assert "€31.50" in response.text, name
        assert "€25.00" not in response.text, name


@pytest.mark.parametrize("change", ["sold", "hidden", "deleted"])
def test_listing_off_sale_visible_at_once(client, shop, change, django_capture_on_commit_callbacks):
    """Sold, hidden by staff or deleted: the cached pages stop showing the listing as for
    sale as soon as the change commits."""
    urls = _urls(shop)
    _warm(client, urls.values())
    listing, seller = shop["listing"], shop["seller"]
    with django_capture_on_commit_callbacks(execute=True):
        if change == "sold":
            listing_mark_sold(user=seller, listing_id=listing.pk)
        elif change == "hidden":
            listing_set_hidden(listing_id=listing.pk, hidden=True, actor=UserFactory())
        else:
            listing_delete(user=seller, listing_id=listing.pk)
    for name in ("home", "category", "filtered"):
        response = client.get(urls[name])
        assert response["X-Cache"] == "miss", name
        assert listing.title not in response.text, name
    detail = client.get(urls["listing"])
    if change == "sold":
        assert detail.status_code == 200
        assert "Sold" in detail.text
        assert "Add to cart" not in detail.text
    else:
        assert detail.status_code == 404


def test_other_listings_changes_keep_a_listing_page_cached(
    client, shop, django_capture_on_commit_callbacks
):
    """Invalidation is exact: another seller's change drops the catalogue pages but not this
    listing's page."""
    urls = _urls(shop)
    _warm(client, [urls["home"], urls["listing"]])
    other = ListingFactory(title="Wool scarf")
    with django_capture_on_commit_callbacks(execute=True):
        listing_mark_sold(user=other.seller, listing_id=other.pk)
    assert client.get(urls["home"])["X-Cache"] == "miss"
    assert client.get(urls["listing"])["X-Cache"] == "hit"


def test_seller_rename_and_category_rename_visible_at_once(
    client, shop, django_capture_on_commit_callbacks
):
    """The seller's name on the listing page and the category menu follow their changes."""
    urls = _urls(shop)
    _warm(client, urls.values())
    profile = shop["seller"].profile
    with django_capture_on_commit_callbacks(execute=True):
        profile.display_name = "Renamed Seller"
        profile.save(update_fields=["display_name", "updated_at"])
    assert "Renamed Seller" in client.get(urls["listing"]).text
    _warm(client, [urls["home"]])
    with django_capture_on_commit_callbacks(execute=True):
        shop["category"].name = "Coats and jackets"
        shop["category"].save()
    assert "Coats and jackets" in client.get(urls["home"]).text


def test_change_committed_during_a_render_is_not_hidden_by_it(client, shop, monkeypatch):
    """A page whose render began before a change committed is never served as fresh: the
    change's stamp is later than the render's start."""
    real = selectors.listings_new_in

    def new_in_then_a_change_commits(**kwargs):
        listings = list(real(**kwargs))
        page_cache.stamp(["catalogue"])  # what a commit's invalidation does meanwhile
        return listings

    monkeypatch.setattr(selectors, "listings_new_in", new_in_then_a_change_commits)
    url = reverse("marketplace:home")
    assert client.get(url)["X-Cache"] == "miss"
    assert client.get(url)["X-Cache"] == "miss"
    monkeypatch.setattr(selectors, "listings_new_in", real)
    assert client.get(url)["X-Cache"] == "miss"
    assert client.get(url)["X-Cache"] == "hit"


def test_the_render_is_stored_once_the_response_has_gone_out(shop, rf):
    """The WSGI server closes a response after sending it; only then is the page stored, so
    the first visitor doesn't wait for the store."""
    url = shop["listing"].get_absolute_url()
    handler = ClientHandler()
    handler.load_middleware()
    response = handler.get_response(WSGIRequest(rf.get(url).environ))  # sent, not yet closed
    assert response["X-Cache"] == "miss"
    key = page_cache.page_key(WSGIRequest(rf.get(url).environ))
    assert cache.get(key) is None
    response.close()  # what the WSGI server does once the response is sent
    assert cache.get(key)["content"] == response.content


@pytest.mark.skipif(
    not isinstance(caches["default"], ResilientRedisCache), reason="counts Redis round trips"
)
def test_hit_costs_one_round_trip_for_the_page(client, shop, monkeypatch):
    """A warm hit reads page, clock, epoch and tag stamps in one MGET; nothing else but the
    counters' pipelines (the maintenance state is the process's, as in production)."""
    from core import maintenance

    monkeypatch.setattr(maintenance, "RECHECK_SECONDS", 3600.0)
    for url in (reverse("marketplace:home"), shop["listing"].get_absolute_url()):
        client.get(url)
        with redis_round_trips() as calls:
            assert client.get(url)["X-Cache"] == "hit"
        # Besides the one MGET, only counters' pipelines (view, request metrics), if any.
        assert [call for call in calls if call != "PIPELINE"] == ["MGET"], (url, calls)


def test_listing_view_still_counted_on_a_hit(client, shop):
    """Every visit counts, rendered or from the cache."""
    url = shop["listing"].get_absolute_url()
    responses = [client.get(url) for _ in range(3)]
    assert [r["X-Cache"] for r in responses] == ["miss", "hit", "hit"]
    assert listing_views_flush() == 3
    shop["listing"].refresh_from_db()
    assert shop["listing"].view_count == 3


def test_nonce_fresh_on_every_hit_and_matches_the_header(client, shop):
    """Each hit has its own CSP nonce, the same in the header and in every script tag."""
    url = reverse("marketplace:home")
    seen = set()
    for _ in range(3):
        response = client.get(url)
        header = NONCE.findall(response["Content-Security-Policy"])
        assert len(header) == 1
        in_body = set(re.findall(r'nonce="([^"]+)"', response.text))
        assert in_body == {header[0]}
        seen.add(header[0])
    assert len(seen) == 3


def test_htmx_fragment_and_page_kept_apart(client, shop):
    """The results fragment htmx asks for and the full page are stored separately."""
    url = _urls(shop)["category"]
    fragment = client.get(url, headers={"HX-Request": "true"})
    page = client.get(url)
    assert b"<html" not in fragment.content
    assert b"<html" in page.content
    again_fragment = client.get(url, headers={"HX-Request": "true"})
    again_page = client.get(url)
    assert (again_fragment["X-Cache"], again_page["X-Cache"]) == ("hit", "hit")
    assert b"<html" not in again_fragment.content
    assert b"<html" in again_page.content


def test_query_string_order_shares_one_copy_and_head_uses_it(client, shop):
    """The key is the method-independent URL with its query sorted."""
    base = _urls(shop)["category"]
    assert client.get(base + "?sort=newest&q=corduroy")["X-Cache"] == "miss"
    assert client.get(base + "?q=corduroy&sort=newest")["X-Cache"] == "hit"
    assert client.head(base + "?q=corduroy&sort=newest")["X-Cache"] == "hit"


def test_maintenance_mode_wins_over_a_cached_page(client, shop):
    """With maintenance on, visitors get the 503 page, not the cached copy."""
    url = reverse("marketplace:home")
    _warm(client, [url])
    maintenance_set(enabled=True)
    response = client.get(url)
    assert response.status_code == 503
    assert "X-Cache" in response  # looked up, but not served
    assert response["X-Cache"] == "miss"
    maintenance_set(enabled=False)
    assert client.get(url).status_code == 200


def test_error_pages_and_pages_that_did_not_opt_in_are_not_stored(client, shop):
    """A 404 of a cacheable view is looked up but rendered every time; a page of a view that
    never opts in (help centre, robots.txt) is not even looked up."""
    missing = reverse("marketplace:category", args=["no-such-category"])
    client.get(missing)
    assert client.get(missing)["X-Cache"] == "miss"
    for url in (reverse("help:index"), "/robots.txt"):
        client.get(url)
        assert "X-Cache" not in client.get(url), url


@pytest.mark.skipif(
    not isinstance(caches["default"], ResilientRedisCache), reason="counts Redis round trips"
)
def test_page_of_a_view_that_never_opts_in_costs_no_cache_round_trip(client, shop, monkeypatch):
    """robots.txt and the help centre reach their view without a page-cache lookup."""
    from core import maintenance

    monkeypatch.setattr(maintenance, "RECHECK_SECONDS", 3600.0)
    robots, help_page = "/robots.txt", reverse("help:index")
    seen = {}
    for url in (robots, help_page):
        client.get(url)
        with redis_round_trips() as calls:
            assert client.get(url).status_code == 200
        seen[url] = [call for call in calls if call != "PIPELINE"]
    # No round trip at all for robots.txt; the help centre's own reads (its category menu)
    # are GETs, and the lookup would be an MGET.
    assert seen[robots] == []
    assert "MGET" not in seen[help_page]


def test_setting_zero_turns_the_cache_off(client, shop, settings):
    """PAGE_CACHE_SECONDS=0: nothing looked up, nothing stored."""
    settings.PAGE_CACHE_SECONDS = 0
    url = reverse("marketplace:home")
    assert "X-Cache" not in client.get(url)
    assert "X-Cache" not in client.get(url)


def test_unstampable_change_drops_every_page(client, shop, monkeypatch):
    """When a change's stamp can't be written, the epoch goes and no stored page is served."""
    url = reverse("marketplace:home")
    _warm(client, [url])
    monkeypatch.setattr(cache, "set_many", lambda data, **kwargs: list(data))
    page_cache.stamp(["listing:1"])
    monkeypatch.undo()
    assert client.get(url)["X-Cache"] == "miss"


def test_redis_down_serves_uncached_pages(
    client, shop, dead_redis, django_capture_on_commit_callbacks
):
    """With Redis unreachable every catalogue page still renders (200, never a hit), and a
    change still commits."""
    for name, url in _urls(shop).items():
        for _ in range(2):
            response = client.get(url)
            assert response.status_code == 200, name
            assert response["X-Cache"] == "miss", name
    with django_capture_on_commit_callbacks(execute=True):
        listing_mark_sold(user=shop["seller"], listing_id=shop["listing"].pk)
    assert client.get(_urls(shop)["listing"]).status_code == 200
