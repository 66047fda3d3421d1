"""A listing taken down (hidden by moderation, its seller banned) after it was reserved is not
sold when the payment arrives: that seller's order is cancelled, its share refunded through
the gateway after commit with an idempotency key, the buyer told by email and on the page, and
it is audited. A seller who goes on holiday after the reservation still makes the sale."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.services import user_set_banned
from core.models import AuditLog
from marketplace.models import Listing
from marketplace.services.moderation import listing_set_hidden
from orders.models import Checkout, Order, Refund
from orders.services.checkout import checkout_reserve, reservations_release_expired
from orders.services.payment import TAKEN_DOWN, checkout_mark_paid
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.gateway_support import assert_refund_retried_once_after_outage
from orders.tests.helpers import start_checkout
from orders.tests.stripe_support import WEBHOOK_SECRET, event, post_event, sign

pytestmark = pytest.mark.django_db


def refunds_sent(gateway_log: list[dict]) -> list[dict]:
    return [e for e in gateway_log if e["op"] == "refund"]


def pay(checkout: Checkout) -> Checkout:
    return checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)


def hide(listing: Listing) -> None:
    listing_set_hidden(
        listing_id=listing.pk, hidden=True, actor=UserFactory(is_staff=True), reason="Fake"
    )


def test_listing_hidden_after_reservation_is_refunded_not_sold(
    buyer, django_capture_on_commit_callbacks, gateway_log
):
    """The payment for a listing hidden by moderation after it was reserved cancels the order
    and refunds its total after commit with the refund's key; the item is not sold."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    hide(listing)
    with django_capture_on_commit_callbacks(execute=True):
        pay(checkout)
        assert refunds_sent(gateway_log) == []
        assert Refund.objects.get(order__checkout=checkout).status == Refund.Status.PENDING
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    order = checkout.orders.get()
    assert order.status == Order.Status.CANCELLED
    assert order.events.last().note == f"{TAKEN_DOWN}; payment refunded"
    refund = order.refunds.get()
    assert (refund.status, refund.amount, refund.reason) == ("succeeded", order.total, TAKEN_DOWN)
    assert [(e["amount"], e["key"]) for e in refunds_sent(gateway_log)] == [
        (order.total, f"order-{order.pk}-refund-{refund.pk}")
    ]
    listing.refresh_from_db()
    assert listing.status == Listing.Status.ACTIVE  # held unit given back; still hidden
    assert (listing.quantity, listing.held_quantity, listing.is_hidden) == (1, 0, True)


def test_seller_banned_after_reservation_is_refunded_not_sold(
    buyer, django_capture_on_commit_callbacks, gateway_log
):
    """A seller banned between reservation and payment makes no sale: refunded, not paid."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    user_set_banned(user_id=listing.seller_id, banned=True, actor=None, reason="Fraud")
    with django_capture_on_commit_callbacks(execute=True):
        pay(checkout)
    order = checkout.orders.get()
    assert order.status == Order.Status.CANCELLED
    assert order.refunds.get().status == Refund.Status.SUCCEEDED
    assert len(refunds_sent(gateway_log)) == 1
    listing.refresh_from_db()
    assert listing.status != Listing.Status.SOLD


def test_taken_down_is_audited_and_the_buyer_emailed_not_the_seller(
    buyer, django_capture_on_commit_callbacks, gateway_log
):
    """The buyer gets an email saying the order was cancelled and is being refunded (then the
    refund confirmation); the seller gets no "you sold something"; an audit entry records it."""
    listing = ListingFactory(title="Banned band tee")
    checkout = start_checkout(buyer, [listing])
    hide(listing)
    with django_capture_on_commit_callbacks(execute=True):
        pay(checkout)
    order = checkout.orders.get()
    assert [m.to for m in mail.outbox] == [[buyer.email], [buyer.email]]
    told = mail.outbox[0]
    assert told.subject == f"Order #{order.pk} was cancelled; your payment is being refunded"
    assert "taken down by Threadly" in told.body
    assert "Banned band tee" in told.body
    assert "taken down by Threadly" in told.alternatives[0][0]
    assert mail.outbox[1].subject == f"Order #{order.pk} was refunded"
    entry = AuditLog.objects.get(action="order.taken_down_at_payment")
    assert entry.target_id == str(order.pk)
    assert entry.data["listings"] == [listing.pk]
    assert entry.data["refund"] == order.refunds.get().pk


def test_two_sellers_one_taken_down_refunds_only_that_share(
    buyer, address, two_seller_cart, django_capture_on_commit_callbacks, gateway_log
):
    """Seller A's item is hidden: A's order (both of its items) is cancelled and exactly its
    total refunded; seller B's order is paid and B's item sold as usual."""
    a1, a2, b1 = two_seller_cart
    checkout = checkout_reserve(buyer=buyer, address=address)
    hide(a1)
    with django_capture_on_commit_callbacks(execute=True):
        pay(checkout)
    order_a = checkout.orders.get(seller=a1.seller)
    order_b = checkout.orders.get(seller=b1.seller)
    assert (order_a.status, order_b.status) == (Order.Status.CANCELLED, Order.Status.PAID)
    assert [e["amount"] for e in refunds_sent(gateway_log)] == [order_a.total]
    assert order_a.total < checkout.total
    assert not order_b.refunds.exists()
    for listing, status in ((a1, "active"), (a2, "active"), (b1, "sold")):
        listing.refresh_from_db()
        assert listing.status == status, listing
    assert {m.subject for m in mail.outbox} >= {
        f"Order #{order_a.pk} was cancelled; your payment is being refunded",
        f"Your order #{order_b.pk} is confirmed",
        f"You sold something! Order #{order_b.pk}",
    }
    assert f"You sold something! Order #{order_a.pk}" not in {m.subject for m in mail.outbox}


def test_taken_down_payment_delivered_twice_refunds_once(
    client, settings, buyer, django_capture_on_commit_callbacks, gateway_log
):
    """Through the webhook: the refund waits for the commit, and a redelivered or second
    success event for the same payment refunds nothing more."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    hide(listing)
    payload = event(
        "evt_taken_down",
        "payment_intent.succeeded",
        {
            "id": "pi_taken_down",
            "object": "payment_intent",
            "status": "succeeded",
            "metadata": {"checkout": str(checkout.public_id)},
        },
    )
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
            assert response.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        pay(checkout)
    assert len(refunds_sent(gateway_log)) == 1
    assert Refund.objects.filter(order__checkout=checkout).count() == 1
    assert AuditLog.objects.filter(action="order.taken_down_at_payment").count() == 1


def test_taken_down_refund_failing_after_commit_is_retried_once(
    buyer, monkeypatch, django_capture_on_commit_callbacks, gateway_log
):
    """If the provider is down after commit the refund stays owed and `retry_refunds` sends it
    once, with the same key."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    hide(listing)
    assert_refund_retried_once_after_outage(
        monkeypatch=monkeypatch,
        capture=django_capture_on_commit_callbacks,
        gateway_log=gateway_log,
        pay=lambda: pay(checkout),
        refund_of=lambda: Refund.objects.get(order__checkout=checkout),
    )


def test_late_payment_for_a_taken_down_item_says_taken_down_not_sold(
    buyer, django_capture_on_commit_callbacks, gateway_log
):
    """A payment arriving after the reservation expired, for an item hidden meanwhile, is
    refunded with the true reason (taken down), not "paid after the item was sold"."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now())
    reservations_release_expired()
    hide(listing)
    with django_capture_on_commit_callbacks(execute=True):
        pay(checkout)
    order = checkout.orders.get()
    assert order.status == Order.Status.CANCELLED
    assert order.refunds.get().reason == TAKEN_DOWN
    assert order.events.last().note == f"{TAKEN_DOWN}; payment refunded"
    assert len(refunds_sent(gateway_log)) == 1


def test_holiday_mode_after_reservation_the_sale_goes_through(
    buyer, django_capture_on_commit_callbacks, gateway_log
):
    """A seller who switches holiday mode on after the reservation still makes the sale: the
    buyer paid while the item was on sale (as Vinted lets sellers finish open orders)."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    listing.seller.profile.holiday_mode = True
    listing.seller.profile.save(update_fields=["holiday_mode"])
    with django_capture_on_commit_callbacks(execute=True):
        pay(checkout)
    order = checkout.orders.get()
    assert order.status == Order.Status.PAID
    assert refunds_sent(gateway_log) == []
    listing.refresh_from_db()
    assert listing.status == Listing.Status.SOLD
    assert f"You sold something! Order #{order.pk}" in {m.subject for m in mail.outbox}


def test_buyer_sees_the_taken_down_order_on_the_return_and_order_pages(
    client, buyer, django_capture_on_commit_callbacks
):
    """After paying on the test page the buyer lands on a page that says the order couldn't be
    completed, why, and that the money is refunded; the order page lists the refund."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing])
    hide(listing)
    client.force_login(buyer)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            reverse("orders:test_payment", args=[checkout.public_id]),
            {"decision": "approve"},
            follow=True,
        )
    assert done.status_code == 200
    assert "We couldn't complete your order" in done.text
    assert "Thank you for your order" not in done.text
    assert f"{TAKEN_DOWN}; this order won't be sent." in done.text
    # The page is drawn before the commit's refund call: the money is still on its way.
    assert "is being refunded to your payment method" in done.text
    again = client.get(reverse("orders:checkout_done", args=[checkout.public_id]))
    assert "was refunded to your payment method" in again.text
    order = checkout.orders.get()
    page = client.get(order.get_absolute_url())
    assert TAKEN_DOWN in page.text
    assert "Refunds" in page.text
    assert "Succeeded" in page.text


def test_return_page_thanks_for_the_orders_that_went_through(
    client, buyer, address, two_seller_cart, django_capture_on_commit_callbacks
):
    """With one of two sellers' items taken down, the page thanks the buyer and explains the
    one cancelled order's refund."""
    a1, _a2, _b1 = two_seller_cart
    checkout = checkout_reserve(buyer=buyer, address=address)
    hide(a1)
    pay(checkout)
    client.force_login(buyer)
    page = client.get(reverse("orders:checkout_done", args=[checkout.public_id]))
    assert "Thank you for your order" in page.text
    assert page.text.count("this order won't be sent") == 1
    assert "is being refunded to your payment method" in page.text
