"""Listing stock changes made by checkout.

These functions write marketplace.Listing rows (quantity/status) inside the caller's
transaction, under select_for_update. They belong to marketplace and should move there as
`listing_*` services; they live here until marketplace owns stock (see the orders report).
"""

from collections.abc import Iterable

from django.db import transaction

from marketplace.models import Listing


def listings_lock(*, listing_ids: Iterable[int]) -> dict[int, Listing]:
    """Lock listing rows in id order (a fixed order prevents deadlocks between checkouts)."""
    ids = sorted(set(listing_ids))
    rows = Listing.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    return {listing.pk: listing for listing in rows}


def listing_stock_take(*, listing: Listing, quantity: int) -> None:
    """Take `quantity` units of a locked listing; at zero it becomes reserved.

    Caller must hold the row lock and have checked availability.
    """
    assert transaction.get_connection().in_atomic_block  # noqa: S101 - programming error guard
    listing.quantity -= quantity
    fields = ["quantity", "updated_at"]
    if listing.quantity == 0:
        listing.status = Listing.Status.RESERVED
        fields.append("status")
    listing.save(update_fields=fields)


def listing_stock_mark_sold(*, listing: Listing) -> None:
    """A paid reservation: a listing with no units left is sold."""
    if listing.quantity == 0 and listing.status == Listing.Status.RESERVED:
        listing.status = Listing.Status.SOLD
        listing.save(update_fields=["status", "updated_at"])


def listing_stock_return(*, listing: Listing, quantity: int) -> None:
    """Give units back (expired reservation, cancelled order); the item is on sale again."""
    listing.quantity += quantity
    fields = ["quantity", "updated_at"]
    if (
        listing.status in (Listing.Status.RESERVED, Listing.Status.SOLD)
        and listing.deleted_at is None
    ):
        listing.status = Listing.Status.ACTIVE
        fields.append("status")
    listing.save(update_fields=fields)


def reservations_release(*, reservations: list) -> None:
    """Give the units of these reservations back to their listings and mark them released.

    Locks the listings (id order); call inside the transaction that decided the release.
    """
    listings = listings_lock(listing_ids=[r.listing_id for r in reservations])
    for reservation in reservations:
        listing_stock_return(
            listing=listings[reservation.listing_id], quantity=reservation.quantity
        )
        reservation.status = reservation.Status.RELEASED
        reservation.save(update_fields=["status", "updated_at"])
