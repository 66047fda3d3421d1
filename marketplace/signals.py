"""Cache invalidation only: a change to the category tree drops the cached navigation."""

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from marketplace.models import Category
from marketplace.selectors import CATEGORY_NAV_CACHE_KEY, CATEGORY_TREE_CACHE_KEY


@receiver(post_save, sender=Category, dispatch_uid="marketplace.category_saved")
@receiver(post_delete, sender=Category, dispatch_uid="marketplace.category_deleted")
def category_tree_changed(sender, **kwargs) -> None:
    cache.delete_many([CATEGORY_NAV_CACHE_KEY, CATEGORY_TREE_CACHE_KEY])
