"""The cart's rules, each in one place.

Can this listing be bought by this buyer (`unavailable_reason`)? Asked by the cart, the
checkout and the listing page's "Add to cart" control.

Whether the listing is on sale at all is the catalog's rule (marketplace.rules); this adds the
buyer's side: not their own item, the seller not on holiday and able to receive payments.

What do these lines cost (`lines_price`, `prices_total`)? Asked by the cart and checkout pages
for the total shown and by checkout_reserve for the total charged, so the two can't differ. A
unit held for the buyer by an accepted offer costs the agreed price (`agreed`).

Offers: the lowest amount a buyer may offer (`offer_floor`, `offer_amount_problem`) and who
may do what to an offer now (`offer_actions`), asked by the offer services, pages and forms.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_UP, Decimal

from django.core.exceptions import ObjectDoesNotExist

from marketplace.models import Listing
from marketplace.rules import listing_is_for_sale, listing_is_visible, listing_sale_problem
from orders.models import Offer, OfferStatus


def seller_can_be_paid(seller, *, requires_onboarding: bool) -> bool:
    if not requires_onboarding:
        return True
    try:
        return seller.payment_account.is_ready
    except ObjectDoesNotExist:
        return False


def unavailable_reason(
    listing: Listing,
    *,
    buyer_id: int | None,
    quantity: int,
    requires_onboarding: bool,
    held: int = 0,
) -> str | None:
    """Why `listing` can't be bought in `quantity`, as a message for the buyer; None if it can.

    `buyer_id` is None for an anonymous shopper. `held` is the units an accepted offer holds
    for this buyer (taken off sale for them: they count as there while the listing is still
    visible); such a line is bought as exactly those units. Reads the seller, its profile and
    (with `requires_onboarding`) its payment account: load them with the listing.
    """
    seller = listing.seller
    if buyer_id is not None and listing.seller_id == buyer_id:
        return "You can't buy your own item."
    if held:
        if quantity != held:
            return "Your accepted offer is for one item; buy more in a separate order."
        problem = None if listing_is_visible(listing) else "This item is no longer available."
    else:
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


def unit_price(listing: Listing, agreed: Mapping[int, Decimal] | None = None) -> Decimal:
    """What one unit of `listing` costs this buyer: the price agreed by an accepted offer
    (`agreed`: listing id -> agreed price), else the listing's price."""
    if agreed and listing.pk in agreed:
        return agreed[listing.pk]
    return listing.price


def lines_price(
    lines: Iterable[tuple[Listing, int]], *, agreed: Mapping[int, Decimal] | None = None
) -> Price:
    """The price of (listing, quantity) lines of one seller: each unit at `unit_price` (the
    listing's price, or the price agreed by the buyer's accepted offer), shipping once per line
    (a seller ships one parcel per item, whatever the quantity)."""
    lines = list(lines)
    return Price(
        items_total=sum(
            (unit_price(listing, agreed) * quantity for listing, quantity in lines), ZERO
        ),
        shipping_total=sum((listing.shipping_price for listing, _quantity in lines), ZERO),
    )


def prices_total(prices: Iterable[Price]) -> Decimal:
    """What the buyer pays for all sellers' lines together."""
    return sum((price.total for price in prices), ZERO)


# --- Offers -----------------------------------------------------------------------------------
CENT = Decimal("0.01")
# The lowest offer is this share of the asking price (rounded up to the cent).
OFFER_FLOOR_RATIO = Decimal("0.60")
# How long the other party has to answer an offer or a counter-offer.
OFFER_ANSWER_TIME = timedelta(hours=48)
# How long an accepted offer holds the item in the buyer's cart at the agreed price.
OFFER_HOLD_TIME = timedelta(hours=24)
# The member who must answer an offer gets one reminder when this little time is left.
OFFER_REMINDER_BEFORE = timedelta(hours=6)
# A seller sends an offer to the members who saved an item at most this often.
LIKERS_OFFER_INTERVAL = timedelta(hours=24)
# Offers a member may make (or send to likers) per hour, on top of the site-wide POST limit.
OFFER_RATE = "30/h"


def offer_floor(price: Decimal) -> Decimal:
    """The lowest amount one may offer for an item priced `price`."""
    return (price * OFFER_FLOOR_RATIO).quantize(CENT, ROUND_UP)


def offer_amount_problem(*, price: Decimal, amount: Decimal, money) -> str | None:
    """Why `amount` can't be offered for an item priced `price` (a message), or None.

    `money(amount)` formats an amount in the listing's currency for the message."""
    if amount != amount.quantize(CENT):
        return "Enter an amount in whole cents, e.g. 45.00."
    floor = offer_floor(price)
    if amount < floor:
        return f"Offers start at {money(floor)} for this item."
    if amount >= price:
        return f"Offer less than the price, or buy it now at {money(price)}."
    return None


LAPSING_STATUSES = (OfferStatus.PENDING, OfferStatus.COUNTERED, OfferStatus.ACCEPTED)


def offer_is_lapsed(offer: Offer, *, now: datetime) -> bool:
    """The offer's current step ran out (an unanswered offer or counter, an unpaid accepted
    offer), whether or not the expiry job has run yet."""
    return offer.status in LAPSING_STATUSES and offer.expires_at <= now


def offer_actions(offer: Offer, user, *, now: datetime) -> frozenset[str]:
    """What `user` may do to `offer` now: "accept", "decline", "counter" (the seller, on a
    buyer's offer), "accept", "decline" (the buyer, on a counter-offer or an offer to likers),
    "withdraw" (the buyer, on their own offer still waiting for the seller).

    Nothing on a lapsed or closed offer, nor for anyone but its buyer and seller; "accept" only
    while the item is still on sale (reads the offer's listing and its seller).
    """
    if user is None or not user.is_authenticated or offer_is_lapsed(offer, now=now):
        return frozenset()
    actions: set[str] = set()
    if offer.status == OfferStatus.PENDING:
        if user.pk == offer.seller_id:
            actions |= {"accept", "decline", "counter"}
        elif user.pk == offer.buyer_id:
            actions.add("withdraw")
    elif offer.status == OfferStatus.COUNTERED and user.pk == offer.buyer_id:
        actions |= {"accept", "decline"}
    if "accept" in actions and not listing_is_for_sale(offer.listing):
        actions.discard("accept")
        actions.discard("counter")
    return frozenset(actions)
