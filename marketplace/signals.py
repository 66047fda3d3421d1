"""Cache invalidation only: a change to the category tree drops the cached navigation; a
saved or deleted listing drops its seller's cached count of items for sale; and every change
a cached page may show marks those pages stale after commit (marketplace.page_cache)."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts.models import Profile, User
from core.request_memo import request_memo_forget
from marketplace import page_cache
from marketplace.models import Category, Follow, Listing, ListingImage
from marketplace.selectors import (
    CATEGORY_NAV_MEMO_KEY,
    CATEGORY_TREE_CACHE_KEY,
    seller_active_count_cache_key,
)

# Saves of a member that change nothing a page shows (signing in stamps last_login).
UNSHOWN_USER_FIELDS = frozenset({"last_login", "password"})


@receiver(post_save, sender=Category, dispatch_uid="marketplace.category_saved")
@receiver(post_delete, sender=Category, dispatch_uid="marketplace.category_deleted")
def category_tree_changed(sender, **kwargs) -> None:
    cache.delete(CATEGORY_TREE_CACHE_KEY)
    request_memo_forget([CATEGORY_TREE_CACHE_KEY, CATEGORY_NAV_MEMO_KEY])
    page_cache.categories_changed()


@receiver(post_save, sender=Listing, dispatch_uid="marketplace.listing_saved")
@receiver(post_delete, sender=Listing, dispatch_uid="marketplace.listing_deleted")
def listing_changed(sender, instance: Listing, **kwargs) -> None:
    cache.delete(seller_active_count_cache_key(instance.seller_id))
    page_cache.listings_changed([instance.pk], seller_ids=[instance.seller_id])


@receiver(post_save, sender=ListingImage, dispatch_uid="marketplace.listing_image_saved")
@receiver(post_delete, sender=ListingImage, dispatch_uid="marketplace.listing_image_deleted")
def listing_image_changed(sender, instance: ListingImage, **kwargs) -> None:
    page_cache.listings_changed([instance.listing_id])


@receiver(post_save, sender=User, dispatch_uid="marketplace.member_saved_page_cache")
@receiver(post_delete, sender=User, dispatch_uid="marketplace.member_deleted_page_cache")
def member_changed(sender, instance: User, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= UNSHOWN_USER_FIELDS:
        return
    page_cache.sellers_changed([instance.pk])


@receiver(post_save, sender=Profile, dispatch_uid="marketplace.profile_saved_page_cache")
def profile_changed(sender, instance: Profile, **kwargs) -> None:
    page_cache.sellers_changed([instance.user_id])


@receiver(post_save, sender=Follow, dispatch_uid="marketplace.follow_saved_page_cache")
@receiver(post_delete, sender=Follow, dispatch_uid="marketplace.follow_deleted_page_cache")
def follow_changed(sender, instance: Follow, **kwargs) -> None:
    # Shop pages show follower and following counts; cards don't.
    page_cache.sellers_changed([instance.seller_id, instance.follower_id], catalogue=False)
