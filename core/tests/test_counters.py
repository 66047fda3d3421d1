"""Request-path counters cost one Redis round trip (issue 11): metrics and listing views."""

from contextlib import contextmanager

import pytest
import redis
from django.core.cache import cache, caches
from django.urls import reverse

from core import counters, metrics
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


def test_recording_requests_sends_one_pipeline_per_flush_interval(monkeypatch):
    """A process adds its requests up in memory: fifty requests within the flush interval
    cost one pipelined round trip, and a snapshot sees them all."""
    cache.clear()
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 60.0)
    metrics.discard_pending()  # nothing held, and the first request flushes
    with redis_round_trips() as calls:
        for n in range(50):
            metrics.record(duration_ms=30, status_code=503 if n < 3 else 200)
    assert calls == ["PIPELINE"]
    snapshot = metrics.snapshot(minutes=1)
    assert (snapshot.requests, snapshot.errors, snapshot.p95_ms) == (50, 3, 50)


def test_counts_the_cache_could_not_take_are_sent_with_the_next_flush(monkeypatch):
    cache.clear()
    monkeypatch.setattr(metrics.counters, "add", lambda increments, timeout: False)
    metrics.record(duration_ms=30, status_code=200)
    metrics.flush()
    monkeypatch.undo()
    assert metrics.snapshot(minutes=1).requests == 1


@pytest.mark.django_db
def test_a_warm_anonymous_listing_page_makes_three_round_trips(client, monkeypatch):
    """The category tree (read once for the navigation and the listing's category path) and
    the seller's count (one GET each), then the page's cached parts (one MGET: they are keyed
    by what they show, the count included). The maintenance state is remembered for a second;
    the request metrics and the view counter go out once a second per process: neither costs
    this request a round trip."""
    from core import maintenance
    from marketplace.services import view_counts
    from marketplace.tests.factories import ListingFactory

    monkeypatch.setattr(maintenance, "RECHECK_SECONDS", 3600.0)
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 3600.0)
    monkeypatch.setattr(view_counts, "FLUSH_SECONDS", 3600.0)
    listing = ListingFactory()
    cache.clear()
    client.get(listing.get_absolute_url())
    with redis_round_trips() as calls:
        assert client.get(listing.get_absolute_url()).status_code == 200
    assert sorted(calls) == ["GET", "GET", "MGET"]


@pytest.mark.django_db
def test_status_page_still_reads_the_recorded_requests(client):
    """The pipelined counters are what ops' snapshot reads (request count, p95)."""
    cache.clear()
    client.get(reverse("marketplace:home"))
    assert metrics.snapshot(minutes=1).requests == 1


def test_a_buffer_keeps_what_the_cache_refused_but_not_without_bound(monkeypatch):
    """While the cache is down the counts wait for the next send, up to KEPT_KEYS_MAX
    counters; a send that would keep more drops what it held instead of growing the
    process."""
    buffer = counters.Buffer(timeout=60)
    monkeypatch.setattr(counters, "add", lambda increments, timeout: False)
    monkeypatch.setattr(counters, "KEPT_KEYS_MAX", 3)
    buffer.add({"a": 1, "b": 1}, flush_after=0)
    buffer.add({"a": 1}, flush_after=0)
    assert dict(buffer._pending) == {"a": 2, "b": 1}
    buffer.add({"c": 1, "d": 1}, flush_after=0)  # four counters would pass the bound
    assert dict(buffer._pending) == {}
    buffer.discard()
