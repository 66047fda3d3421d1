"""Listing stock: lock listings, reserve units for a purchase, settle a sale, release units.

The only code that changes `Listing.quantity` and the reserved/sold status on a purchase's
behalf. Other apps (orders' checkout, payment outcome and refunds) call these inside their
own transaction: the listing rows stay locked until that transaction ends, so stock and the
caller's own rows (reservations, orders) change together or not at all.

Status rules: taking the last unit makes an active listing `reserved`; a paid reservation
turns a listing with no units left into `sold`; units given back make a reserved or sold
listing `active` again (unless it was deleted).

`held_quantity` counts units taken for a purchase not yet paid (reserve adds, sell and release
subtract). While it is above zero the seller can't change `quantity` (listing_update), so a
release gives back exactly the units that were taken and stock never ends above what the
seller set.
"""

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from marketplace.exceptions import ListingOutOfStock
from marketplace.models import Listing
from marketplace.rules import listing_sale_problem
from marketplace.search.sync import listings_changed

__all__ = [
    "listing_release_stock",
    "listing_reserve_stock",
    "listing_sell_reserved_stock",
    "listings_lock",
]


def _require_atomic(service: str) -> None:
    # The row locks and the caller's own writes must share one transaction; outside one,
    # select_for_update would lock nothing (and the stock change could not be rolled back).
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError(
            f"{service}() must run inside transaction.atomic()."
        )


def _require_positive(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ValueError(f"quantity must be a positive integer, not {quantity!r}")


def listings_lock(*, listing_ids: Iterable[int]) -> dict[int, Listing]:
    """Lock the listing rows `listing_ids` and return them by id.

    The caller must be inside `transaction.atomic`; the locks (select_for_update) are held
    until that transaction ends. Rows are locked in primary-key order, a fixed order that
    prevents deadlocks between checkouts sharing listings. Missing ids are simply absent
    from the result. Raises TransactionManagementError outside a transaction.
    """
    _require_atomic("listings_lock")
    ids = sorted(set(listing_ids))
    rows = Listing.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {listing.pk: listing for listing in rows}


def listing_reserve_stock(*, listing: Listing, quantity: int) -> None:
    """Take `quantity` units of `listing` for a purchase in progress.

    Preconditions: the caller is inside `transaction.atomic` and `listing` came from
    `listings_lock` in that transaction (its row is locked). When the last unit is taken the
    listing becomes `reserved` (off sale, not yet sold).

    Raises ListingOutOfStock ("Sorry, this item was just sold.") if `quantity` units can't be
    sold (marketplace.rules.listing_sale_problem); nothing is written then. Raises ValueError for
    a quantity below 1 and TransactionManagementError outside a transaction.
    """
    _require_atomic("listing_reserve_stock")
    _require_positive(quantity)
    if listing_sale_problem(listing, quantity=quantity) is not None:
        raise ListingOutOfStock(_("Sorry, this item was just sold."))
    listing.quantity -= quantity
    listing.held_quantity += quantity
    fields = ["quantity", "held_quantity", "updated_at"]
    if listing.quantity == 0:
        listing.status = Listing.Status.RESERVED
        fields.append("status")
        listings_changed([listing.pk])  # off sale: out of search after commit
    listing.save(update_fields=fields)


def listing_sell_reserved_stock(*, listing: Listing, quantity: int) -> None:
    """A reservation of `quantity` units of `listing` was paid: they are no longer held, and a
    reserved listing with no units left is `sold`.

    Preconditions: the caller is inside `transaction.atomic` and holds the row lock
    (`listings_lock`). A listing with units left stays as it is (still on sale), and so does
    one that is not reserved (e.g. deleted or already sold). Raises TransactionManagementError
    outside a transaction.
    """
    _require_atomic("listing_sell_reserved_stock")
    _require_positive(quantity)
    listing.held_quantity = max(0, listing.held_quantity - quantity)
    fields = ["held_quantity", "updated_at"]
    if listing.quantity == 0 and listing.status == Listing.Status.RESERVED:
        listing.status = Listing.Status.SOLD
        fields.append("status")
        listings_changed([listing.pk])
    listing.save(update_fields=fields)


def listing_release_stock(*, listing: Listing, quantity: int, sold: bool = False) -> None:
    """Give back `quantity` units taken by `listing_reserve_stock`: still held (an expired or
    failed payment) or, with `sold`, already sold (a cancelled paid order); a reserved or sold
    listing is on sale (`active`) again, unless it was deleted meanwhile.

    Preconditions: the caller is inside `transaction.atomic`, holds the row lock
    (`listings_lock`) and passes exactly the quantity it took, once (the caller's
    reservation records what was taken and whether it was already given back). Raises
    ValueError for a quantity below 1 and TransactionManagementError outside a transaction.
    """
    _require_atomic("listing_release_stock")
    _require_positive(quantity)
    listing.quantity += quantity
    fields = ["quantity", "updated_at"]
    if not sold:
        # max(): holds taken before held_quantity existed were never counted.
        listing.held_quantity = max(0, listing.held_quantity - quantity)
        fields.append("held_quantity")
    if (
        listing.status in (Listing.Status.RESERVED, Listing.Status.SOLD)
        and listing.deleted_at is None
    ):
        listing.status = Listing.Status.ACTIVE
        fields.append("status")
        listings_changed([listing.pk])  # on sale again: back in search after commit
    listing.save(update_fields=fields)
