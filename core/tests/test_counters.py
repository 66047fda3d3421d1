"""Request-path counters cost one Redis round trip (issue 11): metrics and listing views."""

from contextlib import contextmanager

import pytest
import redis
from django.core.cache import cache, caches
from django.urls import reverse

from core import metrics
from core.cache import ResilientRedisCache

pytestmark = pytest.mark.skipif(
    not isinstance(caches["default"], ResilientRedisCache), reason="counts Redis round trips"
)


@contextmanager
def redis_round_trips():
    """Counts round trips to Redis: each plain command, and each pipeline execute() as one."""
    calls: list[str] = []
    plain = redis.Redis.execute_command
    execute = redis.client.Pipeline.execute

    def counted_command(self, *args, **options):
        calls.append(str(args[0]))
        return plain(self, *args, **options)

    def counted_execute(self, *args, **kwargs):
        calls.append("PIPELINE")
        return execute(self, *args, **kwargs)

    redis.Redis.execute_command = counted_command
    redis.client.Pipeline.execute = counted_execute
    try:
        yield calls
    finally:
        redis.Redis.execute_command = plain
        redis.client.Pipeline.execute = execute


def test_recording_a_request_costs_one_round_trip():
    """metrics.record sends its two or three counters in one pipeline."""
    cache.clear()
    with redis_round_trips() as calls:
        metrics.record(duration_ms=30, status_code=200)
        metrics.record(duration_ms=30, status_code=503)
    assert calls == ["PIPELINE", "PIPELINE"]
    snapshot = metrics.snapshot(minutes=1)
    assert (snapshot.requests, snapshot.errors, snapshot.p95_ms) == (2, 1, 50)


@pytest.mark.django_db
def test_a_warm_anonymous_listing_page_makes_three_round_trips(client):
    """Navigation and the seller's count (one GET each), then one pipeline with the view
    counter; the request metrics add one more."""
    from marketplace.tests.factories import ListingFactory

    listing = ListingFactory()
    cache.clear()
    client.get(listing.get_absolute_url())
    with redis_round_trips() as calls:
        assert client.get(listing.get_absolute_url()).status_code == 200
    assert calls.count("PIPELINE") == 2  # the view counter and the request metrics
    assert len(calls) <= 5, calls


@pytest.mark.django_db
def test_status_page_still_reads_the_recorded_requests(client):
    """The pipelined counters are what ops' snapshot reads (request count, p95)."""
    cache.clear()
    client.get(reverse("marketplace:home"))
    assert metrics.snapshot(minutes=1).requests == 1
