"""The Stripe Checkout Session expires with the reservation; its expiry releases the stock."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from marketplace.models import Listing
from orders.models import Checkout, Order, Reservation, SellerPaymentAccount
from orders.services.checkout import reservations_release_expired
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.stripe_support import ADDRESS, event, post_event, sign

pytestmark = pytest.mark.django_db


def checkout_through_stripe(client, fake) -> tuple[Checkout, Listing, int, int]:
    """Buy one item of a ready seller; returns the checkout and the time window of the call."""
    listing = ListingFactory()
    SellerPaymentAccount.objects.create(
        user=listing.seller,
        stripe_account_id=f"acct_{listing.seller_id}",
        details_submitted=True,
        charges_enabled=True,
        payouts_enabled=True,
    )
    buyer = UserFactory()
    client.force_login(buyer)
    client.post(reverse("orders:cart_add", args=[listing.pk]))
    before = int(timezone.now().timestamp())
    response = client.post(reverse("orders:checkout"), ADDRESS)
    after = int(timezone.now().timestamp()) + 1
    assert response.status_code == 302
    return Checkout.objects.get(buyer=buyer), listing, before, after


@pytest.mark.parametrize(("ttl", "minutes"), [(10, 30), (30, 30), (45, 45)])
def test_session_expires_with_reservation(client, fake_stripe, settings, ttl, minutes):
    """expires_at is max(30 min, RESERVATION_TTL_MINUTES) and the reservation ends with it."""
    settings.RESERVATION_TTL_MINUTES = ttl
    checkout, _, before, after = checkout_through_stripe(client, fake_stripe)
    sent = int(fake_stripe.posts("/v1/checkout/sessions")[0]["params"]["expires_at"])
    assert before + minutes * 60 <= sent <= after + minutes * 60
    assert abs(checkout.expires_at.timestamp() - sent) < 1
    reservation = Reservation.objects.get(checkout=checkout)
    assert abs(reservation.expires_at.timestamp() - sent) < 1


def test_short_ttl_reservation_not_released_while_session_open(client, fake_stripe, settings):
    """With a 10-minute TTL the stock stays held until the 30-minute session is over."""
    settings.RESERVATION_TTL_MINUTES = 10
    checkout, listing, _, _ = checkout_through_stripe(client, fake_stripe)
    assert reservations_release_expired(now=timezone.now() + timedelta(minutes=15)) == 0
    assert reservations_release_expired(now=timezone.now() + timedelta(minutes=31)) == 1
    listing.refresh_from_db()
    assert (listing.status, listing.quantity) == (Listing.Status.ACTIVE, 1)


def expired_event(event_id: str, checkout: Checkout) -> str:
    return event(
        event_id,
        "checkout.session.expired",
        {
            "id": checkout.gateway_ref,
            "object": "checkout.session",
            "status": "expired",
            "payment_status": "unpaid",
            "client_reference_id": str(checkout.public_id),
            "metadata": {"checkout": str(checkout.public_id)},
        },
    )


def test_session_expired_releases_reservation_once(client, fake_stripe):
    """checkout.session.expired releases the stock and cancels the order; the replay and a
    second expiry event for the same session change nothing."""
    checkout, listing, _, _ = checkout_through_stripe(client, fake_stripe)
    listing.refresh_from_db()
    assert (listing.status, listing.quantity) == (Listing.Status.RESERVED, 0)
    for event_id in ("evt_exp", "evt_exp", "evt_exp_again"):
        payload = expired_event(event_id, checkout)
        assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    checkout.refresh_from_db()
    listing.refresh_from_db()
    assert checkout.status == Checkout.Status.EXPIRED
    assert (listing.status, listing.quantity) == (Listing.Status.ACTIVE, 1)
    assert checkout.orders.get().status == Order.Status.CANCELLED
    assert checkout.orders.get().events.filter(to_status="cancelled").count() == 1
    assert Reservation.objects.get(checkout=checkout).status == Reservation.Status.RELEASED


def test_session_expired_after_payment_is_ignored(client, fake_stripe):
    """An expiry event arriving after the payment leaves the paid order and sold item alone."""
    checkout, listing, _, _ = checkout_through_stripe(client, fake_stripe)
    session = fake_stripe.pay_session(checkout.gateway_ref)
    paid = event("evt_paid", "checkout.session.completed", session)
    assert post_event(client, paid, HTTP_STRIPE_SIGNATURE=sign(paid)).status_code == 200
    payload = expired_event("evt_exp", checkout)
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    listing.refresh_from_db()
    assert checkout.orders.get().status == Order.Status.PAID
    assert listing.status == Listing.Status.SOLD


def test_late_stripe_payment_refunded_after_commit_with_key_and_retry(
    client, fake_stripe, settings, django_capture_on_commit_callbacks
):
    """A payment landing after the reservation was released and the item resold is refunded
    through the SDK after the webhook commits; when Stripe is down then, retry_refunds sends it
    with the same Idempotency-Key, and a second run sends nothing."""
    from django.core.management import call_command

    from orders.models import Refund

    checkout, listing, _, _ = checkout_through_stripe(client, fake_stripe)
    reservations_release_expired(now=timezone.now() + timedelta(minutes=31))
    client.force_login(UserFactory())
    client.post(reverse("orders:cart_add", args=[listing.pk]))
    client.post(reverse("orders:checkout"), ADDRESS)  # someone else buys the item
    session = fake_stripe.pay_session(checkout.gateway_ref)
    payload = event("evt_late", "checkout.session.completed", session)
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # Stripe unreachable after commit
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    refund = Refund.objects.get(order__checkout=checkout)
    assert refund.status == Refund.Status.PENDING
    assert fake_stripe.posts("/v1/refunds") == []
    settings.STRIPE_API_BASE = fake_stripe.url
    with django_capture_on_commit_callbacks(execute=True):
        call_command("retry_refunds")
        call_command("retry_refunds")
    posts = fake_stripe.posts("/v1/refunds")
    order = checkout.orders.get()
    assert [p["idempotency_key"] for p in posts] == [f"order-{order.pk}-refund-{refund.pk}"]
    assert posts[0]["params"]["payment_intent"] == session["payment_intent"]
    assert int(posts[0]["params"]["amount"]) == int(order.total * 100)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert order.status == Order.Status.CANCELLED
