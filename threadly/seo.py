"""Indexing defaults for every page: the canonical URL, the robots meta and the default share
image, given to templates by the `page_meta` context processor and printed once, by
templates/base.html. A view that knows better passes its own `canonical_url` (view context
wins over context processors); a template that knows better overrides the `robots` block.

Which pages search engines may index (docs/seo.md):
- only the public catalogue and the help centre (INDEXABLE_PAGES); every other page — cart,
  checkout, orders, sales, account, saved items, messages, sign-in, ops — gets "noindex";
- an indexable page with any parameter but tracking ones (q, category, size, brand,
  condition, min_price, max_price, sort, page, cursor, …) gets "noindex, follow": a filtered,
  sorted or later page is a view of its category or of browse, not a page of its own. Its
  canonical URL is the page's path without the query string, i.e. the unfiltered category or
  /browse/, which is also what this module gives when no view overrides it.
"""

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.templatetags.static import static
from django.utils.encoding import escape_uri_path

INDEXABLE_PAGES = frozenset(
    {
        "marketplace:home",
        "marketplace:browse",
        "marketplace:category",
        "marketplace:listing",
        "marketplace:seller",
        "help:index",
        "help:page",
    }
)
# Parameters that only say where a visitor came from: they never make a page a different one.
TRACKING_PREFIXES = ("utm_",)
TRACKING_PARAMS = frozenset({"gclid", "dclid", "fbclid", "msclkid", "yclid", "mc_cid", "mc_eid"})
NOINDEX = "noindex"
NOINDEX_FOLLOW = "noindex, follow"
OG_DEFAULT_IMAGE = "img/og-default.png"
OG_DEFAULT_SIZE = (1200, 630)


def is_tracking_param(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def page_robots(request: HttpRequest) -> str:
    """The robots meta for this request: "" (indexable), NOINDEX or NOINDEX_FOLLOW."""
    match = request.resolver_match
    if match is None or match.view_name not in INDEXABLE_PAGES:
        return NOINDEX
    if any(value and not is_tracking_param(name) for name, value in request.GET.items()):
        return NOINDEX_FOLLOW
    return ""


def _origin(request: HttpRequest) -> str:
    try:
        return f"{request.scheme}://{request.get_host()}"
    except DisallowedHost:
        # The 400 page of a request for a host we don't serve still renders.
        return ""


def page_meta(request: HttpRequest) -> dict[str, object]:
    """Context processor: canonical_url (this path, no query), robots, og_default_image."""
    origin = _origin(request)
    image = static(OG_DEFAULT_IMAGE)
    return {
        "canonical_url": f"{origin}{escape_uri_path(request.path)}",
        "robots": page_robots(request),
        "og_default_image": image if "://" in image else f"{origin}{image}",
        "og_default_size": OG_DEFAULT_SIZE,
    }
