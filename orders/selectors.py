"""Read side of the orders app; querysets come with their relations loaded."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Prefetch, QuerySet, Sum
from django.http import Http404

from marketplace.models import Listing
from orders.models import Address, CartItem, Checkout, Order, OrderEvent
from orders.payments import get_gateway
from orders.rules import Price, lines_price, prices_total, unavailable_reason
from orders.services.cart import SESSION_KEY


@dataclass
class CartLine:
    listing: Listing
    quantity: int
    problem: str | None

    @property
    def available(self) -> bool:
        return self.problem is None

    @property
    def line_total(self) -> Decimal:
        return self.listing.price * self.quantity


@dataclass
class CartGroup:
    seller: object
    lines: list[CartLine] = field(default_factory=list)

    @property
    def buyable_lines(self) -> list[CartLine]:
        return [line for line in self.lines if line.available]

    @property
    def price(self) -> Price:
        """What the buyable lines cost (orders.rules.lines_price, as checkout charges it)."""
        return lines_price((line.listing, line.quantity) for line in self.buyable_lines)

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
    """The cart grouped per seller, with unavailable lines flagged (3 queries)."""
    quantities = _cart_quantities(user, session)
    if not quantities:
        return []
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
        problem = unavailable_reason(
            listing, buyer_id=buyer_id, quantity=quantity, requires_onboarding=requires_onboarding
        )
        group = groups.setdefault(listing.seller_id, CartGroup(seller=listing.seller))
        group.lines.append(CartLine(listing=listing, quantity=quantity, problem=problem))
    return list(groups.values())


def cart_total(groups: list[CartGroup]) -> Decimal:
    """What the buyer would pay for the cart (buyable lines): the total checkout will charge."""
    return prices_total(group.price for group in groups)


def cart_count(*, user, session) -> int:
    """Units in the cart, for the header: one cheap query for signed-in users, none otherwise."""
    if user.is_authenticated:
        return CartItem.objects.filter(cart__user=user).aggregate(n=Sum("quantity"))["n"] or 0
    return sum((session.get(SESSION_KEY) or {}).values())


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("buyer", "seller", "checkout")


def orders_for_buyer(*, user) -> QuerySet[Order]:
    return _orders().filter(buyer=user)


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
