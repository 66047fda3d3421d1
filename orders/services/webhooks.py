"""Applying verified payment events (orders.payments.events): stored once by id, dispatched by
event class.

The gateway adapter has already turned the vendor's payload into our dataclasses; nothing here
reads a vendor's shapes. Handlers tolerate out-of-order delivery (a refund before its success
event, a success after expiry) and events about checkouts we don't know (ignored). A handler
error propagates so the view answers 500 and the whole transaction, including the stored event
id, is rolled back for the gateway's retry.
"""

from collections.abc import Callable
from typing import Any

from django.db import transaction

from core.db_router import primary
from core.webhooks import record_once
from orders.models import Checkout, Order, PaymentEvent, Refund
from orders.payments.events import (
    CheckoutRef,
    DisputeClosed,
    DisputeOpened,
    GatewayEvent,
    PaymentFailed,
    PaymentSucceeded,
    RefundUpdated,
    SellerAccountUpdated,
    SessionExpired,
)
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


def _checkout_for(ref: CheckoutRef) -> Checkout | None:
    """The checkout an event is about: by our public id, else by the gateway's references."""
    if ref.public_id:
        checkout = Checkout.objects.filter(public_id=ref.public_id).first()
        if checkout:
            return checkout
    if ref.session_ref:
        return Checkout.objects.filter(gateway_ref=ref.session_ref).first()
    if ref.payment_intent_ref:
        checkout = Checkout.objects.filter(payment_intent_ref=ref.payment_intent_ref).first()
        if checkout:
            return checkout
    if ref.charge_ref:
        return Checkout.objects.filter(charge_ref=ref.charge_ref).first()
    return None


def on_payment_succeeded(event: PaymentSucceeded) -> None:
    checkout = _checkout_for(event.checkout)
    if checkout:
        checkout_mark_paid(
            checkout_id=checkout.pk,
            payment_intent_ref=event.payment_intent_ref,
            charge_ref=event.charge_ref,
        )


def on_session_expired(event: SessionExpired) -> None:
    checkout = _checkout_for(event.checkout)
    if checkout:
        checkout_mark_failed(
            checkout_id=checkout.pk, status=Checkout.Status.EXPIRED, note="Payment page expired"
        )


def on_payment_failed(event: PaymentFailed) -> None:
    checkout = _checkout_for(event.checkout)
    if checkout:
        checkout_mark_failed(checkout_id=checkout.pk, note="Payment failed")


def on_refund_updated(event: RefundUpdated) -> None:
    checkout = _checkout_for(event.checkout)
    if checkout is None:
        return
    if checkout.status == Checkout.Status.PENDING:
        checkout_mark_refunded_before_paid(checkout_id=checkout.pk)
        return
    matched = False
    for line in event.refunds:
        refund = (
            Refund.objects.filter(pk=line.refund_id, order__checkout=checkout).first()
            if line.refund_id is not None
            else None
        )
        if refund and line.succeeded:
            refund_confirm(refund_id=refund.pk, gateway_ref=line.gateway_ref)
            matched = True
    if not matched and event.refunded_in_full:
        # Refunded in full outside Threadly (e.g. the Stripe dashboard).
        orders_mark_refunded_at_provider(
            checkout_id=checkout.pk, note="Refunded at the payment provider"
        )


def on_dispute_opened(event: DisputeOpened) -> None:
    checkout = _checkout_for(event.checkout)
    if checkout is None:
        return
    for order in checkout.orders.filter(status__in=DISPUTABLE):
        order_open_dispute(order_id=order.pk, note=f"Dispute {event.dispute_ref}")


def on_dispute_closed(event: DisputeClosed) -> None:
    checkout = _checkout_for(event.checkout)
    if checkout is None:
        return
    outcome = DisputeOutcome(event.outcome)
    for order in checkout.orders.filter(status=Order.Status.DISPUTED):
        order_resolve_dispute(
            order_id=order.pk, outcome=outcome, note=f"Dispute {event.dispute_ref} {outcome}"
        )


def on_seller_account_updated(event: SellerAccountUpdated) -> None:
    seller_account_sync(status=event.status)


# Event classes not listed here (Ignored) are stored and otherwise left alone.
HANDLERS: dict[type[GatewayEvent], Callable[[Any], None]] = {
    PaymentSucceeded: on_payment_succeeded,
    PaymentFailed: on_payment_failed,
    SessionExpired: on_session_expired,
    RefundUpdated: on_refund_updated,
    DisputeOpened: on_dispute_opened,
    DisputeClosed: on_dispute_closed,
    SellerAccountUpdated: on_seller_account_updated,
}


@primary()
@transaction.atomic
def payment_event_apply(*, event: GatewayEvent) -> bool:
    """Apply a verified event once. Returns False for a replay (already applied).

    The event id is stored in the same transaction as the handler's writes, so a handler error
    rolls both back and the gateway's retry applies the event again.
    """
    if not record_once(PaymentEvent, event_id=event.event_id, event_type=event.event_type):
        return False
    handler = HANDLERS.get(type(event))
    if handler is not None:
        handler(event)
    return True
