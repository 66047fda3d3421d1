"""Listing search: `get_backend()` picks the engine from settings at call time.

- Algolia when ALGOLIA_APP_ID / ALGOLIA_ADMIN_KEY / ALGOLIA_SEARCH_KEY are set
  (marketplace/search/algolia.py, the only module that imports the SDK);
- PostgreSQL full text on PostgreSQL (marketplace/search/postgres.py);
- a simple fallback on SQLite, the embedded default (marketplace/search/simple.py).
"""

from django.conf import settings
from django.db import connection

from marketplace.search.base import (
    SORTS,
    Facet,
    FacetValue,
    ListingFilters,
    SearchBackend,
    SearchPage,
    Suggestion,
)

__all__ = [
    "SORTS",
    "Facet",
    "FacetValue",
    "ListingFilters",
    "SearchBackend",
    "SearchPage",
    "Suggestion",
    "algolia_configured",
    "database_backend",
    "get_backend",
]


def algolia_configured() -> bool:
    return bool(
        settings.ALGOLIA_APP_ID and settings.ALGOLIA_ADMIN_KEY and settings.ALGOLIA_SEARCH_KEY
    )


def database_backend() -> SearchBackend:
    """The search the database itself answers: always available, and Algolia's fallback."""
    if connection.vendor == "postgresql":
        from marketplace.search.postgres import PostgresSearchBackend

        return PostgresSearchBackend()
    from marketplace.search.simple import SimpleSearchBackend

    return SimpleSearchBackend()


def get_backend() -> SearchBackend:
    if algolia_configured():
        from marketplace.search.algolia import AlgoliaSearchBackend

        return AlgoliaSearchBackend(fallback=database_backend())
    return database_backend()
