"""Stripe's event payloads become our own events (orders/payments/stripe/webhooks.py)."""

import json
import time
import uuid
from datetime import UTC, datetime

import pytest

from orders.exceptions import MalformedWebhook, WebhookSignatureError
from orders.models import PaymentEvent
from orders.payments.events import (
    EVENT_ID_MAX_LENGTH,
    EVENT_TYPE_MAX_LENGTH,
    CheckoutRef,
    DisputeClosed,
    DisputeOpened,
    Ignored,
    PaymentFailed,
    PaymentSucceeded,
    RefundLine,
    RefundUpdated,
    SellerAccountStatus,
    SellerAccountUpdated,
    SessionExpired,
)
from orders.payments.local import LocalGateway
from orders.payments.stripe.webhooks import event_from_payload, parse_webhook
from orders.tests.stripe_support import WEBHOOK_SECRET, event, sign

CHECKOUT = uuid.UUID("6c1d9f0e-3f0a-4b7e-9f5c-2a1b3c4d5e6f")


def mapped(event_type: str, obj: dict):
    return event_from_payload(json.loads(event("evt_1", event_type, obj)))


def test_intent_succeeded_carries_checkout_intent_and_latest_charge():
    """payment_intent.succeeded: our checkout id, the intent and its latest charge (expanded or
    not)."""
    obj = {
        "id": "pi_1",
        "object": "payment_intent",
        "metadata": {"checkout": str(CHECKOUT)},
        "latest_charge": {"id": "ch_1", "object": "charge"},
    }
    assert mapped("payment_intent.succeeded", obj) == PaymentSucceeded(
        event_id="evt_1",
        event_type="payment_intent.succeeded",
        checkout=CheckoutRef(public_id=CHECKOUT, payment_intent_ref="pi_1"),
        payment_intent_ref="pi_1",
        charge_ref="ch_1",
    )


@pytest.mark.parametrize(
    "event_type", ["checkout.session.completed", "checkout.session.async_payment_succeeded"]
)
def test_paid_session_is_a_payment_found_by_session(event_type):
    """A paid Checkout Session is a success looked up by the session (and our client ref)."""
    obj = {
        "id": "cs_1",
        "object": "checkout.session",
        "payment_status": "paid",
        "payment_intent": "pi_9",
        "client_reference_id": str(CHECKOUT),
    }
    assert mapped(event_type, obj) == PaymentSucceeded(
        event_id="evt_1",
        event_type=event_type,
        checkout=CheckoutRef(public_id=CHECKOUT, session_ref="cs_1"),
        payment_intent_ref="pi_9",
    )


def test_unpaid_session_completed_is_ignored():
    """A session completed without payment yet (a delayed method) changes nothing."""
    obj = {"id": "cs_1", "object": "checkout.session", "payment_status": "unpaid"}
    assert mapped("checkout.session.completed", obj) == Ignored(
        event_id="evt_1", event_type="checkout.session.completed"
    )


@pytest.mark.parametrize(
    "event_type", ["checkout.session.expired", "checkout.session.async_payment_failed"]
)
def test_closed_session_is_session_expired(event_type):
    """An expired session, or a delayed payment that failed, ends the checkout as expired."""
    event_ = mapped(event_type, {"id": "cs_1", "object": "checkout.session"})
    assert event_ == SessionExpired(
        event_id="evt_1", event_type=event_type, checkout=CheckoutRef(session_ref="cs_1")
    )


def test_intent_failed_is_payment_failed():
    """payment_intent.payment_failed becomes PaymentFailed found by the intent."""
    obj = {"id": "pi_1", "object": "payment_intent"}
    assert mapped("payment_intent.payment_failed", obj) == PaymentFailed(
        event_id="evt_1",
        event_type="payment_intent.payment_failed",
        checkout=CheckoutRef(payment_intent_ref="pi_1"),
    )


def test_charge_refunded_lists_refunds_with_our_refund_ids():
    """charge.refunded carries each refund, with our Refund id from its metadata when it is
    one of ours (digits only)."""
    obj = {
        "id": "ch_1",
        "object": "charge",
        "payment_intent": "pi_1",
        "refunded": True,
        "refunds": {
            "data": [
                {"id": "re_1", "status": "succeeded", "metadata": {"refund": "42"}},
                {"id": "re_2", "status": "pending", "metadata": {"refund": "²"}},
                {"id": "re_3", "status": "succeeded", "metadata": {}},
            ]
        },
    }
    assert mapped("charge.refunded", obj) == RefundUpdated(
        event_id="evt_1",
        event_type="charge.refunded",
        checkout=CheckoutRef(payment_intent_ref="pi_1", charge_ref="ch_1"),
        refunded_in_full=True,
        refunds=(
            RefundLine(gateway_ref="re_1", succeeded=True, refund_id=42),
            RefundLine(gateway_ref="re_2", succeeded=False, refund_id=None),
            RefundLine(gateway_ref="re_3", succeeded=True, refund_id=None),
        ),
    )


def test_dispute_created_is_dispute_opened():
    """charge.dispute.created names the dispute and the charge it is about."""
    obj = {"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_1"}
    assert mapped("charge.dispute.created", obj) == DisputeOpened(
        event_id="evt_1",
        event_type="charge.dispute.created",
        checkout=CheckoutRef(payment_intent_ref="pi_1", charge_ref="ch_1"),
        dispute_ref="dp_1",
    )


@pytest.mark.parametrize(
    ("status", "outcome"),
    [("won", "won"), ("warning_closed", "won"), ("prevented", "won"), ("lost", "lost")],
)
def test_dispute_closed_statuses_become_won_or_lost(status, outcome):
    """Stripe's closed statuses map to won or lost (an inquiry closed counts as won)."""
    obj = {"id": "dp_1", "object": "dispute", "charge": "ch_1", "status": status}
    closed = mapped("charge.dispute.closed", obj)
    assert isinstance(closed, DisputeClosed)
    assert (closed.outcome, closed.dispute_ref) == (outcome, "dp_1")


def test_dispute_closed_with_an_open_status_is_ignored():
    """A closed event whose status is not an outcome changes nothing."""
    obj = {"id": "dp_1", "object": "dispute", "status": "under_review"}
    assert isinstance(mapped("charge.dispute.closed", obj), Ignored)


def test_account_updated_is_seller_account_status():
    """account.updated carries the connected account's readiness."""
    obj = {"id": "acct_1", "object": "account", "details_submitted": True, "charges_enabled": 1}
    assert mapped("account.updated", obj) == SellerAccountUpdated(
        event_id="evt_1",
        event_type="account.updated",
        status=SellerAccountStatus("acct_1", True, True, False),
    )


def test_unknown_type_is_ignored():
    """A type we don't handle is Ignored (stored, answered 200)."""
    assert mapped("customer.created", {"id": "cus_1"}) == Ignored(
        event_id="evt_1", event_type="customer.created"
    )


@pytest.mark.parametrize(
    ("event_type", "obj"),
    [
        ("payment_intent.succeeded", {"id": "pi_1", "object": "payment_intent", "metadata": []}),
        ("payment_intent.succeeded", {"id": 7, "object": "payment_intent"}),
        ("payment_intent.succeeded", {"object": "payment_intent", "latest_charge": 5}),
        ("charge.refunded", {"id": "ch_1", "object": "charge", "refunds": {"data": {}}}),
        ("charge.refunded", {"id": "ch_1", "object": "charge", "refunds": {"data": [None]}}),
        ("charge.dispute.closed", {"id": "dp_1", "status": 3}),
        ("account.updated", {"object": "account"}),
        ("checkout.session.completed", {"payment_status": "paid", "client_reference_id": 12}),
    ],
)
def test_fields_of_the_wrong_type_are_malformed(event_type, obj):
    """A field of the wrong type raises MalformedWebhook (400), never a TypeError (500)."""
    with pytest.raises(MalformedWebhook):
        mapped(event_type, obj)


def test_overlong_type_is_malformed():
    """A type longer than the stored column is refused before anything is written."""
    payload = json.loads(event("evt_1", "x" * (EVENT_TYPE_MAX_LENGTH + 1), {}))
    with pytest.raises(MalformedWebhook):
        event_from_payload(payload)


@pytest.mark.django_db
def test_event_limits_match_the_stored_columns():
    """The parser's id and type limits are the PaymentEvent columns' lengths."""
    assert PaymentEvent._meta.get_field("event_id").max_length == EVENT_ID_MAX_LENGTH
    assert PaymentEvent._meta.get_field("event_type").max_length == EVENT_TYPE_MAX_LENGTH


def test_parse_webhook_verifies_before_reading():
    """A body that is not even JSON, signed with another secret, is a signature error; signed
    with ours, it is malformed."""
    body = "not json"
    header = {"Stripe-Signature": sign(body, secret="whsec_other")}
    with pytest.raises(WebhookSignatureError):
        parse_webhook(body.encode(), header, secrets=[WEBHOOK_SECRET])
    with pytest.raises(MalformedWebhook):
        parse_webhook(body.encode(), {"Stripe-Signature": sign(body)}, secrets=[WEBHOOK_SECRET])


def test_parse_webhook_refuses_stale_signatures():
    """A signature older than five minutes is refused even when correct."""
    body = event("evt_1", "customer.created", {"id": "cus_1"})
    header = {"Stripe-Signature": sign(body, timestamp=int(time.time()) - 600)}
    with pytest.raises(WebhookSignatureError):
        parse_webhook(body.encode(), header, secrets=[WEBHOOK_SECRET])


def test_local_gateway_has_no_webhooks_and_nothing_to_replay():
    """The local gateway refuses every delivery and has no undelivered events."""
    gateway = LocalGateway()
    body = event("evt_1", "customer.created", {"id": "cus_1"})
    with pytest.raises(WebhookSignatureError):
        gateway.parse_webhook(body.encode(), {"Stripe-Signature": sign(body)})
    assert gateway.undelivered_events(since=datetime(2020, 1, 1, tzinfo=UTC)) == []


def test_local_gateway_keeps_no_log_of_its_calls():
    """The production object holds no record of past calls (tests record them themselves)."""
    assert not hasattr(LocalGateway, "log")
