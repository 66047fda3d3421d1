"""Stock held by checkouts: orders' side of a reservation.

Listing rows (quantity, reserved/sold status, row locks) belong to marketplace and change only
through its stock services (`marketplace.services.stock`); this module joins them to the
orders' own rows (Reservation) and turns marketplace's errors into orders' ones.
"""

from marketplace.exceptions import ListingOutOfStock
from marketplace.models import Listing
from marketplace.services import listing_release_stock, listing_reserve_stock, listings_lock
from orders.exceptions import ListingUnavailable
from orders.models import Reservation


def reservation_stock_take(*, listing: Listing, quantity: int) -> None:
    """Take `quantity` units of a listing locked with `listings_lock` for a reservation.

    The caller must be inside `transaction.atomic` (the transaction that holds the listing
    lock and creates the Reservation). Raises ListingUnavailable("Sorry, this item was just
    sold.") when the units are no longer there; nothing is written then.
    """
    try:
        listing_reserve_stock(listing=listing, quantity=quantity)
    except ListingOutOfStock as exc:
        raise ListingUnavailable(str(exc)) from exc


def reservations_release(*, reservations: list[Reservation]) -> None:
    """Give the units of these reservations back to their listings and mark them released.

    The caller must be inside `transaction.atomic` (the transaction that decided the release,
    holding the lock on the checkout or order, so a reservation is released once). Locks the
    listings in id order (marketplace's `listings_lock`).
    """
    listings = listings_lock(listing_ids=[r.listing_id for r in reservations])
    for reservation in reservations:
        listing_release_stock(
            listing=listings[reservation.listing_id],
            quantity=reservation.quantity,
            sold=reservation.status == Reservation.Status.CONVERTED,
        )
        reservation.status = Reservation.Status.RELEASED
        reservation.save(update_fields=["status", "updated_at"])
