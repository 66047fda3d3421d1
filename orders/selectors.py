"""Read side of the orders app; querysets come with their relations loaded."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from core.keyset import KeysetPage, keyset_page
from marketplace.models import Listing, ListingImage
from orders.models import Address, CartItem, Checkout, Offer, Order, OrderEvent
from orders.payments import get_gateway
from orders.rules import Price, lines_price, prices_total, unavailable_reason
from orders.services.cart import SESSION_KEY


@dataclass
class CartLine:
    listing: Listing
    quantity: int
    problem: str | None
    # The price agreed by the buyer's accepted offer on this item (None: the listing's price).
    agreed_price: Decimal | None = None
    offer_expires_at: datetime | None = None

    @property
    def available(self) -> bool:
        return self.problem is None

    @property
    def unit_price(self) -> Decimal:
        return self.listing.price if self.agreed_price is None else self.agreed_price

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class CartGroup:
    seller: object
    lines: list[CartLine] = field(default_factory=list)

    @property
    def agreed(self) -> dict[int, Decimal]:
        return {
            line.listing.pk: line.agreed_price
            for line in self.lines
            if line.agreed_price is not None
        }

    @property
    def buyable_lines(self) -> list[CartLine]:
        return [line for line in self.lines if line.available]

    @property
    def price(self) -> Price:
        """What the buyable lines cost (orders.rules.lines_price, as checkout charges it)."""
        return lines_price(
            ((line.listing, line.quantity) for line in self.buyable_lines), agreed=self.agreed
        )

    @property
    def items_total(self) -> Decimal:
        return self.price.items_total

    @property
    def shipping_total(self) -> Decimal:
        return self.price.shipping_total

    @property
    def subtotal(self) -> Decimal:
        return self.price.total


def _cart_quantities(user, session) -> dict[int, int]:
    if user.is_authenticated:
        return dict(CartItem.objects.filter(cart__user=user).values_list("listing_id", "quantity"))
    return {int(pk): qty for pk, qty in (session.get(SESSION_KEY) or {}).items()}


def cart_groups(*, user, session) -> list[CartGroup]:
    """The cart grouped per seller, with unavailable lines flagged and the prices agreed by
    accepted offers (4 queries signed in, 2 for anonymous shoppers)."""
    quantities = _cart_quantities(user, session)
    if not quantities:
        return []
    holds = (
        {
            offer.listing_id: offer
            for offer in Offer.objects.holding(buyer_id=user.pk, now=timezone.now())
        }
        if user.is_authenticated
        else {}
    )
    listings = (
        Listing.objects.filter(pk__in=quantities)
        .select_related("seller", "seller__profile", "seller__payment_account")
        .prefetch_related("images")
        .order_by("seller__username", "pk")
    )
    requires_onboarding = get_gateway().requires_onboarding
    groups: dict[int, CartGroup] = {}
    buyer_id = user.pk if user.is_authenticated else None
    for listing in listings:
        quantity = quantities[listing.pk]
        hold = holds.get(listing.pk)
        problem = unavailable_reason(
            listing,
            buyer_id=buyer_id,
            quantity=quantity,
            requires_onboarding=requires_onboarding,
            held=1 if hold else 0,
        )
        group = groups.setdefault(listing.seller_id, CartGroup(seller=listing.seller))
        group.lines.append(
            CartLine(
                listing=listing,
                quantity=quantity,
                problem=problem,
                agreed_price=hold.amount if hold else None,
                offer_expires_at=hold.expires_at if hold else None,
            )
        )
    return list(groups.values())


def cart_total(groups: list[CartGroup]) -> Decimal:
    """What the buyer would pay for the cart (buyable lines): the total checkout will charge."""
    return prices_total(group.price for group in groups)


def cart_listing_to_add(*, listing_id: int) -> Listing | None:
    """The listing a shopper is about to add from the cart page's confirmation, if for sale."""
    return Listing.objects.for_sale().filter(pk=listing_id).first()


def cart_count(*, user, session) -> int:
    """Units in the cart, for the header: one cheap query for signed-in users, none otherwise."""
    if user.is_authenticated:
        return CartItem.objects.filter(cart__user=user).aggregate(n=Sum("quantity"))["n"] or 0
    return sum((session.get(SESSION_KEY) or {}).values())


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("buyer", "seller", "checkout")


def orders_for_buyer(*, user) -> QuerySet[Order]:
    return _orders().filter(buyer=user)


# Order lists are newest first, by keyset pages (core.keyset): no OFFSET, no COUNT, a bounded
# page however many orders a member has. order_buyer_newest serves the buyer's list.
ORDER_LIST_KEYS = ("-created_at", "-id")
ORDER_LIST_CURSOR_SALT = "orders.order-list.cursor"
ORDERS_PER_PAGE = 20


def orders_page(orders: QuerySet[Order], *, cursor: str) -> KeysetPage:
    """One page of `orders` (orders_for_buyer or sales_for_seller) from `cursor` ("" for
    the first); a cursor whose orders are gone gives the first page."""
    return keyset_page(
        orders,
        keys=ORDER_LIST_KEYS,
        cursor=cursor,
        per_page=ORDERS_PER_PAGE,
        salt=ORDER_LIST_CURSOR_SALT,
    )


def sales_for_seller(*, user, status: str | None = None) -> QuerySet[Order]:
    qs = _orders().filter(seller=user).exclude(status=Order.Status.PENDING_PAYMENT)
    if status:
        qs = qs.filter(status=status)
    return qs


def access_order(*, user, order_id: int, with_details: bool = False) -> Order:
    """The order if `user` is its buyer, seller or staff; 404 for everyone else.

    `with_details` also loads the items, the refunds and the timeline (with actors) for the
    detail page.
    """
    qs = _orders()
    if with_details:
        qs = qs.prefetch_related(
            "items",
            "refunds",
            Prefetch("events", queryset=OrderEvent.objects.select_related("actor")),
        )
    order = qs.filter(pk=order_id).first()
    if order is None or not (user.pk in (order.buyer_id, order.seller_id) or user.is_staff):
        raise Http404("No such order.")
    return order


def access_checkout(*, user, public_id) -> Checkout:
    checkout = (
        Checkout.objects.filter(public_id=public_id, buyer=user)
        .prefetch_related(Prefetch("orders", queryset=_orders().prefetch_related("refunds")))
        .first()
    )
    if checkout is None:
        raise Http404("No such checkout.")
    return checkout


def addresses_for(*, user) -> QuerySet[Address]:
    return Address.objects.filter(user=user)


# --- Offers -----------------------------------------------------------------------------------
OFFERS_SHOWN = 100


def _offers() -> QuerySet[Offer]:
    """Offers with what the offers page and orders.rules.offer_actions read: the listing, its
    seller and photos, both members."""
    return Offer.objects.select_related("listing__seller", "buyer", "seller").prefetch_related(
        Prefetch("listing__images", queryset=ListingImage.objects.order_by("position", "id"))
    )


def offers_sent(*, user) -> QuerySet[Offer]:
    """The offers `user` made or was sent as a liker (the newest OFFERS_SHOWN), newest first."""
    return _offers().filter(buyer=user)[:OFFERS_SHOWN]


def offers_received(*, user) -> QuerySet[Offer]:
    """The offers on `user`'s items (the newest OFFERS_SHOWN), newest first."""
    return _offers().filter(seller=user)[:OFFERS_SHOWN]


def access_offer(*, user, offer_id: int) -> Offer:
    """The offer if `user` is its buyer or seller (with what its row on the offers page reads);
    404 for everyone else."""
    offer = _offers().filter(pk=offer_id).first()
    if offer is None or user.pk not in (offer.buyer_id, offer.seller_id):
        raise Http404("No such offer.")
    return offer


def offer_open_for(*, user, listing_id: int) -> Offer | None:
    """`user`'s open offer on the listing (at most one), for the listing page."""
    if not user.is_authenticated:
        return None
    return Offer.objects.open().filter(buyer=user, listing_id=listing_id).first()
