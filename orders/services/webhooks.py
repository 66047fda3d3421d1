"""Applying verified payment-provider events: stored once by id, dispatched by type.

Handlers tolerate out-of-order delivery (a refund before its success event, a success after
expiry) and unknown objects (ignored). A handler error propagates so the view answers 500 and
the whole transaction, including the stored event id, is rolled back for Stripe's retry.
"""

from collections.abc import Callable

from django.db import IntegrityError, transaction

from orders.models import Checkout, Order, PaymentEvent, Refund
from orders.payments.stripe_gateway import account_status_from_payload
from orders.services.disputes import DisputeOutcome, order_resolve_dispute
from orders.services.payment import (
    checkout_mark_failed,
    checkout_mark_paid,
    checkout_mark_refunded_before_paid,
)
from orders.services.refunds import orders_mark_refunded_at_provider, refund_confirm
from orders.services.sellers import seller_account_sync
from orders.services.transitions import (
    DISPUTABLE,
    order_open_dispute,
)


def _ref(value) -> str:
    if isinstance(value, dict):
        return value.get("id", "")
    return value or ""


def _checkout_for(obj: dict) -> Checkout | None:
    public_id = (obj.get("metadata") or {}).get("checkout") or obj.get("client_reference_id")
    if public_id:
        checkout = Checkout.objects.filter(public_id=public_id).first()
        if checkout:
            return checkout
    if obj.get("object") == "checkout.session":
        return Checkout.objects.filter(gateway_ref=obj.get("id")).first()
    intent = (
        obj.get("id") if obj.get("object") == "payment_intent" else _ref(obj.get("payment_intent"))
    )
    if intent:
        checkout = Checkout.objects.filter(payment_intent_ref=intent).first()
        if checkout:
            return checkout
    charge = obj.get("id") if obj.get("object") == "charge" else _ref(obj.get("charge"))
    if charge:
        return Checkout.objects.filter(charge_ref=charge).first()
    return None


def on_session_completed(obj: dict) -> None:
    checkout = _checkout_for(obj)
    if checkout and obj.get("payment_status") == "paid":
        checkout_mark_paid(
            checkout_id=checkout.pk, payment_intent_ref=_ref(obj.get("payment_intent"))
        )


def on_session_expired(obj: dict) -> None:
    checkout = _checkout_for(obj)
    if checkout:
        checkout_mark_failed(
            checkout_id=checkout.pk, status=Checkout.Status.EXPIRED, note="Payment page expired"
        )


def on_intent_succeeded(obj: dict) -> None:
    checkout = _checkout_for(obj)
    if checkout:
        checkout_mark_paid(
            checkout_id=checkout.pk,
            payment_intent_ref=obj["id"],
            charge_ref=_ref(obj.get("latest_charge")),
        )


def on_intent_failed(obj: dict) -> None:
    checkout = _checkout_for(obj)
    if checkout:
        checkout_mark_failed(checkout_id=checkout.pk, note="Payment failed")


def on_charge_refunded(obj: dict) -> None:
    checkout = _checkout_for(obj)
    if checkout is None:
        return
    if checkout.status == Checkout.Status.PENDING:
        checkout_mark_refunded_before_paid(checkout_id=checkout.pk)
        return
    matched = False
    for data in (obj.get("refunds") or {}).get("data", []):
        refund_id = str((data.get("metadata") or {}).get("refund") or "")
        refund = (
            Refund.objects.filter(pk=int(refund_id), order__checkout=checkout).first()
            if refund_id.isdigit()
            else None
        )
        if refund and data.get("status") == "succeeded":
            refund_confirm(refund_id=refund.pk, gateway_ref=data.get("id", ""))
            matched = True
    if not matched and obj.get("refunded"):
        # Refunded in full outside Threadly (e.g. the Stripe dashboard).
        orders_mark_refunded_at_provider(
            checkout_id=checkout.pk, note="Refunded at the payment provider"
        )


def on_dispute_created(obj: dict) -> None:
    checkout = _checkout_for(obj)
    if checkout is None:
        return
    for order in checkout.orders.filter(status__in=DISPUTABLE):
        order_open_dispute(order_id=order.pk, note=f"Dispute {obj.get('id', '')}")


# Stripe's closed dispute statuses: an inquiry closed without a chargeback counts as won.
DISPUTE_OUTCOMES = {
    "won": DisputeOutcome.WON,
    "warning_closed": DisputeOutcome.WON,
    "prevented": DisputeOutcome.WON,
    "lost": DisputeOutcome.LOST,
}


def on_dispute_closed(obj: dict) -> None:
    checkout = _checkout_for(obj)
    outcome = DISPUTE_OUTCOMES.get(obj.get("status", ""))
    if checkout is None or outcome is None:
        return
    for order in checkout.orders.filter(status=Order.Status.DISPUTED):
        order_resolve_dispute(
            order_id=order.pk, outcome=outcome, note=f"Dispute {obj.get('id', '')} {outcome}"
        )


def on_account_updated(obj: dict) -> None:
    seller_account_sync(status=account_status_from_payload(obj))


HANDLERS: dict[str, Callable[[dict], None]] = {
    "checkout.session.completed": on_session_completed,
    "checkout.session.async_payment_succeeded": on_session_completed,
    "checkout.session.expired": on_session_expired,
    "checkout.session.async_payment_failed": on_session_expired,
    "payment_intent.succeeded": on_intent_succeeded,
    "payment_intent.payment_failed": on_intent_failed,
    "charge.refunded": on_charge_refunded,
    "charge.dispute.created": on_dispute_created,
    "charge.dispute.closed": on_dispute_closed,
    "account.updated": on_account_updated,
}


@transaction.atomic
def payment_event_apply(*, event: dict) -> bool:
    """Apply a verified event once. Returns False for a replay (already applied)."""
    try:
        with transaction.atomic():
            PaymentEvent.objects.create(event_id=event["id"], event_type=event.get("type", ""))
    except IntegrityError:
        return False
    handler = HANDLERS.get(event.get("type", ""))
    if handler is not None:
        handler(event["data"]["object"])
    return True
