"""The controls orders contributes to catalog pages, so the catalog's templates never name
orders' URLs: `{% load cart_controls %}{% buy_controls listing %}` on the listing page."""

from django import template

from marketplace.models import Listing
from marketplace.rules import listing_is_for_sale
from orders.payments import get_gateway
from orders.rules import unavailable_reason

register = template.Library()


@register.inclusion_tag("orders/_buy_controls.html", takes_context=True)
def buy_controls(context: template.Context, listing: Listing) -> dict:
    """The "Add to cart" form, drawn only when this shopper can buy `listing` (the one rule,
    orders.rules.unavailable_reason). When the item is on sale but this shopper can't buy it
    (e.g. the seller is on holiday) the reason is shown instead; the seller sees nothing."""
    request = context["request"]
    user = request.user
    buyer_id = user.pk if user.is_authenticated else None
    reason = unavailable_reason(
        listing,
        buyer_id=buyer_id,
        quantity=1,
        requires_onboarding=get_gateway().requires_onboarding,
    )
    own = buyer_id is not None and buyer_id == listing.seller_id
    return {
        "listing": listing,
        "can_buy": reason is None,
        "reason": reason if not own and listing_is_for_sale(listing) else None,
        "next_url": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
    }
