"""Listing views are buffered in the cache and flushed to the database (issue 11)."""

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import counters
from marketplace.services import listing_record_view, listing_views_flush
from marketplace.services.view_counts import _key
from marketplace.tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


def test_n_views_add_n_to_view_count_after_the_flush(client):
    """Five page views are buffered, then one flush adds exactly five."""
    listing = ListingFactory(view_count=10)
    for _ in range(5):
        assert client.get(listing.get_absolute_url()).status_code == 200
    listing.refresh_from_db()
    assert listing.view_count == 10
    assert listing_views_flush() == 5
    listing.refresh_from_db()
    assert listing.view_count == 15


def test_flushing_twice_does_not_count_twice(client):
    """A second flush with no new views adds nothing."""
    listing = ListingFactory()
    client.get(listing.get_absolute_url())
    call_command("listing_views_flush", verbosity=0)
    call_command("listing_views_flush", verbosity=0)
    listing.refresh_from_db()
    assert listing.view_count == 1


def test_a_view_landing_between_read_and_reset_is_kept_for_the_next_flush(monkeypatch):
    """Views counted after the flush read the counter stay buffered: never lost, never twice."""
    listing = ListingFactory()
    for _ in range(3):
        listing_record_view(listing=listing, viewer=None)
    real_get_many = cache.get_many

    def get_many_then_a_view_lands(keys, *args, **kwargs):
        values = real_get_many(keys, *args, **kwargs)
        listing_record_view(listing=listing, viewer=None)
        return values

    monkeypatch.setattr(cache, "get_many", get_many_then_a_view_lands)
    assert listing_views_flush() == 3
    monkeypatch.undo()
    assert listing_views_flush() == 1
    listing.refresh_from_db()
    assert listing.view_count == 4


def test_flush_runs_one_update_per_batch():
    """Counts for many listings reach the database in one UPDATE per batch."""
    listings = ListingFactory.create_batch(4)
    for index, listing in enumerate(listings):
        for _ in range(index + 1):
            listing_record_view(listing=listing, viewer=None)
    with CaptureQueriesContext(connection) as captured:
        assert listing_views_flush(batch_size=2) == 10
    updates = [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 2
    assert sorted(ListingFactory._meta.model.objects.values_list("view_count", flat=True)) == [
        1,
        2,
        3,
        4,
    ]


def test_listing_page_runs_no_update(client):
    """The listing request writes nothing to the database."""
    listing = ListingFactory()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(listing.get_absolute_url()).status_code == 200
    assert not [q for q in captured.captured_queries if q["sql"].upper().startswith("UPDATE")]


def test_a_view_while_the_cache_is_down_is_simply_not_counted(client, monkeypatch):
    """An unreachable cache costs the view, never the page."""
    listing = ListingFactory()
    monkeypatch.setattr(cache, "incr_many", lambda *a, **k: False, raising=False)
    monkeypatch.setattr(cache, "incr", _raise_unavailable)
    assert client.get(listing.get_absolute_url()).status_code == 200
    monkeypatch.undo()
    assert listing_views_flush() == 0


def _raise_unavailable(*args, **kwargs):
    from core.cache import CacheUnavailable

    raise CacheUnavailable("down")


def test_the_counter_works_on_the_local_memory_cache(settings):
    """core.counters adds and takes on a cache without incr_many (local memory)."""
    from django.core.cache.backends.locmem import LocMemCache

    local = LocMemCache("views-test", {})
    from core import counters as module

    original = module.cache
    module.cache = local
    try:
        assert counters.add({_key(7): 1}, timeout=60)
        assert counters.add({_key(7): 2}, timeout=60)
        assert counters.take([_key(7), _key(8)]) == {_key(7): 3}
        assert counters.take([_key(7)]) == {}
    finally:
        module.cache = original


def test_a_process_holds_its_views_and_sends_them_once_per_interval(monkeypatch):
    """Views within the interval stay in the process (no round trip each) and all reach the
    cache counter with the next send."""
    from marketplace.services import view_counts

    listing = ListingFactory()
    monkeypatch.setattr(view_counts, "FLUSH_SECONDS", 60.0)
    view_counts.discard_pending()  # the first view is sent at once
    for _ in range(5):
        listing_record_view(listing=listing, viewer=None)
    assert cache.get(_key(listing.pk)) == 1
    view_counts._views.flush()
    assert cache.get(_key(listing.pk)) == 5
    assert listing_views_flush() == 5
