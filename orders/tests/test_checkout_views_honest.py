"""Cancelling a checkout says what cancelling did for the state the checkout was in, and
changes nothing unless it was still waiting for payment."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from marketplace.models import Listing
from orders.models import Checkout, Order
from orders.services.payment import (
    checkout_mark_failed,
    checkout_mark_paid,
    checkout_mark_refunded_before_paid,
)
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.helpers import start_checkout

pytestmark = pytest.mark.django_db


def cancel(client, checkout: Checkout):
    url = reverse("orders:checkout_cancel", kwargs={"public_id": checkout.public_id})
    response = client.post(url)
    return response, [str(m) for m in get_messages(response.wsgi_request)]


def test_cancel_pending_checkout_releases_items_and_says_so(client, buyer):
    """Cancelling a checkout waiting for payment releases the items and says so."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    client.force_login(buyer)
    response, said = cancel(client, checkout)
    assert response["Location"] == reverse("orders:cart")
    assert said == ["Payment cancelled; your items were released."]
    listing.refresh_from_db()
    assert listing.status == Listing.Status.ACTIVE
    assert checkout.orders.get().status == Order.Status.CANCELLED


def test_cancel_paid_checkout_says_nothing_was_cancelled(client, buyer):
    """Cancelling a paid checkout changes nothing and says it was already paid, pointing to
    the orders (where a paid order can be cancelled)."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
    client.force_login(buyer)
    response, said = cancel(client, checkout)
    assert response["Location"] == reverse("orders:order_list")
    assert said == [
        "This checkout is already paid, so nothing was cancelled. To cancel an order, "
        "open it from your orders."
    ]
    assert "released" not in said[0]
    assert checkout.orders.get().status == Order.Status.PAID
    listing.refresh_from_db()
    assert listing.status == Listing.Status.SOLD


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (
            Checkout.Status.FAILED,
            "This checkout had already ended without payment; nothing was charged and its "
            "items were already released.",
        ),
        (
            Checkout.Status.EXPIRED,
            "This checkout had already ended without payment; nothing was charged and its "
            "items were already released.",
        ),
    ],
)
def test_cancel_ended_checkout_says_it_had_already_ended(client, buyer, status, expected):
    """Cancelling a checkout that failed or expired changes nothing and says so."""
    checkout = start_checkout(buyer, [ListingFactory()])
    checkout_mark_failed(checkout_id=checkout.pk, status=status)
    client.force_login(buyer)
    response, said = cancel(client, checkout)
    assert response["Location"] == reverse("orders:cart")
    assert said == [expected]
    checkout.refresh_from_db()
    assert checkout.status == status


def test_cancel_refunded_checkout_says_it_was_refunded(client, buyer):
    """Cancelling a checkout refunded before the payment confirmation changes nothing."""
    checkout = start_checkout(buyer, [ListingFactory()])
    checkout_mark_refunded_before_paid(checkout_id=checkout.pk)
    client.force_login(buyer)
    response, said = cancel(client, checkout)
    assert response["Location"] == reverse("orders:order_list")
    assert said == ["This checkout was already refunded; nothing was cancelled."]
    assert checkout.orders.get().status == Order.Status.REFUNDED


def test_cancel_page_for_a_paid_checkout_offers_no_release(client, buyer):
    """The cancel page (where the payment page's "back" link lands) of a paid checkout says it
    is paid and links to the orders instead of offering to release the items."""
    checkout = start_checkout(buyer, [ListingFactory()])
    checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
    client.force_login(buyer)
    page = client.get(reverse("orders:checkout_cancel", kwargs={"public_id": checkout.public_id}))
    assert page.status_code == 200
    assert "release" not in page.text.lower()
    assert "already paid" in page.text
    assert reverse("orders:order_list") in page.text


def test_cancel_someone_elses_checkout_is_404(client, buyer):
    """Another member can't cancel (or learn the state of) a buyer's checkout."""
    checkout = start_checkout(buyer, [ListingFactory()])
    client.force_login(UserFactory())
    assert cancel(client, checkout)[0].status_code == 404
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PENDING
