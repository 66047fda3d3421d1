"""Can this listing be bought? One place for the rule, used by the cart and by checkout."""

from django.core.exceptions import ObjectDoesNotExist

from marketplace.models import Listing


def seller_can_be_paid(seller, *, requires_onboarding: bool) -> bool:
    if not requires_onboarding:
        return True
    try:
        return seller.payment_account.is_ready
    except ObjectDoesNotExist:
        return False


def unavailable_reason(
    listing: Listing, *, buyer_id: int | None, quantity: int, requires_onboarding: bool
) -> str | None:
    """Why `listing` can't be bought in `quantity`, as a message for the buyer; None if it can."""
    seller = listing.seller
    if buyer_id is not None and listing.seller_id == buyer_id:
        return "You can't buy your own item."
    if (
        listing.deleted_at is not None
        or listing.is_hidden
        or listing.status
        in (
            Listing.Status.REMOVED,
            Listing.Status.DRAFT,
        )
    ):
        return "This item is no longer available."
    if seller.is_banned or not seller.is_active:
        return "This item is no longer available."
    if listing.status == Listing.Status.SOLD or (
        listing.status == Listing.Status.RESERVED and listing.quantity == 0
    ):
        return "Sorry, this item was just sold."
    if listing.status != Listing.Status.ACTIVE or listing.quantity == 0:
        return "This item is no longer available."
    if quantity > listing.quantity:
        return f"Only {listing.quantity} left."
    try:
        if seller.profile.holiday_mode:
            return "The seller is on holiday; this item can't be bought right now."
    except ObjectDoesNotExist:
        pass
    if not seller_can_be_paid(seller, requires_onboarding=requires_onboarding):
        return "The seller can't receive payments yet."
    return None
