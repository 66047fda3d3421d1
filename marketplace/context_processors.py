from django.http import HttpRequest

from marketplace import selectors


def navigation(request: HttpRequest) -> dict:
    """Top-level categories for the header, from the cache (see selectors.category_nav)."""
    return {"nav_categories": selectors.category_nav()}
