"""The Stripe Connect path end to end through the real stripe SDK against a local fake API
(orders/tests/stripe_support.FakeStripe on 127.0.0.1; localstripe has no Checkout Sessions,
Connect accounts, account links or transfers)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from marketplace.models import Listing
from orders.exceptions import IntegrationError
from orders.models import CartItem, Checkout, Order, SellerPaymentAccount
from orders.money import to_minor_units
from orders.payments import get_gateway
from orders.services.refunds import order_refund
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.stripe_support import ADDRESS, event, post_event, sign

pytestmark = pytest.mark.django_db


def onboard(client, fake, seller):
    """The seller goes through Connect onboarding; account.updated makes them payable."""
    client.force_login(seller)
    response = client.post(reverse("orders:seller_payments"))
    assert response.status_code == 302
    assert response["Location"].startswith(f"{fake.url}/onboard/acct_")
    account = SellerPaymentAccount.objects.get(user=seller)
    payload = event(
        f"evt_acct_{seller.pk}",
        "account.updated",
        {
            "id": account.stripe_account_id,
            "object": "account",
            "details_submitted": True,
            "charges_enabled": True,
            "payouts_enabled": True,
        },
    )
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    return account.stripe_account_id


def test_stripe_gateway_selected_and_points_at_api_base(fake_stripe):
    """With STRIPE_SECRET_KEY the Stripe gateway is used, sending requests to STRIPE_API_BASE."""
    gateway = get_gateway()
    assert gateway.name == "stripe"
    gateway.create_seller_account(user_id=1, email="a@example.test", idempotency_key="k1")
    assert fake_stripe.posts("/v1/accounts")[0]["idempotency_key"] == "k1"


def test_not_onboarded_seller_cannot_sell(client, fake_stripe):
    """Listings of a seller without a finished Connect account can't be bought."""
    listing = ListingFactory()
    client.force_login(UserFactory())
    response = client.post(reverse("orders:cart_add", args=[listing.pk]), follow=True)
    assert "receive payments yet" in response.text
    assert not CartItem.objects.exists()


def test_stripe_end_to_end_charge_then_one_transfer_per_seller(client, fake_stripe):
    """Buyer pays once for two sellers; each seller's share is transferred only at
    completion, to the cent, with idempotency keys on every POST."""
    a = ListingFactory(price=Decimal("40.00"), shipping_price=Decimal("5.00"))
    b = ListingFactory(price=Decimal("12.50"), shipping_price=Decimal("2.00"))
    accounts = {
        a.seller_id: onboard(client, fake_stripe, a.seller),
        b.seller_id: onboard(client, fake_stripe, b.seller),
    }
    buyer = UserFactory()
    client.force_login(buyer)
    for listing in (a, b):
        client.post(reverse("orders:cart_add", args=[listing.pk]))
    response = client.post(reverse("orders:checkout"), ADDRESS)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{fake_stripe.url}/pay/cs_test_")
    checkout = Checkout.objects.get(buyer=buyer)
    session_post = fake_stripe.posts("/v1/checkout/sessions")[0]
    assert session_post["idempotency_key"] == f"checkout-{checkout.public_id}-session"
    params = session_post["params"]
    assert params["payment_intent_data"]["transfer_group"] == checkout.transfer_group
    charged = sum(
        int(li["price_data"]["unit_amount"]) * int(li["quantity"]) for li in params["line_items"]
    )
    assert charged == to_minor_units(checkout.total) == 5950

    # The buyer returns from Stripe and the webhook arrives too: one paid checkout.
    session = fake_stripe.pay_session(checkout.gateway_ref)
    client.get(reverse("orders:checkout_return", args=[checkout.public_id]))
    payload = event("evt_cs_done", "checkout.session.completed", session)
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    checkout.refresh_from_db()
    assert checkout.status == Checkout.Status.PAID
    assert checkout.payment_intent_ref == session["payment_intent"]
    orders = list(checkout.orders.order_by("pk"))
    assert [o.status for o in orders] == ["paid", "paid"]
    assert Listing.objects.get(pk=a.pk).status == Listing.Status.SOLD
    assert fake_stripe.posts("/v1/transfers") == []  # nothing paid out before completion

    for order in orders:
        client.force_login(order.seller)
        client.post(
            reverse("orders:order_ship", args=[order.pk]),
            {"carrier": "DPD", "tracking_number": f"DPD{order.pk}"},
        )
        client.force_login(buyer)
        client.post(reverse("orders:order_confirm_delivery", args=[order.pk]))
    transfers = fake_stripe.posts("/v1/transfers")
    assert len(transfers) == 2
    for order in orders:
        order.refresh_from_db()
        assert order.status == Order.Status.COMPLETED
        sent = next(t for t in transfers if t["params"]["metadata"]["order"] == str(order.pk))
        assert sent["idempotency_key"] == f"order-{order.pk}-transfer"
        assert sent["params"]["destination"] == accounts[order.seller_id]
        assert sent["params"]["transfer_group"] == checkout.transfer_group
        assert int(sent["params"]["amount"]) == to_minor_units(order.seller_amount)
        assert order.payout.gateway_ref.startswith("tr_")
    amounts = sorted(int(t["params"]["amount"]) for t in transfers)
    assert amounts == [1387, 4300]
    fees = sum(to_minor_units(o.platform_fee) for o in orders)
    assert fees + sum(amounts) == 5950

    # A refund after completion reverses that seller's transfer, then refunds the buyer.
    order = orders[0]
    order_refund(order_id=order.pk, actor=order.seller, reason="Not as described")
    reversal = fake_stripe.posts(f"/v1/transfers/{order.payout.gateway_ref}/reversals")
    assert reversal[0]["idempotency_key"] == f"order-{order.pk}-transfer-reversal"
    assert int(reversal[0]["params"]["amount"]) == to_minor_units(order.seller_amount)
    refund = fake_stripe.posts("/v1/refunds")[0]
    assert refund["params"]["payment_intent"] == checkout.payment_intent_ref
    assert int(refund["params"]["amount"]) == to_minor_units(order.total)
    assert refund["idempotency_key"].startswith(f"order-{order.pk}-refund-")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED
    every_post = [r for r in fake_stripe.requests if r["method"] == "POST"]
    assert all(r["idempotency_key"] for r in every_post)


def test_refund_before_completion_needs_no_reversal(client, fake_stripe):
    """Refunding a paid (not completed) order refunds without touching transfers."""
    listing = ListingFactory()
    onboard(client, fake_stripe, listing.seller)
    buyer = UserFactory()
    client.force_login(buyer)
    client.post(reverse("orders:cart_add", args=[listing.pk]))
    client.post(reverse("orders:checkout"), ADDRESS)
    checkout = Checkout.objects.get(buyer=buyer)
    fake_stripe.pay_session(checkout.gateway_ref)
    client.get(reverse("orders:checkout_return", args=[checkout.public_id]))
    order = checkout.orders.get()
    order_refund(order_id=order.pk, actor=order.seller)
    assert len(fake_stripe.posts("/v1/refunds")) == 1
    assert not [r for r in fake_stripe.requests if "reversals" in r["path"]]
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def test_stripe_down_releases_stock_and_shows_error(client, settings, fake_stripe):
    """If Stripe can't be reached, checkout fails cleanly and the item is back on sale."""
    listing = ListingFactory()
    onboard(client, fake_stripe, listing.seller)
    buyer = UserFactory()
    client.force_login(buyer)
    client.post(reverse("orders:cart_add", args=[listing.pk]))
    settings.STRIPE_API_BASE = "http://127.0.0.1:9"  # nothing listens on the discard port
    response = client.post(reverse("orders:checkout"), ADDRESS, follow=True)
    assert "could not be reached" in response.text
    listing.refresh_from_db()
    assert listing.status == Listing.Status.ACTIVE
    assert Checkout.objects.get(buyer=buyer).status == Checkout.Status.FAILED


def test_gateway_errors_become_integration_error(fake_stripe):
    """SDK errors surface as one IntegrationError with context."""
    with pytest.raises(IntegrationError) as info:
        get_gateway().fetch_payment(ref="cs_missing")
    assert info.value.context["operation"] == "checkout.session.retrieve"
