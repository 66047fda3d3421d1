"""The order state machine: one service per transition.

Each checks who may act (buyer / seller / admin / gateway / system) and from which state,
writes an OrderEvent and an audit entry in the same transaction, and sends emails and
analytics after commit. Illegal transitions raise IllegalTransition / NotAllowed and change
nothing. Gateway calls (transfers) happen outside row locks with idempotency keys.
Refunds live in refunds.py, dispute outcomes in disputes.py, the payment outcome and
cancellations in payment.py; they share the helpers here (role_of, require_status,
record_transition).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import analytics
from core.audit import audit_log
from core.events import listing_thread_event
from orders.exceptions import IllegalTransition, IntegrationError, NotAllowed
from orders.models import Order, OrderEvent, OrderItem, Payout
from orders.payments import get_gateway_by_name
from orders.tasks import queue_order_email

logger = logging.getLogger(__name__)
S = Order.Status
Role = OrderEvent.Role

REFUNDABLE = (S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED, S.DISPUTED)
# A refund may be *started* only without an open dispute: the bank may give the money back.
REFUND_REQUESTABLE = (S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED)


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


def order_actions(order: Order, actor) -> frozenset[str]:
    """What `actor` may do to `order` now ("ship", "confirm_delivery", "cancel", "refund"), by
    the rules the services below enforce: the order page shows only buttons that will work."""
    try:
        role = role_of(order, actor)
    except NotAllowed:
        return frozenset()
    actions = set()
    if role == Role.SELLER and order.status == S.PAID:
        actions.add("ship")
    if role in (Role.BUYER, Role.ADMIN) and order.status == S.SHIPPED:
        actions.add("confirm_delivery")
    if order.status == S.PAID or (
        order.status == S.PENDING_PAYMENT and role in (Role.BUYER, Role.ADMIN)
    ):
        actions.add("cancel")
    if role in (Role.SELLER, Role.ADMIN) and order.status in REFUND_REQUESTABLE:
        actions.add("refund")
    return frozenset(actions)


def require_status(order: Order, allowed: tuple[str, ...], action: str) -> None:
    if order.status not in allowed:
        raise IllegalTransition(
            f"Order #{order.pk} is {order.get_status_display().lower()}; it can't be {action}."
        )


def require_role(role: str, allowed: tuple[str, ...], action: str) -> None:
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


def thread_event_on_commit(order: Order, *, kind: str, text: str, actor=None) -> None:
    """After commit, tell the buyer and seller's conversation about their order's listing
    (core.events.listing_thread_event; the order's first item names the listing). A failing
    receiver is logged, never raised: the order has changed either way."""
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    order_id, buyer_id, seller_id = order.pk, order.buyer_id, order.seller_id

    def send() -> None:
        listing_id = (
            OrderItem.objects.filter(order_id=order_id, listing__isnull=False)
            .order_by("id")
            .values_list("listing_id", flat=True)
            .first()
        )
        if listing_id is None:
            return
        results = listing_thread_event.send_robust(
            sender="orders",
            listing_id=listing_id,
            buyer_id=buyer_id,
            seller_id=seller_id,
            kind=kind,
            text=text,
            actor_id=actor_id,
        )
        for _receiver, result in results:
            if isinstance(result, Exception):
                logger.error("listing_thread_event %s for order %s: %r", kind, order_id, result)

    transaction.on_commit(send)


def order_lock(order_id: int) -> Order:
    return Order.objects.select_for_update().get(pk=order_id)


@transaction.atomic
def order_mark_shipped(*, order_id: int, actor, carrier: str, tracking_number: str) -> Order:
    """Seller only, paid -> shipped with carrier and tracking number. Locks the order."""
    order = order_lock(order_id)
    role = role_of(order, actor)
    require_role(role, (Role.SELLER,), "shipped")
    require_status(order, (S.PAID,), "marked shipped")
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
    thread_event_on_commit(
        order,
        kind="order_shipped",
        text=f"Order #{order.pk} was shipped ({order.carrier}, tracking {order.tracking_number}).",
        actor=actor,
    )
    analytics.capture_on_commit(actor, "order_shipped", order_id=order.pk)
    return order


@transaction.atomic
def _mark_delivered(*, order_id: int, actor, role: str, note: str = "") -> Order:
    order = order_lock(order_id)
    require_status(order, (S.SHIPPED,), "marked delivered")
    record_transition(
        order, to=S.DELIVERED, actor=actor, role=role, note=note, delivered_at=timezone.now()
    )
    queue_order_email(template="order_delivered", order_id=order.pk, to_buyer=False)
    thread_event_on_commit(
        order, kind="order_delivered", text=f"Order #{order.pk} was delivered.", actor=actor
    )
    analytics.capture_on_commit(actor, "order_delivered", order_id=order.pk)
    return order


def order_confirm_delivery(*, order_id: int, actor) -> Order:
    """Buyer (or admin) confirms receipt: shipped -> delivered, then completed (seller paid).

    If the payout fails the order stays delivered and `complete_orders` retries it.
    """
    order = Order.objects.get(pk=order_id)
    role = role_of(order, actor)
    require_role(role, (Role.BUYER, Role.ADMIN), "delivered")
    _mark_delivered(order_id=order_id, actor=actor, role=role)
    try:
        return order_complete(order_id=order_id, actor=actor, role=role)
    except IntegrationError:
        logger.exception("payout for order %s failed; will retry", order_id)
        return Order.objects.get(pk=order_id)


def order_complete(*, order_id: int, actor=None, role: str = Role.SYSTEM) -> Order:
    """delivered -> completed: transfer the seller's share, then record it. Safe to run twice.

    The transfer runs outside any lock with the idempotency key "order-<id>-transfer" and is
    recorded as a Payout at once, whatever the order's state by then (the money moved; if a
    dispute or refund landed meanwhile, losing it or refunding reverses the payout). An order
    with a recorded payout is never transferred again, so retries and concurrent runs pay once.
    Raises IllegalTransition if the order is no longer delivered when it is to be completed.
    """
    order = Order.objects.select_related("checkout", "seller").get(pk=order_id)
    require_status(order, (S.DELIVERED,), "completed")
    if role not in (Role.SYSTEM, Role.BUYER, Role.ADMIN):
        raise NotAllowed("Only the buyer or Threadly can complete an order.")
    if not Payout.objects.filter(order_id=order_id).exists():
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
            order_lock(order_id)
            Payout.objects.get_or_create(
                order_id=order_id,
                defaults={
                    "amount": order.seller_amount,
                    "currency": order.currency,
                    "gateway_ref": result.ref,
                },
            )
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status == S.COMPLETED:
            return order
        require_status(order, (S.DELIVERED,), "completed")
        record_transition(
            order,
            to=S.COMPLETED,
            actor=actor,
            role=role,
            note=f"Seller paid {order.seller_amount} {order.currency}",
            completed_at=timezone.now(),
        )
        analytics.capture_on_commit(
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


DISPUTABLE = (S.PAID, S.SHIPPED, S.DELIVERED, S.COMPLETED)


def order_open_dispute(
    *, order_id: int, actor=None, role: str = Role.GATEWAY, note: str = ""
) -> Order:
    """The buyer's bank opened a dispute (charge.dispute.created): the order is never completed
    while it is open, so an unpaid seller share is held. Idempotent. Locks the order."""
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status == S.DISPUTED:
            return order
        require_status(order, DISPUTABLE, "disputed")
        record_transition(order, to=S.DISPUTED, actor=actor, role=role, note=note)
    return order
