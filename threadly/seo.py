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
  /browse/, which is also what this module gives when no view overrides it;
- except a search on its own: /browse/?q=levis jeans (first page, no filter, no sort) is a
  landing page search engines may send shoppers to, as Etsy's and eBay's search pages are. It
  is indexable, canonical to its normalised query (spaces collapsed, lower case), so "Levis
  Jeans" and "levis  jeans" are one page.
"""

from urllib.parse import urlencode

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
SEARCH_LANDING_VIEWS = frozenset({"marketplace:browse"})
SEARCH_LANDING_MAX_CHARS = 60
OG_DEFAULT_IMAGE = "img/og-default.png"
OG_DEFAULT_SIZE = (1200, 630)


def is_tracking_param(name: str) -> bool:
    name = name.lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def search_landing_query(request: HttpRequest) -> str:
    """The normalised query when this page is a search landing page (only `q`, besides
    tracking parameters, on /browse/), else ""."""
    match = request.resolver_match
    if match is None or match.view_name not in SEARCH_LANDING_VIEWS:
        return ""
    params = {
        name: value for name, value in request.GET.items() if value and not is_tracking_param(name)
    }
    if set(params) != {"q"}:
        return ""
    q = " ".join(params["q"].split()).casefold()
    return q if len(q) <= SEARCH_LANDING_MAX_CHARS else ""


def page_robots(request: HttpRequest) -> str:
    """The robots meta for this request: "" (indexable), NOINDEX or NOINDEX_FOLLOW."""
    match = request.resolver_match
    if match is None or match.view_name not in INDEXABLE_PAGES:
        return NOINDEX
    if search_landing_query(request):
        return ""
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
    canonical = f"{origin}{escape_uri_path(request.path)}"
    if q := search_landing_query(request):
        canonical = f"{canonical}?{urlencode({'q': q})}"
    return {
        "canonical_url": canonical,
        "robots": page_robots(request),
        "og_default_image": image if "://" in image else f"{origin}{image}",
        "og_default_size": OG_DEFAULT_SIZE,
    }
