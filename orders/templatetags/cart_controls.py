"""The controls orders contributes to catalog pages, so the catalog's templates never name
orders' URLs: `{% load cart_controls %}{% buy_controls listing %}` on the listing page."""

from django import template
from django.utils import timezone

from marketplace.models import Listing
from marketplace.rules import listing_is_for_sale
from marketplace.selectors import listing_liker_count
from orders.models import Offer
from orders.payments import get_gateway
from orders.rules import offer_floor, offer_is_lapsed, unavailable_reason
from orders.selectors import offer_open_for

register = template.Library()


@register.inclusion_tag("orders/_buy_controls.html", takes_context=True)
def buy_controls(context: template.Context, listing: Listing) -> dict:
    """The "Add to cart" and "Make an offer" forms, drawn only when this shopper can buy
    `listing` (the one rule, orders.rules.unavailable_reason). When the item is on sale but
    this shopper can't buy it (e.g. the seller is on holiday) the reason is shown instead.

    A shopper with an open offer on the item sees it instead of a new offer form (an accepted
    one: the item is in their cart at the agreed price). The seller sees "Offer to likers"
    when members saved the item."""
    request = context["request"]
    user = request.user
    buyer_id = user.pk if user.is_authenticated else None
    own = buyer_id is not None and buyer_id == listing.seller_id
    for_sale = listing_is_for_sale(listing)
    offer = None if own else offer_open_for(user=user, listing_id=listing.pk)
    if offer is not None and offer_is_lapsed(offer, now=timezone.now()):
        offer = None
    held = offer is not None and offer.status == Offer.Status.ACCEPTED
    reason = unavailable_reason(
        listing,
        buyer_id=buyer_id,
        quantity=1,
        requires_onboarding=get_gateway().requires_onboarding,
    )
    likers = listing_liker_count(listing_id=listing.pk) if own and for_sale else 0
    return {
        "listing": listing,
        "user": user,
        "can_buy": reason is None and not held,
        "reason": reason if not own and for_sale else None,
        "offer": offer,
        "held": held,
        "floor": offer_floor(listing.price),
        "likers": likers,
        "next_url": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
