"""Categories: keep what listings copy from the category tree in step with it."""

from django.db import transaction

from marketplace.models import Category, Listing
from marketplace.selectors import category_descendant_ids, category_path_names


@transaction.atomic
def category_listing_names_refresh(*, category_id: int) -> int:
    """After a category was renamed or moved: rewrite `Listing.category_names` (what search
    weighs) for every listing in its subtree, with one set-based UPDATE per category of the
    subtree (a tree has few categories; a category may have many listings). On PostgreSQL
    the search vector, a generated column, follows by itself. Returns the rows updated.

    Call after the category's own change is saved (the category tree cache is dropped on
    save, so the names read here are the new ones).
    """
    if not Category.objects.filter(pk=category_id).exists():
        return 0
    updated = 0
    for descendant_id in category_descendant_ids(category_id):
        updated += (
            Listing.objects.filter(category_id=descendant_id)
            .exclude(category_names=category_path_names(descendant_id))
            .update(category_names=category_path_names(descendant_id))
        )
    return updated
