"""The catalog's rules about one listing, asked by every caller (views, templates, services,
other apps): "can anyone see it?" and "is it on sale, in this quantity?".

`Listing.objects.visible()` and `.for_sale()` are the same rules written as queries, for lists;
marketplace/tests/test_rules.py keeps each pair equal. Whether a given buyer may buy it (their
own item, the seller on holiday or unable to receive payments) is orders' question
(`orders.rules.unavailable_reason`), which starts from `listing_sale_problem`.
"""

from django.utils.translation import gettext as _

from marketplace.models import INDEXABLE_STATUSES, VISIBLE_STATUSES, Listing


def listing_is_visible(listing: Listing) -> bool:
    """Anyone may see `listing` (Listing.objects.visible() for one row; reads its seller)."""
    return (
        listing.deleted_at is None
        and not listing.is_hidden
        and not listing.seller.is_banned
        and listing.seller.is_active
        and listing.status in VISIBLE_STATUSES
    )


def listing_sale_problem(listing: Listing, *, quantity: int = 1) -> str | None:
    """Why `quantity` units of `listing` can't be sold now, as a message for the buyer; None
    when they can (Listing.objects.for_sale() for one row, plus the quantity; reads its seller).
    """
    if (
        listing.deleted_at is not None
        or listing.is_hidden
        or listing.status in (Listing.Status.REMOVED, Listing.Status.DRAFT)
    ):
        return _("This item is no longer available.")
    if listing.seller.is_banned or not listing.seller.is_active:
        return _("This item is no longer available.")
    if listing.status == Listing.Status.SOLD or (
        listing.status == Listing.Status.RESERVED and listing.quantity == 0
    ):
        return _("Sorry, this item was just sold.")
    if listing.status != Listing.Status.ACTIVE or listing.quantity == 0:
        return _("This item is no longer available.")
    if quantity > listing.quantity:
        return _("Only %(left)d left.") % {"left": listing.quantity}
    return None


def listing_is_for_sale(listing: Listing) -> bool:
    """At least one unit of `listing` can be bought by someone (see listing_sale_problem)."""
    return listing_sale_problem(listing) is None


def listing_is_indexable(listing: Listing) -> bool:
    """Search engines may index `listing`'s page (Listing.objects.indexable() for one row): it
    is visible and on sale or reserved; sold, draft, removed, hidden, deleted and banned
    sellers' listings are not. Reads its seller."""
    return listing_is_visible(listing) and listing.status in INDEXABLE_STATUSES
