"""The order state machine: one service per transition.

Each checks who may act (buyer / seller / admin / gateway / system) and from which state,
writes an OrderEvent and an audit entry in the same transaction, and sends emails and
analytics after commit. Illegal transitions raise IllegalTransition / NotAllowed and change
nothing. Gateway calls (transfers, refunds) happen outside row locks with idempotency keys.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ops import analytics
from ops.audit import audit_log
from orders.emails import queue_order_email
from orders.exceptions import IllegalTransition, IntegrationError, NotAllowed
from orders.models import Order, OrderEvent, Payout, Refund, Reservation
from orders.payments import get_gateway_by_name
from orders.services import stock

logger = logging.getLogger(__name__)
S = Order.Status
Role = OrderEvent.Role

REFUNDABLE = (S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED, S.DISPUTED)


def role_of(order: Order, actor) -> str:
    """The actor's role on this order; NotAllowed for strangers."""
    if actor is not None and actor.is_authenticated:
        if actor.pk == order.buyer_id:
            return Role.BUYER
        if actor.pk == order.seller_id:
            return Role.SELLER
        if actor.is_staff:
            return Role.ADMIN
    raise NotAllowed("You can't change this order.")


def _require(order: Order, allowed: tuple[str, ...], action: str) -> None:
    if order.status not in allowed:
        raise IllegalTransition(
            f"Order #{order.pk} is {order.get_status_display().lower()}; it can't be {action}."
        )


def _require_role(role: str, allowed: tuple[str, ...], action: str) -> None:
    if role not in allowed:
        raise NotAllowed(f"Only the {' or '.join(allowed)} can mark this order {action}.")


def record_transition(
    order: Order, *, to: str, actor=None, role: str, note: str = "", **fields
) -> None:
    """Write the new state, the timeline event and the audit entry (caller holds the lock)."""
    from_status = order.status
    order.status = to
    for name, value in fields.items():
        setattr(order, name, value)
    order.save(update_fields=["status", "updated_at", *fields])
    human = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    OrderEvent.objects.create(
        order=order, actor=human, role=role, from_status=from_status, to_status=to, note=note
    )
    audit_log(action=f"order.{to}", actor=human, target=order, role=role, from_status=from_status)


def _lock(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


@transaction.atomic
def order_mark_shipped(*, order_id: int, actor, carrier: str, tracking_number: str) -> Order:
    """Seller only, paid -> shipped with carrier and tracking number. Locks the order."""
    order = _lock(order_id)
    role = role_of(order, actor)
    _require_role(role, (Role.SELLER,), "shipped")
    _require(order, (S.PAID,), "marked shipped")
    if not carrier.strip() or not tracking_number.strip():
        raise IllegalTransition("Enter the carrier and the tracking number.")
    record_transition(
        order,
        to=S.SHIPPED,
        actor=actor,
        role=role,
        note=f"{carrier} {tracking_number}",
        carrier=carrier.strip(),
        tracking_number=tracking_number.strip(),
        shipped_at=timezone.now(),
    )
    queue_order_email(template="order_shipped", order_id=order.pk, to_buyer=True)
    analytics.capture(actor, "order_shipped", order_id=order.pk)
    return order


@transaction.atomic
def _mark_delivered(*, order_id: int, actor, role: str, note: str = "") -> Order:
    order = _lock(order_id)
    _require(order, (S.SHIPPED,), "marked delivered")
    record_transition(
        order, to=S.DELIVERED, actor=actor, role=role, note=note, delivered_at=timezone.now()
    )
    queue_order_email(template="order_delivered", order_id=order.pk, to_buyer=False)
    analytics.capture(actor, "order_delivered", order_id=order.pk)
    return order


def order_confirm_delivery(*, order_id: int, actor) -> Order:
    """Buyer (or admin) confirms receipt: shipped -> delivered, then completed (seller paid).

    If the payout fails the order stays delivered and `complete_orders` retries it.
    """
    order = Order.objects.get(pk=order_id)
    role = role_of(order, actor)
    _require_role(role, (Role.BUYER, Role.ADMIN), "delivered")
    _mark_delivered(order_id=order_id, actor=actor, role=role)
    try:
        return order_complete(order_id=order_id, actor=actor, role=role)
    except IntegrationError:
        logger.exception("payout for order %s failed; will retry", order_id)
        return Order.objects.get(pk=order_id)


def order_complete(*, order_id: int, actor=None, role: str = Role.SYSTEM) -> Order:
    """delivered -> completed: transfer the seller's share, then record it. Safe to run twice.

    The transfer runs outside the lock with the idempotency key "order-<id>-transfer", so a
    retry or a concurrent run never pays twice; the second run finds the order completed.
    """
    order = Order.objects.select_related("checkout", "seller").get(pk=order_id)
    _require(order, (S.DELIVERED,), "completed")
    if role not in (Role.SYSTEM, Role.BUYER, Role.ADMIN):
        raise NotAllowed("Only the buyer or Threadly can complete an order.")
    gateway = get_gateway_by_name(order.checkout.gateway)
    destination = "local"
    if gateway.requires_onboarding:
        destination = order.seller.payment_account.stripe_account_id
    result = gateway.transfer(
        destination=destination,
        amount=order.seller_amount,
        currency=order.currency,
        transfer_group=order.checkout.transfer_group,
        idempotency_key=f"order-{order.pk}-transfer",
        metadata={"order": str(order.pk)},
    )
    with transaction.atomic():
        order = _lock(order_id)
        if order.status == S.COMPLETED:
            return order
        _require(order, (S.DELIVERED,), "completed")
        Payout.objects.create(
            order=order, amount=order.seller_amount, currency=order.currency, gateway_ref=result.ref
        )
        record_transition(
            order,
            to=S.COMPLETED,
            actor=actor,
            role=role,
            note=f"Seller paid {order.seller_amount} {order.currency}",
            completed_at=timezone.now(),
        )
        analytics.capture(
            order.seller,
            "order_completed",
            order_id=order.pk,
            seller_amount=str(order.seller_amount),
        )
    return order


def orders_auto_complete(*, now: datetime | None = None) -> int:
    """Complete orders shipped more than ORDER_AUTO_COMPLETE_DAYS ago with no dispute, and
    retry delivered orders whose payout failed. Returns how many were completed."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ORDER_AUTO_COMPLETE_DAYS)
    done = 0
    for order_id in Order.objects.filter(status=S.SHIPPED, shipped_at__lte=cutoff).values_list(
        "pk", flat=True
    ):
        try:
            _mark_delivered(
                order_id=order_id, actor=None, role=Role.SYSTEM, note="No problem reported in time"
            )
        except IllegalTransition:
            continue
    for order_id in Order.objects.filter(status=S.DELIVERED).values_list("pk", flat=True):
        try:
            order_complete(order_id=order_id, role=Role.SYSTEM)
            done += 1
        except (IllegalTransition, IntegrationError):
            logger.exception("auto-complete of order %s failed", order_id)
    return done


def order_open_dispute(
    *, order_id: int, actor=None, role: str = Role.GATEWAY, note: str = ""
) -> Order:
    """The buyer's bank opened a dispute (webhook) or an admin flags one: payout is held."""
    with transaction.atomic():
        order = _lock(order_id)
        if order.status == S.DISPUTED:
            return order
        _require(order, (S.PAID, S.SHIPPED, S.DELIVERED), "disputed")
        record_transition(order, to=S.DISPUTED, actor=actor, role=role, note=note)
    return order


def order_cancel(*, order_id: int, actor) -> Order:
    """Cancel before shipping. Waiting for payment (buyer): the whole checkout is abandoned.
    Paid (buyer, seller or admin): refunded through the gateway, cancelled once confirmed."""
    order = Order.objects.get(pk=order_id)
    role = role_of(order, actor)
    if order.status == S.PENDING_PAYMENT:
        _require_role(role, (Role.BUYER, Role.ADMIN), "cancelled")
        from orders.services.checkout import checkout_mark_failed

        checkout_mark_failed(
            checkout_id=order.checkout_id, actor=actor, role=role, note="Cancelled before payment"
        )
        return Order.objects.get(pk=order_id)
    _require(order, (S.PAID,), "cancelled")
    order_refund_request(
        order_id=order_id,
        actor=actor,
        cancels_order=True,
        reason="Cancelled before shipping",
        _role=role,
    )
    return Order.objects.get(pk=order_id)


def order_refund(*, order_id: int, actor, reason: str = "") -> Refund:
    """Seller or admin refunds the whole order through the gateway."""
    order = Order.objects.get(pk=order_id)
    role = role_of(order, actor)
    _require_role(role, (Role.SELLER, Role.ADMIN), "refunded")
    return order_refund_request(order_id=order_id, actor=actor, reason=reason, _role=role)


def order_refund_request(
    *, order_id: int, actor, reason: str = "", cancels_order: bool = False, _role: str
) -> Refund:
    """Create a pending Refund, ask the gateway, and apply it when the gateway confirms.

    A refund after completion first reverses the seller's transfer. The order only changes in
    refund_confirm (here when the gateway answers "succeeded", else on charge.refunded).
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().select_related("checkout").get(pk=order_id)
        _require(
            order,
            (S.PAID,) if cancels_order else REFUNDABLE,
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
    gateway = get_gateway_by_name(order.checkout.gateway)
    try:
        payout = Payout.objects.filter(order=order, status=Payout.Status.PAID).first()
        if payout is not None:
            reversal = gateway.reverse_transfer(
                transfer_ref=payout.gateway_ref,
                amount=payout.amount,
                idempotency_key=f"order-{order.pk}-transfer-reversal",
            )
            Payout.objects.filter(pk=payout.pk).update(reversal_ref=reversal.ref)
        result = gateway.refund(
            payment_intent_ref=order.checkout.payment_intent_ref,
            amount=refund.amount,
            currency=refund.currency,
            idempotency_key=f"order-{order.pk}-refund-{refund.pk}",
            metadata={"order": str(order.pk), "refund": str(refund.pk)},
        )
    except IntegrationError:
        Refund.objects.filter(pk=refund.pk).update(status=Refund.Status.FAILED)
        raise
    Refund.objects.filter(pk=refund.pk).update(gateway_ref=result.ref)
    if result.succeeded:
        refund_confirm(refund_id=refund.pk, gateway_ref=result.ref, actor=actor, role=_role)
    refund.refresh_from_db()
    return refund


@transaction.atomic
def refund_confirm(
    *, refund_id: int, gateway_ref: str = "", actor=None, role: str = Role.GATEWAY
) -> Refund:
    """The gateway confirmed a refund: the order becomes refunded (or cancelled, with its
    stock returned). Idempotent. Locks the order and the refund."""
    refund = Refund.objects.select_for_update().get(pk=refund_id)
    order = _lock(refund.order_id)
    if refund.status == Refund.Status.SUCCEEDED:
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
    analytics.capture(order.buyer, "order_refunded", order_id=order.pk, amount=str(refund.amount))
    return refund


def _return_stock(order: Order) -> None:
    reservations = list(
        Reservation.objects.filter(
            checkout_id=order.checkout_id,
            listing__seller_id=order.seller_id,
            status=Reservation.Status.CONVERTED,
        )
    )
    listings = stock.listings_lock(listing_ids=[r.listing_id for r in reservations])
    for reservation in reservations:
        stock.listing_stock_return(
            listing=listings[reservation.listing_id], quantity=reservation.quantity
        )
        reservation.status = Reservation.Status.RELEASED
        reservation.save(update_fields=["status", "updated_at"])
