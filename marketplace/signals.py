"""Cache invalidation only: a change to the category tree drops the cached navigation; a
saved or deleted listing drops its seller's cached count of items for sale."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from marketplace.models import Category, Listing
from marketplace.selectors import (
    CATEGORY_NAV_CACHE_KEY,
    CATEGORY_TREE_CACHE_KEY,
    seller_active_count_cache_key,
)


@receiver(post_save, sender=Category, dispatch_uid="marketplace.category_saved")
@receiver(post_delete, sender=Category, dispatch_uid="marketplace.category_deleted")
def category_tree_changed(sender, **kwargs) -> None:
    cache.delete_many([CATEGORY_NAV_CACHE_KEY, CATEGORY_TREE_CACHE_KEY])


@receiver(post_save, sender=Listing, dispatch_uid="marketplace.listing_saved")
@receiver(post_delete, sender=Listing, dispatch_uid="marketplace.listing_deleted")
def listing_changed(sender, instance: Listing, **kwargs) -> None:
    cache.delete(seller_active_count_cache_key(instance.seller_id))
