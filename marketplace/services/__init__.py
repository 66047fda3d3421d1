"""Writes for the catalog, split by sub-domain; import from here
(`from marketplace.services import listing_publish`)."""

from marketplace.services.categories import category_listing_names_refresh
from marketplace.services.favourites import favourite_add, favourite_remove
from marketplace.services.follows import follow_add, follow_remove, followers_digest_send
from marketplace.services.images import (
    listing_image_remove,
    listing_images_add,
    listing_images_reorder,
)
from marketplace.services.listings import (
    ListingDetails,
    access_listing_for_seller,
    listing_actions,
    listing_create,
    listing_delete,
    listing_mark_sold,
    listing_publish,
    listing_unpublish,
    listing_update,
)
from marketplace.services.saved_searches import (
    saved_search_create,
    saved_search_delete,
    saved_search_digest_send,
    saved_searches_digest_run,
)
from marketplace.services.stock import (
    listing_release_stock,
    listing_reserve_stock,
    listing_sell_reserved_stock,
    listings_lock,
)
from marketplace.services.view_counts import listing_record_view, listing_views_flush

__all__ = [
    "ListingDetails",
    "access_listing_for_seller",
    "category_listing_names_refresh",
    "favourite_add",
    "favourite_remove",
    "follow_add",
    "follow_remove",
    "followers_digest_send",
    "listing_actions",
    "listing_create",
    "listing_delete",
    "listing_image_remove",
    "listing_images_add",
    "listing_images_reorder",
    "listing_mark_sold",
    "listing_publish",
    "listing_record_view",
    "listing_views_flush",
    "listing_release_stock",
    "listing_reserve_stock",
    "listing_sell_reserved_stock",
    "listing_unpublish",
    "listing_update",
    "listings_lock",
    "saved_search_create",
    "saved_search_delete",
    "saved_search_digest_send",
    "saved_searches_digest_run",
]
