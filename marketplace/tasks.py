"""Background work of the catalog (Django's tasks framework). Tasks take ids and are safe to
run twice; enqueue them in transaction.on_commit (marketplace.search.sync does)."""

import logging

from django.tasks import task

from marketplace.search import get_backend

logger = logging.getLogger(__name__)


@task
def search_index_listings(listing_ids: list[int]) -> None:
    """Bring these listings up to date in the search index (saved if for sale, else removed).

    A failure is logged and re-raised (the task is marked failed; a real queue may retry);
    `manage.py search_reindex` catches up either way. It never reaches the request."""
    try:
        get_backend().index_listings(listing_ids)
    except Exception:
        logger.warning(
            "search: indexing listings %s failed; search_reindex will catch up",
            listing_ids,
            exc_info=True,
        )
        raise
