"""Suggestions under the header search box, as JSON-ready dicts, cached per query."""

import hashlib

from django.core.cache import cache

from marketplace import search
from marketplace.templatetags.catalog import money

SUGGEST_CACHE_PREFIX = "marketplace:suggest:v1:"


def search_suggestions(*, q: str, limit: int) -> list[dict]:
    """What the search engine suggests for `q`, as JSON-ready dicts, cached for a minute per
    normalised query (the same for every shopper). An item sold meanwhile may linger that
    long in the list; its page then says it is sold."""
    key = SUGGEST_CACHE_PREFIX + hashlib.sha256(f"{limit}:{q.casefold()}".encode()).hexdigest()
    cached = cache.get(key)
    if cached is not None:
        return cached
    suggestions = [
        {
            "kind": s.kind,
            "label": s.label,
            "url": s.url,
            "price": money(s.price, s.currency) if s.price is not None else "",
            "thumbnail": s.thumbnail_url,
        }
        for s in search.get_backend().suggest(q, limit=limit)
    ]
    cache.set(key, suggestions, 60)
    return suggestions
