"""Set-up for the review tests: completed orders made by the real services."""

from orders.models import Order, Review
from orders.services.payment import checkout_mark_paid
from orders.services.reviews import review_create
from orders.services.transitions import order_confirm_delivery, order_mark_shipped
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.helpers import paid_order, start_checkout


def ship(order: Order) -> Order:
    return order_mark_shipped(
        order_id=order.pk, actor=order.seller, carrier="DHL", tracking_number="JD0001"
    )


def complete(order: Order) -> Order:
    ship(order)
    return order_confirm_delivery(order_id=order.pk, actor=order.buyer)


def completed_order(*, seller=None, buyer=None) -> Order:
    """A completed order (the buyer confirmed delivery, the seller was paid)."""
    if seller is None and buyer is None:
        order = paid_order()
    else:
        listing = ListingFactory(seller=seller) if seller else ListingFactory()
        checkout = start_checkout(buyer or UserFactory(), [listing])
        checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
        order = checkout.orders.get()
    order = complete(order)
    assert order.status == Order.Status.COMPLETED
    return order


def reviewed(order: Order, rating: int = 5, text: str = "Great, thanks!") -> Review:
    return review_create(order_id=order.pk, author=order.buyer, rating=rating, text=text)
