"""Shortcuts that drive the real services for test set-up."""

from orders.models import Checkout, Order
from orders.services.cart import cart_add_item
from orders.services.checkout import checkout_reserve, checkout_start_payment
from orders.services.payment import checkout_mark_paid
from orders.tests.factories import AddressFactory, ListingFactory, UserFactory


def start_checkout(buyer, listings, address=None) -> Checkout:
    for listing in listings:
        cart_add_item(user=buyer, session={}, listing_id=listing.pk)
    address = address or AddressFactory(user=buyer)
    checkout = checkout_reserve(buyer=buyer, address=address)
    checkout_start_payment(
        checkout=checkout, success_url="http://testserver/ok", cancel_url="http://testserver/cancel"
    )
    checkout.refresh_from_db()
    return checkout


def paid_order(**listing_kwargs) -> Order:
    """One paid order from a fresh seller to a fresh buyer."""
    buyer = UserFactory()
    listing = ListingFactory(**listing_kwargs)
    checkout = start_checkout(buyer, [listing])
    checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
    return checkout.orders.get()
