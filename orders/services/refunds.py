"""Money going back: refunds (seller, admin, cancellation, late payment, refund made at the
provider) and reversals of the seller's payout.

Cancelling an order (payment.order_cancel) and paying back a late payment
(payment.checkout_mark_paid) call into this module; it never calls back up into them.

The order changes only when the gateway confirms (refund_confirm, here or on charge.refunded).
Gateway calls never run under a row lock; each carries an idempotency key derived from the
order and the refund, so a retry (`manage.py retry_refunds`) never moves money twice.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core import analytics
from core.audit import audit_log
from orders.exceptions import IllegalTransition, IntegrationError
from orders.models import Order, OrderEvent, Payout, Refund, Reservation
from orders.payments import get_gateway_by_name
from orders.services import stock
from orders.services.transitions import (
    REFUND_REQUESTABLE,
    REFUNDABLE,
    order_lock,
    record_transition,
    require_role,
    require_status,
    role_of,
)
from orders.tasks import queue_order_email

logger = logging.getLogger(__name__)
S = Order.Status
Role = OrderEvent.Role


def payout_reverse(*, order_id: int) -> Payout | None:
    """Take the seller's transfer back for an order that ended refunded without going through
    order_refund (a lost dispute, a refund made at the provider). No lock is held during the
    gateway call; its key "order-<id>-transfer-reversal" is the one a refund uses, so the
    transfer is never reversed twice. Returns None when there is nothing paid out to reverse.
    """
    payout = (
        Payout.objects.select_related("order__checkout")
        .filter(order_id=order_id, status=Payout.Status.PAID)
        .first()
    )
    if payout is None:
        return None
    reversal = get_gateway_by_name(payout.order.checkout.gateway).reverse_transfer(
        transfer_ref=payout.gateway_ref,
        amount=payout.amount,
        idempotency_key=f"order-{order_id}-transfer-reversal",
    )
    with transaction.atomic():
        Payout.objects.filter(pk=payout.pk).update(
            reversal_ref=reversal.ref, status=Payout.Status.REVERSED, updated_at=timezone.now()
        )
        audit_log(action="order.payout_reversed", actor=None, target=payout.order)
    payout.refresh_from_db()
    return payout


def payout_reverse_after_commit(*, order_id: int) -> None:
    """Queue payout_reverse for after the current transaction; a failure is logged and left
    for `retry_refunds` (the refunded order still shows a paid payout)."""

    def reverse() -> None:
        try:
            payout_reverse(order_id=order_id)
        except IntegrationError:
            logger.exception("reversing the payout of order %s failed; will retry", order_id)

    transaction.on_commit(reverse)


def order_refund(*, order_id: int, actor, reason: str = "") -> Refund:
    """Seller or admin refunds the whole order through the gateway."""
    order = Order.objects.get(pk=order_id)
    role = role_of(order, actor)
    require_role(role, (Role.SELLER, Role.ADMIN), "refunded")
    return order_refund_request(order_id=order_id, actor=actor, reason=reason, _role=role)


def order_refund_request(
    *, order_id: int, actor, reason: str = "", cancels_order: bool = False, _role: str
) -> Refund:
    """Create a pending Refund, ask the gateway, and apply it when the gateway confirms.

    A refund after completion first reverses the seller's transfer. The order only changes in
    refund_confirm (here when the gateway answers "succeeded", else on charge.refunded).
    IllegalTransition while a dispute is open: the bank may return the money itself.
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("checkout").get(pk=order_id)
        if order.status == S.DISPUTED:
            raise IllegalTransition(
                f"Order #{order.pk} has an open dispute with the buyer's bank; it can't be "
                "refunded until the dispute is closed."
            )
        require_status(
            order,
            (S.PAID,) if cancels_order else REFUND_REQUESTABLE,
            "cancelled" if cancels_order else "refunded",
        )
        if order.refunds.filter(status=Refund.Status.PENDING).exists():
            raise IllegalTransition("A refund for this order is already in progress.")
        refund = Refund.objects.create(
            order=order,
            amount=order.total,
            currency=order.currency,
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            reason=reason[:255],
            cancels_order=cancels_order,
        )
        audit_log(action="order.refund_requested", actor=actor, target=order, refund=refund.pk)
    payout = Payout.objects.filter(order=order, status=Payout.Status.PAID).first()
    if payout is not None:
        try:
            reversal = get_gateway_by_name(order.checkout.gateway).reverse_transfer(
                transfer_ref=payout.gateway_ref,
                amount=payout.amount,
                idempotency_key=f"order-{order.pk}-transfer-reversal",
            )
        except IntegrationError:
            Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
                status=Refund.Status.FAILED
            )
            raise
        Payout.objects.filter(pk=payout.pk).update(reversal_ref=reversal.ref)
    return refund_send(refund_id=refund.pk, actor=actor, role=_role, fail_on_error=True)


def refund_send(
    *, refund_id: int, actor=None, role: str = Role.GATEWAY, fail_on_error: bool = False
) -> Refund:
    """Ask the gateway for a pending refund, with no lock held, and apply it if confirmed.

    The Idempotency-Key is "order-<order id>-refund-<refund id>", so calling this again for the
    same Refund (a retry after a crash or a timeout) never refunds twice. A refund that is no
    longer pending (e.g. superseded by a lost dispute) is returned unchanged, and one whose
    order is disputed is held (left pending) until the dispute is closed. On IntegrationError:
    with `fail_on_error` the refund is marked failed and the error raised (someone is waiting
    for an answer); otherwise it stays pending for `retry_refunds` (refunds_retry) to retry.
    """
    refund = Refund.objects.select_related("order__checkout").get(pk=refund_id)
    if refund.status != Refund.Status.PENDING:
        return refund
    order = refund.order
    if order.status == S.DISPUTED:
        logger.info("refund %s held: order %s has an open dispute", refund.pk, order.pk)
        return refund
    try:
        result = get_gateway_by_name(order.checkout.gateway).refund(
            payment_intent_ref=order.checkout.payment_intent_ref,
            amount=refund.amount,
            currency=refund.currency,
            idempotency_key=f"order-{order.pk}-refund-{refund.pk}",
            metadata={"order": str(order.pk), "refund": str(refund.pk)},
        )
    except IntegrationError:
        if not fail_on_error:
            logger.exception("refund %s failed; it stays pending for a retry", refund.pk)
            return refund
        Refund.objects.filter(pk=refund.pk, status=Refund.Status.PENDING).update(
            status=Refund.Status.FAILED
        )
        raise
    Refund.objects.filter(pk=refund.pk).update(gateway_ref=result.ref)
    if result.succeeded:
        return refund_confirm(refund_id=refund.pk, gateway_ref=result.ref, actor=actor, role=role)
    refund.refresh_from_db()
    return refund


# Stripe keeps idempotency keys for at least 24 hours; a refund retried later than that could
# be paid twice if the first call did reach Stripe, so older ones are left to a person.
REFUND_RETRY_WINDOW = timedelta(hours=23)


def refunds_retry(*, now: datetime | None = None) -> tuple[int, int]:
    """Retry what is owed but never reached the gateway: pending refunds without a gateway
    reference (created within REFUND_RETRY_WINDOW; older ones are logged for staff), and
    paid-out shares of refunded orders. Returns (refunds confirmed, payouts reversed). Safe to
    run twice: every retry reuses its idempotency key."""
    confirmed = reversed_ = 0
    since = (now or timezone.now()) - REFUND_RETRY_WINDOW
    pending = Refund.objects.filter(status=Refund.Status.PENDING, gateway_ref="")
    for refund_id in pending.filter(created_at__lt=since).values_list("pk", flat=True):
        logger.error(
            "refund %s is still unsent after %s; check it at the provider",
            refund_id,
            REFUND_RETRY_WINDOW,
        )
    for refund_id in pending.filter(created_at__gte=since).values_list("pk", flat=True):
        refund = refund_send(refund_id=refund_id)
        confirmed += refund.status == Refund.Status.SUCCEEDED
    owed = Payout.objects.filter(status=Payout.Status.PAID, order__status=S.REFUNDED)
    for order_id in owed.values_list("order_id", flat=True):
        try:
            reversed_ += payout_reverse(order_id=order_id) is not None
        except IntegrationError:
            logger.exception("reversing the payout of order %s failed; will retry", order_id)
    return confirmed, reversed_


@transaction.atomic
def orders_mark_refunded_at_provider(*, checkout_id: int, note: str) -> list[Order]:
    """The whole payment was refunded outside Threadly (e.g. the Stripe dashboard): record a
    succeeded Refund for every refundable order, end them refunded, and take back any payout
    after commit. Locks the orders; orders already refunded or cancelled are left alone."""
    orders = list(
        Order.objects.select_for_update().filter(checkout_id=checkout_id, status__in=REFUNDABLE)
    )
    for order in orders:
        Refund.objects.create(
            order=order,
            amount=order.total,
            currency=order.currency,
            status=Refund.Status.SUCCEEDED,
            reason=note,
        )
        record_transition(order, to=S.REFUNDED, role=Role.GATEWAY, note=note)
        payout_reverse_after_commit(order_id=order.pk)
    return orders


@transaction.atomic
def refund_confirm(
    *, refund_id: int, gateway_ref: str = "", actor=None, role: str = Role.GATEWAY
) -> Refund:
    """The gateway confirmed a refund: the order becomes refunded (or cancelled, with its
    stock returned). Idempotent. Locks the order and the refund."""
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    order = order_lock(refund.order_id)
    if refund.status == Refund.Status.SUCCEEDED:
        return refund
    if refund.status == Refund.Status.SUPERSEDED:
        # The buyer was already paid back (lost dispute); never apply it. If the provider did
        # move this money, staff must recover it, so it is logged and audited, nothing else.
        logger.error("confirmation of superseded refund %s ignored; check it", refund.pk)
        audit_log(
            action="order.refund_confirmation_ignored",
            actor=None,
            target=order,
            refund=refund.pk,
            gateway_ref=gateway_ref,
        )
        return refund
    refund.status = Refund.Status.SUCCEEDED
    refund.gateway_ref = gateway_ref or refund.gateway_ref
    refund.save(update_fields=["status", "gateway_ref", "updated_at"])
    Payout.objects.filter(order=order).exclude(reversal_ref="").update(
        status=Payout.Status.REVERSED
    )
    if refund.cancels_order and order.status == S.PAID:
        _return_stock(order)
        record_transition(order, to=S.CANCELLED, actor=actor, role=role, note=refund.reason)
    elif order.status in REFUNDABLE:
        record_transition(order, to=S.REFUNDED, actor=actor, role=role, note=refund.reason)
    queue_order_email(template="order_refunded", order_id=order.pk, to_buyer=True)
    analytics.capture_on_commit(
        order.buyer, "order_refunded", order_id=order.pk, amount=str(refund.amount)
    )
    return refund


def refunds_supersede(*, order: Order, actor=None, note: str) -> int:
    """Mark the order's pending refunds superseded (the buyer got the money back another way,
    e.g. a lost dispute) so refund_send, retry_refunds and a later confirmation ignore them.
    The caller holds the order's lock. Audited per refund. Returns how many were superseded."""
    pending = list(
        Refund.objects.select_for_update().filter(order=order, status=Refund.Status.PENDING)
    )
    for refund in pending:
        refund.status = Refund.Status.SUPERSEDED
        refund.save(update_fields=["status", "updated_at"])
        human = actor if getattr(actor, "is_authenticated", False) else None
        audit_log(
            action="order.refund_superseded", actor=human, target=order, refund=refund.pk, note=note
        )
    return len(pending)


def _return_stock(order: Order) -> None:
    stock.reservations_release(
        reservations=list(
            Reservation.objects.filter(
                checkout_id=order.checkout_id,
                listing__seller_id=order.seller_id,
                status=Reservation.Status.CONVERTED,
            )
        )
    )
