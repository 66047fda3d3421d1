"""POST /api/webhooks/payments with payloads signed using Stripe's real scheme."""

import json
import logging
import time

import pytest
from django.urls import reverse

from marketplace.models import Listing
from orders.models import Order, PaymentEvent, SellerPaymentAccount
from orders.payments.events import PaymentSucceeded
from orders.services import webhooks
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.helpers import start_checkout
from orders.tests.stripe_support import WEBHOOK_SECRET, event, post_event, sign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def checkout(db):
    return start_checkout(UserFactory(), [ListingFactory(), ListingFactory()])


def succeeded(checkout, event_id="evt_1"):
    return event(
        event_id,
        "payment_intent.succeeded",
        {
            "id": "pi_123",
            "object": "payment_intent",
            "status": "succeeded",
            "metadata": {"checkout": str(checkout.public_id)},
            "latest_charge": "ch_1",
        },
    )


def statuses(checkout):
    return sorted(checkout.orders.values_list("status", flat=True))


def full_refund_from_dashboard() -> str:
    """A charge.refunded event for a full refund made in Stripe's dashboard (no metadata)."""
    return event(
        "evt_r",
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": "pi_123",
            "refunded": True,
            "refunds": {"data": [{"id": "re_x", "status": "succeeded", "metadata": {}}]},
        },
    )


def test_valid_success_event_pays_every_order(client, checkout):
    """A correctly signed payment_intent.succeeded marks the checkout's orders paid."""
    payload = succeeded(checkout)
    response = post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    assert response.status_code == 200
    assert statuses(checkout) == ["paid", "paid"]
    checkout.refresh_from_db()
    assert (checkout.payment_intent_ref, checkout.charge_ref) == ("pi_123", "ch_1")


@pytest.mark.parametrize("case", ["forged", "unsigned", "stale", "wrong_secret"])
def test_bad_signatures_rejected_nothing_written(client, checkout, case):
    """Forged, unsigned, stale or wrongly keyed payloads get 400 and change nothing."""
    payload = succeeded(checkout)
    headers = {
        "forged": {"HTTP_STRIPE_SIGNATURE": sign(payload).replace("v1=", "v1=00")},
        "unsigned": {},
        "stale": {"HTTP_STRIPE_SIGNATURE": sign(payload, timestamp=int(time.time()) - 3600)},
        "wrong_secret": {"HTTP_STRIPE_SIGNATURE": sign(payload, secret="whsec_other")},
    }[case]
    response = post_event(client, payload, **headers)
    assert response.status_code == 400
    assert not PaymentEvent.objects.exists()
    assert statuses(checkout) == ["pending_payment", "pending_payment"]


def test_tampered_body_rejected(client, checkout):
    """A valid signature over a different body is rejected."""
    payload = succeeded(checkout)
    header = sign(payload)
    response = post_event(client, payload.replace("pi_123", "pi_999"), HTTP_STRIPE_SIGNATURE=header)
    assert response.status_code == 400
    assert not PaymentEvent.objects.exists()


def test_replay_is_a_noop(client, checkout):
    """The same event delivered twice is applied once."""
    payload = succeeded(checkout)
    first = post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    events = Order.objects.get(
        checkout=checkout, seller=checkout.orders.first().seller
    ).events.count()
    second = post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["replay"] is True
    assert PaymentEvent.objects.count() == 1
    order = checkout.orders.first()
    assert order.events.count() == events


def test_refund_before_success_out_of_order(client, checkout):
    """charge.refunded arriving before the success event ends refunded; the late success is
    a no-op and the stock is back on sale."""
    refund = event(
        "evt_r",
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": "pi_123",
            "refunded": True,
            "metadata": {"checkout": str(checkout.public_id)},
            "refunds": {"data": []},
        },
    )
    assert post_event(client, refund, HTTP_STRIPE_SIGNATURE=sign(refund)).status_code == 200
    payload = succeeded(checkout, "evt_s")
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    assert statuses(checkout) == ["refunded", "refunded"]
    assert set(Listing.objects.values_list("status", flat=True)) == {"active"}


def test_success_then_full_refund_from_dashboard(client, checkout):
    """A full refund made outside Threadly marks every paid order refunded."""
    payload = succeeded(checkout)
    post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    refund = full_refund_from_dashboard()
    assert post_event(client, refund, HTTP_STRIPE_SIGNATURE=sign(refund)).status_code == 200
    assert statuses(checkout) == ["refunded", "refunded"]


def test_payment_failed_releases_stock(client, checkout):
    """payment_intent.payment_failed cancels the orders and frees the items."""
    payload = event(
        "evt_f",
        "payment_intent.payment_failed",
        {
            "id": "pi_123",
            "object": "payment_intent",
            "metadata": {"checkout": str(checkout.public_id)},
        },
    )
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    assert statuses(checkout) == ["cancelled", "cancelled"]
    assert set(Listing.objects.values_list("status", flat=True)) == {"active"}


def test_session_completed_pays(client, checkout):
    """checkout.session.completed with payment_status=paid marks the orders paid."""
    payload = event(
        "evt_cs",
        "checkout.session.completed",
        {
            "id": "cs_1",
            "object": "checkout.session",
            "payment_status": "paid",
            "payment_intent": "pi_9",
            "client_reference_id": str(checkout.public_id),
            "metadata": {"checkout": str(checkout.public_id)},
        },
    )
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    assert statuses(checkout) == ["paid", "paid"]


def test_dispute_marks_orders_disputed(client, checkout):
    """charge.dispute.created moves paid orders to disputed (payout held)."""
    payload = succeeded(checkout)
    post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    dispute = event(
        "evt_d",
        "charge.dispute.created",
        {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_123"},
    )
    assert post_event(client, dispute, HTTP_STRIPE_SIGNATURE=sign(dispute)).status_code == 200
    assert statuses(checkout) == ["disputed", "disputed"]


def test_account_updated_keeps_payout_status(client):
    """account.updated stores the connected account's onboarding/payout status."""
    account = SellerPaymentAccount.objects.create(user=UserFactory(), stripe_account_id="acct_1")
    payload = event(
        "evt_a",
        "account.updated",
        {
            "id": "acct_1",
            "object": "account",
            "details_submitted": True,
            "charges_enabled": True,
            "payouts_enabled": True,
        },
    )
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    account.refresh_from_db()
    assert account.is_ready


def test_connected_account_event_signed_by_the_connect_endpoint_is_applied(client, settings):
    """Stripe sends connected accounts' events (account.updated) through a Connect endpoint
    with its own signing secret: an event signed with STRIPE_CONNECT_WEBHOOK_SECRET is
    accepted, one signed with an unknown secret is not."""
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = "whsec_connect_endpoint"
    account = SellerPaymentAccount.objects.create(user=UserFactory(), stripe_account_id="acct_2")
    payload = event(
        "evt_connect",
        "account.updated",
        {
            "id": "acct_2",
            "object": "account",
            "details_submitted": True,
            "charges_enabled": True,
            "payouts_enabled": True,
        },
    )
    forged = sign(payload, secret="whsec_somebody_else")
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=forged).status_code == 400
    signed = sign(payload, secret="whsec_connect_endpoint")
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=signed).status_code == 200
    account.refresh_from_db()
    assert account.is_ready


def test_unknown_event_type_acknowledged(client):
    """Event types we don't handle get 200 so Stripe stops retrying."""
    payload = event("evt_u", "customer.created", {"id": "cus_1", "object": "customer"})
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200


def test_handler_failure_answers_500_and_rolls_back(client, checkout, monkeypatch):
    """A crash inside a handler answers 500 with everything rolled back; the retry works."""
    real = webhooks.HANDLERS[PaymentSucceeded]

    def crash_after_writing(event):
        real(event)
        raise RuntimeError("boom")

    monkeypatch.setitem(webhooks.HANDLERS, PaymentSucceeded, crash_after_writing)
    payload = succeeded(checkout)
    response = post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    assert response.status_code == 500
    assert not PaymentEvent.objects.exists()
    assert statuses(checkout) == ["pending_payment", "pending_payment"]
    monkeypatch.setitem(webhooks.HANDLERS, PaymentSucceeded, real)
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200
    assert statuses(checkout) == ["paid", "paid"]


def test_webhook_get_not_allowed(client):
    """Only POST is accepted."""
    assert client.get(reverse("orders:payments_webhook")).status_code == 405


def test_pending_refund_confirmed_by_charge_refunded(client, checkout, monkeypatch):
    """A refund the gateway reports as pending is applied when charge.refunded confirms it."""
    from orders.payments.base import RefundResult
    from orders.payments.local import LocalGateway
    from orders.services.refunds import order_refund

    payload = succeeded(checkout)
    post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    monkeypatch.setattr(LocalGateway, "refund", lambda self, **kw: RefundResult("re_p", False))
    order = checkout.orders.first()
    refund = order_refund(order_id=order.pk, actor=order.seller)
    order.refresh_from_db()
    assert order.status == "paid"
    confirm = event(
        "evt_rc",
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": "pi_123",
            "refunded": False,
            "refunds": {
                "data": [
                    {
                        "id": "re_p",
                        "status": "succeeded",
                        "metadata": {"refund": str(refund.pk), "order": str(order.pk)},
                    }
                ]
            },
        },
    )
    assert post_event(client, confirm, HTTP_STRIPE_SIGNATURE=sign(confirm)).status_code == 200
    order.refresh_from_db()
    assert order.status == "refunded"
    assert sorted(checkout.orders.values_list("status", flat=True)) == ["paid", "refunded"]


def test_dashboard_refund_after_completion_reverses_payout(
    client, checkout, django_capture_on_commit_callbacks, gateway_log
):
    """A full refund made at Stripe after an order completed takes the seller's share back."""
    from orders.models import Payout
    from orders.services import transitions

    payload = succeeded(checkout)
    post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    order = checkout.orders.first()
    transitions.order_mark_shipped(
        order_id=order.pk, actor=order.seller, carrier="DHL", tracking_number="1"
    )
    transitions.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
    refund = full_refund_from_dashboard()
    gateway_log.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, refund, HTTP_STRIPE_SIGNATURE=sign(refund)).status_code == 200
        assert gateway_log == []
    assert statuses(checkout) == ["refunded", "refunded"]
    assert Payout.objects.get(order=order).status == Payout.Status.REVERSED
    assert [e["op"] for e in gateway_log] == ["reversal"]


def _checkout_id_not_a_uuid(checkout) -> str:
    payload = json.loads(succeeded(checkout))
    payload["data"]["object"]["metadata"]["checkout"] = "not-a-uuid"
    return json.dumps(payload)


def _without(key: str):
    def body(checkout) -> str:
        payload = json.loads(succeeded(checkout))
        del payload[key]
        return json.dumps(payload)

    return body


MALFORMED = {
    "a_list": lambda checkout: "[1, 2, 3]",
    "null": lambda checkout: "null",
    "a_string": lambda checkout: '"str"',
    "no_id": _without("id"),
    "no_data": _without("data"),
    "checkout_not_a_uuid": _checkout_id_not_a_uuid,
    "id_of_5000_characters": lambda checkout: succeeded(checkout, "evt_" + "x" * 4996),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_signed_malformed_event_answers_400_stores_nothing_and_is_logged(
    client, checkout, caplog, case
):
    """A correctly signed event we cannot read gets 400 (not a 500 Stripe retries for days),
    stores nothing, changes nothing and leaves a warning in the log."""
    payload = MALFORMED[case](checkout)
    with caplog.at_level(logging.WARNING, logger="orders.webhooks"):
        response = post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload))
    assert response.status_code == 400
    assert response.json() == {"error": "malformed event"}
    assert not PaymentEvent.objects.exists()
    assert statuses(checkout) == ["pending_payment", "pending_payment"]
    assert any("malformed" in r.getMessage() for r in caplog.records if r.name == "orders.webhooks")


def test_local_gateway_refuses_webhooks(client, checkout, settings):
    """Without STRIPE_SECRET_KEY the local gateway answers every delivery 400, even one signed
    with the webhook secret: it confirms payments through its test page, not webhooks."""
    settings.STRIPE_SECRET_KEY = ""
    payload = succeeded(checkout)
    response = client.post(
        reverse("orders:payments_webhook"),
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload),
    )
    assert response.status_code == 400
    assert not PaymentEvent.objects.exists()
    assert statuses(checkout) == ["pending_payment", "pending_payment"]
