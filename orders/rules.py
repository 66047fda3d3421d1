"""Can this listing be bought by this buyer? One place for the rule, asked by the cart, the
checkout, the payment outcome and the listing page's "Add to cart" control.

Whether the listing is on sale at all is the catalog's rule (marketplace.rules); this adds the
buyer's side: not their own item, the seller not on holiday and able to receive payments.
"""

from django.core.exceptions import ObjectDoesNotExist

from marketplace.models import Listing
from marketplace.rules import listing_sale_problem


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
    """Why `listing` can't be bought in `quantity`, as a message for the buyer; None if it can.

    `buyer_id` is None for an anonymous shopper. Reads the seller, its profile and (with
    `requires_onboarding`) its payment account: load them with the listing.
    """
    seller = listing.seller
    if buyer_id is not None and listing.seller_id == buyer_id:
        return "You can't buy your own item."
    problem = listing_sale_problem(listing, quantity=quantity)
    if problem is not None:
        return problem
    try:
        if seller.profile.holiday_mode:
            return "The seller is on holiday; this item can't be bought right now."
    except ObjectDoesNotExist:
        pass
    if not seller_can_be_paid(seller, requires_onboarding=requires_onboarding):
        return "The seller can't receive payments yet."
    return None
