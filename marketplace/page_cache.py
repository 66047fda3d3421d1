"""What the anonymous page cache (core.page_cache) keeps of the catalogue, and when it drops it.

The tags a page depends on:
- "catalogue": any listing for sale, its photos, its seller's rating or visibility. Home,
  browse and category pages show an unknown subset of listings, so any change drops them.
- "listing:<id>": one listing and its photos (its page).
- "seller:<id>": a member as shown on their shop and on their listings' pages (profile, rating,
  holiday, ban, follows, the count of items for sale, payment readiness).
- "categories": the category tree (the header menu is on every page).

The changes are caught in two places, both after commit: the receivers in
marketplace.signals (every save or delete of a listing, photo, category, member, profile or
follow) and marketplace.search.sync.listings_changed, which every service calls after a change
a shopper can see, including the bulk photo writes no signal reports.
"""

from collections.abc import Iterable

from django.http import HttpResponse

from core import page_cache

CATALOGUE = "catalogue"
CATEGORIES = "categories"
LISTING_VIEW_HOOK = "marketplace.listing_view"


def listing_tag(listing_id: int) -> str:
    return f"listing:{listing_id}"


def seller_tag(seller_id: int) -> str:
    return f"seller:{seller_id}"


# --- pages ------------------------------------------------------------------------------------
def catalogue_page(response: HttpResponse) -> HttpResponse:
    """Home, browse and category pages: any listing may appear on them."""
    return page_cache.cacheable(response, tags=[CATALOGUE, CATEGORIES])


def listing_page(response: HttpResponse, *, listing_id: int, seller_id: int) -> HttpResponse:
    """A listing's page; each hit still counts a view (see register_hooks)."""
    return page_cache.cacheable(
        response,
        tags=[listing_tag(listing_id), seller_tag(seller_id), CATEGORIES],
        on_hit=(LISTING_VIEW_HOOK, {"listing_id": listing_id}),
    )


def seller_page(response: HttpResponse, *, seller_id: int) -> HttpResponse:
    """A member's shop: their profile, counts and listings."""
    return page_cache.cacheable(response, tags=[seller_tag(seller_id), CATEGORIES])


def register_hooks() -> None:
    """Called once at start-up (MarketplaceConfig.ready)."""
    from marketplace.services.view_counts import listing_record_anonymous_view

    page_cache.register_hit_hook(LISTING_VIEW_HOOK, listing_record_anonymous_view)


# --- changes ----------------------------------------------------------------------------------
def listings_changed(listing_ids: Iterable[int], *, seller_ids: Iterable[int] = ()) -> None:
    """These listings (and, when known, their sellers' pages) changed: after commit."""
    page_cache.invalidate(
        [
            CATALOGUE,
            *(listing_tag(pk) for pk in listing_ids),
            *(seller_tag(pk) for pk in seller_ids),
        ]
    )


def search_results_changed() -> None:
    """An outside search index (Algolia) took changes in: result pages rendered between the
    commit and the index update listed the old results."""
    page_cache.invalidate([CATALOGUE])


def sellers_changed(seller_ids: Iterable[int], *, catalogue: bool = True) -> None:
    """These members changed as shown on their shop and listing pages; `catalogue`: also as
    shown on listing cards (rating) or in what is for sale (ban, deactivation)."""
    tags = [seller_tag(pk) for pk in seller_ids]
    page_cache.invalidate([CATALOGUE, *tags] if catalogue else tags)


def categories_changed() -> None:
    """A category was added, renamed, moved or removed: every page shows the menu."""
    page_cache.invalidate([CATEGORIES])
