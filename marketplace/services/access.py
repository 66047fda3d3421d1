"""Permission-checked fetches for the seller side of the catalog."""

from django.db.models import QuerySet

from accounts.models import User
from marketplace.exceptions import ListingNotFound
from marketplace.models import Listing


def may_manage_listings(user: User) -> bool:
    """`user` may manage listings at all: signed in, active and not banned."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and not user.is_banned)


def may_manage_listing(user: User, listing: Listing) -> bool:
    """`user` may change `listing`: its seller (or staff), and it is not deleted. The one-row
    form of access_listing_for_seller."""
    return (
        may_manage_listings(user)
        and (user.is_staff or user.pk == listing.seller_id)
        and listing.deleted_at is None
    )


def _listings_for(user: User) -> QuerySet[Listing]:
    listings = Listing.objects.not_deleted()
    if user.is_staff:
        return listings
    return listings.filter(seller_id=user.pk)


def access_listing_for_seller(*, user: User, listing_id: int, lock: bool = False) -> Listing:
    """The listing `listing_id` if `user` is its seller (or staff) and it is not deleted.

    With `lock=True` the row is locked (select_for_update) until the caller's transaction ends.
    Raises ListingNotFound (a 404) for anyone else, so other sellers learn nothing about it.
    """
    if not may_manage_listings(user):
        raise ListingNotFound("No such listing.")
    listings = _listings_for(user)
    if lock:
        listings = listings.select_for_update(of=("self",))
    try:
        return listings.get(pk=listing_id)
    except (Listing.DoesNotExist, ValueError, TypeError):
        raise ListingNotFound("No such listing.") from None
