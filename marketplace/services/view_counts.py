"""Listing views, counted off the request path (issue 11).

A view (a listing page, rendered or from the page cache) is added to a cache counter per
listing. Each web process holds its views and sends them at most once per FLUSH_SECONDS in one
pipelined round trip (core.counters.Buffer), so a view costs no round trip and no SQL;
`listing_views_flush` (run_worker, every minute) adds the counters to Listing.view_count in one
UPDATE per batch. If the cache is down a process keeps its views for the next try (up to
core.counters.KEPT_KEYS_MAX listings; past that they are not counted).
"""

from itertools import batched

from django.db.models import Case, F, IntegerField, When

from core import counters
from marketplace.models import Listing

# Longer than any plausible gap between flushes; a counter idle this long just expires.
COUNTER_TTL = 24 * 3600
FLUSH_BATCH = 1000
# How often a web process sends the views it holds.
FLUSH_SECONDS = 1.0

_views = counters.Buffer(timeout=COUNTER_TTL)


def _key(listing_id: int) -> str:
    return f"listing-views:{listing_id}"


def listing_record_view(*, listing: Listing, viewer) -> None:
    """Count a visit to the listing page; the seller's own visits don't count.

    Held by the process, no round trip and no SQL; it reaches the database at the next flush."""
    if getattr(viewer, "is_authenticated", False) and viewer.pk == listing.seller_id:
        return
    listing_record_anonymous_view(listing_id=listing.pk)


def listing_record_anonymous_view(*, listing_id: int) -> None:
    """Count a visitor's visit by the listing's id alone: the page cache's hit hook
    (marketplace.page_cache), which answers without loading the listing."""
    _views.add({_key(listing_id): 1}, flush_after=FLUSH_SECONDS)


def discard_pending() -> None:
    """Forget this process's unsent views (tests start each case from an empty cache)."""
    _views.discard()


def listing_views_flush(*, batch_size: int = FLUSH_BATCH) -> int:
    """Move buffered view counts into Listing.view_count; returns the number of views added.

    Per batch of listings: one MGET, one DECRBY per counter read (core.counters.take: views
    landing meanwhile stay buffered), then one UPDATE. The counter is taken before the UPDATE,
    so a crash in between loses those views rather than counting them twice."""
    added = 0
    ids = Listing.objects.order_by("pk").values_list("pk", flat=True)
    for chunk in batched(ids.iterator(chunk_size=batch_size), batch_size):
        taken = counters.take([_key(pk) for pk in chunk])
        if not taken:
            continue
        counts = {int(key.rsplit(":", 1)[1]): count for key, count in taken.items()}
        Listing.objects.filter(pk__in=counts).update(
            view_count=F("view_count")
            + Case(
                *(When(pk=pk, then=count) for pk, count in counts.items()),
                default=0,
                output_field=IntegerField(),
            )
        )
        added += sum(counts.values())
    return added
