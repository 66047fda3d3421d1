"""The cart's rules, each in one place.

Can this listing be bought by this buyer (`unavailable_reason`)? Asked by the cart, the
checkout and the listing page's "Add to cart" control.

Whether the listing is on sale at all is the catalog's rule (marketplace.rules); this adds the
buyer's side: not their own item, the seller not on holiday and able to receive payments.

What do these lines cost (`lines_price`, `prices_total`)? Asked by the cart and checkout pages
for the total shown and by checkout_reserve for the total charged, so the two can't differ.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

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


ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Price:
    """What one seller's lines cost: items and shipping (in the lines' currency)."""

    items_total: Decimal = ZERO
    shipping_total: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.items_total + self.shipping_total


def lines_price(lines: Iterable[tuple[Listing, int]]) -> Price:
    """The price of (listing, quantity) lines of one seller: each unit at the listing's price,
    shipping once per line (a seller ships one parcel per item, whatever the quantity)."""
    lines = list(lines)
    return Price(
        items_total=sum((listing.price * quantity for listing, quantity in lines), ZERO),
        shipping_total=sum((listing.shipping_price for listing, _quantity in lines), ZERO),
    )


def prices_total(prices: Iterable[Price]) -> Decimal:
    """What the buyer pays for all sellers' lines together."""
    return sum((price.total for price in prices), ZERO)
