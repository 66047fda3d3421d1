"""Background work of the catalog (Django's tasks framework). Tasks take ids and plain values,
load the rows and call a service; each is safe to run twice. Enqueue them in
transaction.on_commit (marketplace.search.sync and the listing services do)."""

import logging
from decimal import Decimal

from django.tasks import task

from marketplace import page_cache
from marketplace.search import get_backend
from marketplace.search.engine import DatabaseSearchBackend
from marketplace.services.price_drops import price_drop_notify

logger = logging.getLogger(__name__)


@task
def search_index_listings(listing_ids: list[int]) -> None:
    """Bring these listings up to date in the search index (saved if for sale, else removed).

    A failure is logged and re-raised (the queue retries it: settings.TASK_RETRY_DELAYS);
    `manage.py search_reindex` catches up either way. It never reaches the request."""
    backend = get_backend()
    try:
        backend.index_listings(listing_ids)
    except Exception:
        logger.warning(
            "search: indexing listings %s failed; search_reindex will catch up",
            listing_ids,
            exc_info=True,
        )
        raise
    if not isinstance(backend, DatabaseSearchBackend):  # the database is always up to date
        page_cache.search_results_changed()


@task
def listing_price_dropped(listing_id: int, old_price: str, new_price: str) -> int:
    """Tell the members who saved the listing that its price went down (prices as strings:
    task arguments are JSON)."""
    return price_drop_notify(
        listing_id=listing_id, old_price=Decimal(old_price), new_price=Decimal(new_price)
    )
