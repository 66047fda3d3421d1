"""Read-side queries of the marketplace. Each returns rows ready to render (no N+1)."""

from django.core.cache import cache
from django.urls import reverse

from marketplace.models import Category

CATEGORY_NAV_CACHE_KEY = "marketplace:category-nav:v1"


def category_nav() -> list[dict]:
    """Top-level categories as plain dicts, cached until a category changes."""
    nav = cache.get(CATEGORY_NAV_CACHE_KEY)
    if nav is None:
        nav = [
            {"name": c.name, "slug": c.slug, "url": reverse("marketplace:category", args=[c.slug])}
            for c in Category.objects.filter(parent__isnull=True).only("name", "slug")
        ]
        cache.set(CATEGORY_NAV_CACHE_KEY, nav, 3600)
    return nav
