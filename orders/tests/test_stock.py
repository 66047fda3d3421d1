"""Orders' side of stock: marketplace's stock errors become ListingUnavailable, and a
checkout or order gives its units back exactly once."""

import pytest
from django.db import transaction

from marketplace.models import Listing
from marketplace.services import listings_lock
from orders.exceptions import ListingUnavailable
from orders.models import Checkout, Order, Reservation
from orders.services.cart import cart_add_item
from orders.services.checkout import checkout_reserve, checkout_start_payment
from orders.services.payment import (
    checkout_mark_failed,
    checkout_mark_paid,
    checkout_mark_refunded_before_paid,
    order_cancel,
)
from orders.services.refunds import refund_confirm
from orders.services.stock import reservation_stock_take
from orders.tests.factories import ListingFactory

pytestmark = pytest.mark.django_db


def stock_of(listing: Listing) -> tuple[int, str]:
    listing.refresh_from_db()
    return listing.quantity, listing.status


def reserve_two_of_three(buyer, address) -> tuple[Listing, Checkout]:
    listing = ListingFactory(quantity=3)
    cart_add_item(user=buyer, session={}, listing_id=listing.pk, quantity=2)
    checkout = checkout_reserve(buyer=buyer, address=address)
    checkout_start_payment(checkout=checkout, success_url="http://t/ok", cancel_url="http://t/no")
    checkout.refresh_from_db()
    assert stock_of(listing) == (1, Listing.Status.ACTIVE)
    return listing, checkout


def test_stock_take_of_sold_out_listing_is_listing_unavailable():
    """Marketplace's out-of-stock error reaches checkout as ListingUnavailable('just sold')."""
    listing = ListingFactory(quantity=0, status=Listing.Status.RESERVED)
    with (
        transaction.atomic(),
        pytest.raises(ListingUnavailable, match="Sorry, this item was just sold.") as info,
    ):
        reservation_stock_take(
            listing=listings_lock(listing_ids=[listing.pk])[listing.pk], quantity=1
        )
    assert info.value.message == "Sorry, this item was just sold."
    assert stock_of(listing) == (0, Listing.Status.RESERVED)


def test_failed_checkout_gives_units_back_once(buyer, address):
    """Failing, expiring or refunding an already released checkout returns nothing more."""
    listing, checkout = reserve_two_of_three(buyer, address)
    checkout_mark_failed(checkout_id=checkout.pk)
    assert stock_of(listing) == (3, Listing.Status.ACTIVE)
    checkout_mark_failed(checkout_id=checkout.pk)
    checkout_mark_failed(checkout_id=checkout.pk, status=Checkout.Status.EXPIRED)
    checkout_mark_refunded_before_paid(checkout_id=checkout.pk)
    assert stock_of(listing) == (3, Listing.Status.ACTIVE)
    assert checkout.reservations.get().status == Reservation.Status.RELEASED


def test_cancelled_paid_order_gives_units_back_once(buyer, address):
    """A cancellation refund confirmed twice puts the sold units back on sale only once."""
    listing = ListingFactory(quantity=1)
    cart_add_item(user=buyer, session={}, listing_id=listing.pk)
    checkout = checkout_reserve(buyer=buyer, address=address)
    checkout_start_payment(checkout=checkout, success_url="http://t/ok", cancel_url="http://t/no")
    checkout_mark_paid(checkout_id=checkout.pk)
    assert stock_of(listing) == (0, Listing.Status.SOLD)
    order = checkout.orders.get()
    order_cancel(order_id=order.pk, actor=buyer)
    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert stock_of(listing) == (1, Listing.Status.ACTIVE)
    refund_confirm(refund_id=order.refunds.get().pk)
    assert stock_of(listing) == (1, Listing.Status.ACTIVE)
    assert Reservation.objects.get(checkout=checkout).status == Reservation.Status.RELEASED
