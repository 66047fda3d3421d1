"""Concurrency on PostgreSQL: many buyers for one unique item; webhook vs buyer return."""

import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from marketplace.models import Listing
from orders.exceptions import ListingUnavailable
from orders.models import Checkout, Order, OrderEvent, Reservation
from orders.payments.events import CheckoutRef, PaymentSucceeded
from orders.services.cart import cart_add_item
from orders.services.checkout import checkout_reserve, checkout_start_payment
from orders.services.payment import checkout_test_payment_decide
from orders.services.webhooks import payment_event_apply
from orders.tests.factories import AddressFactory, ListingFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only(settings):
    if connection.vendor != "postgresql":
        pytest.skip("row-lock races need PostgreSQL")


def run_together(functions):
    """Start all functions at the same moment (a barrier), each on its own connection."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def runner(i, fn):
        try:
            barrier.wait()
            results[i] = ("ok", fn())
        except Exception as exc:  # collected and asserted on by the test
            results[i] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i, fn)) for i, fn in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_twenty_buyers_one_unique_item_exactly_one_paid_order():
    """20 parallel checkouts of the last unit: one wins and pays, 19 get 'just sold'."""
    listing = ListingFactory(price=Decimal("25.00"), quantity=1)
    buyers = [UserFactory() for _ in range(20)]
    addresses = {b.pk: AddressFactory(user=b) for b in buyers}
    for buyer in buyers:
        cart_add_item(user=buyer, session={}, listing_id=listing.pk)

    def buy(buyer):
        def attempt():
            checkout = checkout_reserve(buyer=buyer, address=addresses[buyer.pk])
            checkout_start_payment(
                checkout=checkout, success_url="http://t/ok", cancel_url="http://t/no"
            )
            checkout.refresh_from_db()
            return checkout_test_payment_decide(checkout=checkout, actor=buyer, approve=True)

        return attempt

    results = run_together([buy(b) for b in buyers])
    winners = [value for kind, value in results if kind == "ok"]
    losers = [value for kind, value in results if kind == "error"]
    assert len(winners) == 1
    assert len(losers) == 19
    assert all(isinstance(e, ListingUnavailable) and "just sold" in e.message for e in losers)
    assert Order.objects.filter(status=Order.Status.PAID).count() == 1
    assert Order.objects.count() == 1
    assert Reservation.objects.count() == 1
    listing.refresh_from_db()
    assert (listing.quantity, listing.status) == (0, Listing.Status.SOLD)


@pytest.mark.parametrize("rounds", range(3))
def test_webhook_and_buyer_return_race_one_paid_order(rounds):
    """The success webhook and the buyer's return completing at once: one paid order,
    stock taken once, one 'paid' event per order."""
    buyer = UserFactory()
    listing = ListingFactory(quantity=2)
    cart_add_item(user=buyer, session={}, listing_id=listing.pk, quantity=1)
    checkout = checkout_reserve(buyer=buyer, address=AddressFactory(user=buyer))
    checkout_start_payment(checkout=checkout, success_url="http://t/ok", cancel_url="http://t/no")
    checkout.refresh_from_db()
    event = PaymentSucceeded(
        event_id=f"evt_race_{rounds}",
        event_type="payment_intent.succeeded",
        checkout=CheckoutRef(public_id=checkout.public_id, payment_intent_ref="pi_race"),
        payment_intent_ref="pi_race",
    )
    results = run_together(
        [
            lambda: payment_event_apply(event=event),
            lambda: checkout_test_payment_decide(checkout=checkout, actor=buyer, approve=True),
        ]
    )
    assert [kind for kind, _ in results] == ["ok", "ok"]
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    listing.refresh_from_db()
    assert (listing.quantity, listing.status) == (1, Listing.Status.ACTIVE)
    order = checkout.orders.get()
    assert order.status == Order.Status.PAID
    assert OrderEvent.objects.filter(order=order, to_status="paid").count() == 1
