from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from core.analytics import get_backend
from marketplace.models import Listing
from orders.exceptions import CheckoutError, ListingUnavailable
from orders.models import CartItem, Checkout, Order, Reservation
from orders.services.cart import cart_add_item
from orders.services.checkout import checkout_reserve, reservations_release_expired
from orders.services.payment import (
    checkout_mark_failed,
    checkout_mark_paid,
    checkout_test_payment_decide,
)
from orders.tests.factories import AddressFactory, ListingFactory, UserFactory
from orders.tests.helpers import start_checkout

pytestmark = pytest.mark.django_db


def test_checkout_two_sellers_one_checkout_two_orders(buyer, address, two_seller_cart):
    """A cart from two sellers becomes one checkout with one order per seller and fees."""
    a1, a2, b1 = two_seller_cart
    checkout = checkout_reserve(buyer=buyer, address=address)
    orders = {o.seller_id: o for o in checkout.orders.all()}
    assert set(orders) == {a1.seller_id, b1.seller_id}
    a = orders[a1.seller_id]
    assert a.items_total == Decimal("35.55")
    assert a.shipping_total == Decimal("4.50")
    assert a.platform_fee == Decimal("1.78")  # 5% of 35.55 = 1.7775 -> half-up 1.78
    assert a.seller_amount == Decimal("38.27")
    b = orders[b1.seller_id]
    assert b.platform_fee == Decimal("1.67")  # 1.6665 -> 1.67
    assert checkout.total == a.total + b.total == Decimal("76.38")
    assert checkout.status == Checkout.Status.PENDING
    assert not CartItem.objects.filter(cart__user=buyer).exists()


def test_checkout_reserves_stock_and_payment_sells_it(buyer, address):
    """Starting payment holds the unit (reserved); a success sells it."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing], address)
    listing.refresh_from_db()
    assert (listing.quantity, listing.status) == (0, Listing.Status.RESERVED)
    with_callbacks = checkout_mark_paid(checkout_id=checkout.pk)
    listing.refresh_from_db()
    assert listing.status == Listing.Status.SOLD
    assert with_callbacks.status == Checkout.Status.PAID
    assert checkout.orders.get().status == Order.Status.PAID


def test_checkout_paid_twice_is_a_noop(buyer, address, django_capture_on_commit_callbacks):
    """A second success (webhook after return) changes nothing and sends no second email."""
    listing = ListingFactory(quantity=3)
    cart_add_item(user=buyer, session={}, listing_id=listing.pk, quantity=2)
    checkout = checkout_reserve(buyer=buyer, address=address)
    with django_capture_on_commit_callbacks(execute=True):
        checkout_mark_paid(checkout_id=checkout.pk)
    with django_capture_on_commit_callbacks(execute=True):
        checkout_mark_paid(checkout_id=checkout.pk)
    listing.refresh_from_db()
    assert listing.quantity == 1
    assert listing.status == Listing.Status.ACTIVE
    assert checkout.orders.get().events.filter(to_status="paid").count() == 1
    assert len(mail.outbox) == 2  # confirmation to buyer + new sale to seller, once


def test_paid_emails_have_html_and_text(buyer, address, django_capture_on_commit_callbacks):
    """The buyer's confirmation and the seller's new-sale email have both parts."""
    checkout = start_checkout(buyer, [ListingFactory()], address)
    with django_capture_on_commit_callbacks(execute=True):
        checkout_mark_paid(checkout_id=checkout.pk)
    order = checkout.orders.get()
    by_to = {m.to[0]: m for m in mail.outbox}
    assert "confirmed" in by_to[buyer.email].subject
    assert "sold" in by_to[order.seller.email].subject
    for message in mail.outbox:
        assert message.alternatives[0].mimetype == "text/html"
        assert f"Order #{order.pk}" in message.body
    events = [e.name for e in get_backend().events]
    assert "order_paid" in events


def test_checkout_last_item_second_buyer_just_sold(address):
    """When the last unit is reserved, the next buyer gets a clear 'just sold' error."""
    listing = ListingFactory()
    first, second = UserFactory(), UserFactory()
    cart_add_item(user=first, session={}, listing_id=listing.pk)
    cart_add_item(user=second, session={}, listing_id=listing.pk)
    start_checkout(first, [])
    with pytest.raises(ListingUnavailable, match="just sold"):
        checkout_reserve(
            buyer=second,
            address=address.__class__.objects.create(
                user=second,
                full_name="B",
                line1="1 Road",
                city="Paris",
                postcode="75001",
                country="FR",
            ),
        )
    assert Checkout.objects.filter(buyer=second).count() == 0


def test_checkout_empty_cart_refused(buyer, address):
    """Checking out an empty cart raises a clear error."""
    with pytest.raises(CheckoutError, match="empty"):
        checkout_reserve(buyer=buyer, address=address)


def test_checkout_someone_elses_address_refused(buyer, two_seller_cart):
    """A buyer can't ship to another user's saved address."""
    from orders.tests.factories import AddressFactory

    with pytest.raises(CheckoutError):
        checkout_reserve(buyer=buyer, address=AddressFactory())


def test_checkout_item_removed_after_carting_refused(buyer, address, two_seller_cart):
    """An item removed by the seller after carting blocks checkout and nothing is reserved."""
    a1, a2, b1 = two_seller_cart
    Listing.objects.filter(pk=b1.pk).update(status=Listing.Status.REMOVED)
    with pytest.raises(ListingUnavailable):
        checkout_reserve(buyer=buyer, address=address)
    a1.refresh_from_db()
    assert a1.quantity == 1
    assert not Reservation.objects.exists()


def test_release_expired_returns_stock(buyer, address):
    """An unpaid reservation past its TTL is released by the command; orders cancelled."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing], address)
    assert reservations_release_expired() == 0
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    call_command("release_reservations", stdout=open("/dev/null", "w"))  # noqa: SIM115
    listing.refresh_from_db()
    checkout.refresh_from_db()
    assert (listing.quantity, listing.status) == (1, Listing.Status.ACTIVE)
    assert checkout.status == Checkout.Status.EXPIRED
    assert checkout.orders.get().status == Order.Status.CANCELLED


def test_payment_after_expiry_retakes_stock_if_still_there(buyer, address):
    """A success arriving after expiry still completes the order when the item is unsold."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing], address)
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now())
    reservations_release_expired()
    checkout_mark_paid(checkout_id=checkout.pk)
    listing.refresh_from_db()
    assert listing.status == Listing.Status.SOLD
    assert checkout.orders.get().status == Order.Status.PAID


def test_payment_after_expiry_and_resale_is_refunded(
    buyer, address, django_capture_on_commit_callbacks, gateway_log
):
    """If the item was sold to someone else meanwhile, the late payment is refunded, after
    commit."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing], address)
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now())
    reservations_release_expired()
    start_checkout(UserFactory(), [listing])
    with django_capture_on_commit_callbacks(execute=True):
        checkout_mark_paid(checkout_id=checkout.pk)
        assert not [e for e in gateway_log if e["op"] == "refund"]
    order = checkout.orders.get()
    assert order.status == Order.Status.CANCELLED
    assert [e["op"] for e in gateway_log if e["op"] == "refund"] == ["refund"]
    assert order.refunds.get().status == "succeeded"


def test_declined_payment_releases_stock(buyer, address):
    """A failed payment cancels the orders and puts the item back on sale."""
    listing = ListingFactory()
    checkout = start_checkout(buyer, [listing], address)
    checkout_mark_failed(checkout_id=checkout.pk)
    listing.refresh_from_db()
    assert listing.status == Listing.Status.ACTIVE
    assert checkout.orders.get().status == Order.Status.CANCELLED
    # a late success for a failed checkout whose item is still there is honoured
    checkout_mark_paid(checkout_id=checkout.pk)
    assert checkout.orders.get().status == Order.Status.PAID


def test_funnel_analytics_events(buyer, address, django_capture_on_commit_callbacks):
    """added_to_cart, checkout_started and order_paid are captured after commit."""
    backend = get_backend()
    backend.clear()
    listing = ListingFactory()
    with django_capture_on_commit_callbacks(execute=True):
        cart_add_item(user=buyer, session={}, listing_id=listing.pk)
    with django_capture_on_commit_callbacks(execute=True):
        checkout = checkout_reserve(buyer=buyer, address=address)
    with django_capture_on_commit_callbacks(execute=True):
        checkout_mark_paid(checkout_id=checkout.pk)
    names = [e.name for e in backend.events]
    assert names == ["added_to_cart", "checkout_started", "order_paid"]
    assert backend.events[0].distinct_id == f"user:{buyer.pk}"


def test_system_checks_name_missing_settings(settings):
    """Missing ENCRYPTION_KEY in production and a missing webhook secret are reported."""
    from orders.checks import payment_settings_check

    settings.DEBUG, settings.RUNNING_TESTS, settings.ENCRYPTION_KEY = False, False, ""
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test_x", ""
    assert {p.id for p in payment_settings_check(None)} == {"orders.E001", "orders.W001"}


def test_production_without_payment_keys_is_a_system_check_error(settings):
    """With DEBUG off, no Stripe key and no explicit ALLOW_TEST_PAYMENTS, start-up is refused."""
    from orders.checks import payment_settings_check

    settings.DEBUG, settings.RUNNING_TESTS, settings.ENCRYPTION_KEY = False, False, "set"
    settings.STRIPE_SECRET_KEY, settings.ALLOW_TEST_PAYMENTS = "", False
    assert [p.id for p in payment_settings_check(None)] == ["orders.E002"]
    settings.ALLOW_TEST_PAYMENTS = True
    assert payment_settings_check(None) == []


def test_test_payments_refused_unless_allowed(settings, buyer, two_seller_cart):
    """Without ALLOW_TEST_PAYMENTS nobody can start or approve a test payment: nothing is paid."""
    checkout = start_checkout(buyer, [])
    settings.ALLOW_TEST_PAYMENTS = False
    with pytest.raises(CheckoutError, match="only available"):
        checkout_test_payment_decide(checkout=checkout, actor=buyer, approve=True)
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PENDING
    other_buyer = UserFactory()
    cart_add_item(user=other_buyer, session={}, listing_id=ListingFactory().pk)
    with pytest.raises(CheckoutError, match="aren't available"):
        checkout_reserve(buyer=other_buyer, address=AddressFactory(user=other_buyer))
