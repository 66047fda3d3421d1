"""Keeping the search index in step with the catalog: services call `listings_changed(ids)`
(or `seller_listings_changed` / `category_listings_changed`) whenever something a shopper can
find changes; after commit, the `search_index_listings` task updates or removes each record.

Only Algolia keeps a copy of the catalog; without it these do nothing (the database backends
read the tables themselves). An indexing failure never breaks the request: the task logs it
and `manage.py search_reindex` (nightly in run_worker) brings the index back in step.
"""

from collections.abc import Iterable
from functools import partial
from itertools import batched

from django.db import transaction

from marketplace import page_cache
from marketplace.models import Listing
from marketplace.search import algolia_configured
from marketplace.selectors import category_descendant_ids

# Ids per task: one Algolia batch request each.
TASK_BATCH = 1000


def _enqueue(listing_ids: list[int]) -> None:
    from marketplace.tasks import search_index_listings

    search_index_listings.enqueue(listing_ids)


def listings_changed(listing_ids: Iterable[int]) -> None:
    """After the current transaction commits (at once outside one), enqueue the indexing of
    these listings, TASK_BATCH ids per task (a no-op when Algolia isn't configured), and mark
    the cached pages that show them stale (marketplace.page_cache)."""
    ids = sorted({int(pk) for pk in listing_ids})
    page_cache.listings_changed(ids)
    if not algolia_configured():
        return
    for chunk in batched(ids, TASK_BATCH):
        transaction.on_commit(partial(_enqueue, list(chunk)), robust=True)


def seller_listings_changed(seller_id: int) -> None:
    """A seller's visibility changed (ban, unban): re-index their active listings (the only
    ones a ban or unban moves in or out of the index)."""
    if not algolia_configured():
        return
    listings_changed(
        Listing.objects.not_deleted()
        .filter(seller_id=seller_id, status=Listing.Status.ACTIVE, is_hidden=False)
        .values_list("pk", flat=True)
    )


def category_listings_changed(category_id: int) -> None:
    """A category was renamed or moved: re-index the listings for sale filed under it or
    below it (their category names and ancestor ids are in their records)."""
    if not algolia_configured():
        return
    listings_changed(
        Listing.objects.for_sale()
        .filter(category_id__in=category_descendant_ids(category_id))
        .values_list("pk", flat=True)
    )
