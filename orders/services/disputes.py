"""Disputes (chargebacks): opened by the buyer's bank, closed won or lost.

A disputed order is never completed, so a seller share not yet paid stays on the platform.
Won: the order goes back to the state it had when the dispute opened (a delivered order then
goes on to completion, paying the seller). Lost: the bank has already returned the money to the
buyer, so the order ends refunded with a Refund row recording it; no refund call, no transfer,
and a share already paid out (dispute after completion) is reversed after commit. A refund still
pending then is superseded: never sent, never confirmed (the buyer would be paid twice).
"""

import logging
from enum import StrEnum

from django.db import transaction

from orders.exceptions import IllegalTransition, IntegrationError, NotAllowed
from orders.models import Order, OrderEvent, Refund
from orders.services.refunds import payout_reverse_after_commit, refunds_supersede
from orders.services.transitions import (
    order_complete,
    order_lock,
    record_transition,
    require_status,
)

logger = logging.getLogger(__name__)
S = Order.Status
Role = OrderEvent.Role


class DisputeOutcome(StrEnum):
    WON = "won"
    LOST = "lost"


def _status_before_dispute(order: Order) -> str:
    last = (
        order.events.filter(to_status=S.DISPUTED)
        .order_by("-created_at", "-id")
        .values_list("from_status", flat=True)
        .first()
    )
    return last or S.PAID


def _complete_after_commit(order_id: int) -> None:
    try:
        order_complete(order_id=order_id, role=Role.SYSTEM)
    except (IllegalTransition, IntegrationError):
        logger.exception("completion of order %s after a won dispute failed; will retry", order_id)


def order_resolve_dispute(
    *,
    order_id: int,
    outcome: DisputeOutcome,
    actor=None,
    note: str = "",
) -> Order:
    """Close an order's dispute: `actor` None is the payment provider (charge.dispute.closed),
    otherwise a staff member deciding it by hand (NotAllowed for anyone else).

    Locks the order; raises IllegalTransition unless it is disputed. A won dispute restores the
    previous state; from delivered the seller is paid after commit (the transfer never runs
    inside this transaction, which may be a webhook's). A lost one ends refunded, no payout.
    """
    outcome = DisputeOutcome(outcome)
    role = Role.GATEWAY
    if actor is not None:
        if not (actor.is_authenticated and actor.is_staff):
            raise NotAllowed("Only Threadly staff can resolve a dispute.")
        role = Role.ADMIN
    with transaction.atomic():
        order = order_lock(order_id)
        require_status(order, (S.DISPUTED,), "resolved as a dispute")
        if outcome == DisputeOutcome.WON:
            previous = _status_before_dispute(order)
            record_transition(
                order, to=previous, actor=actor, role=role, note=note or "Dispute won"
            )
            if previous == S.DELIVERED:
                transaction.on_commit(lambda: _complete_after_commit(order_id))
        else:
            # A refund still pending (e.g. queued for retry_refunds) would pay the buyer twice.
            refunds_supersede(order=order, actor=actor, note=note or "Dispute lost")
            Refund.objects.create(
                order=order,
                amount=order.total,
                currency=order.currency,
                status=Refund.Status.SUCCEEDED,
                requested_by=actor if getattr(actor, "is_authenticated", False) else None,
                reason=(note or "Dispute lost")[:255],
            )
            record_transition(
                order, to=S.REFUNDED, actor=actor, role=role, note=note or "Dispute lost"
            )
            payout_reverse_after_commit(order_id=order_id)
    return order
