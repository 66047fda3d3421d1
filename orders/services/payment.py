"""The payment outcome: a checkout is paid, fails (declined, abandoned, expired) or is refunded
before the success arrives; and cancelling an order, which before payment ends its checkout as
failed and after it asks for a refund.

The success path (`checkout_mark_paid`) is the single function the Stripe webhook, the buyer's
return from Stripe and the local test payment page call; it locks the checkout row and is
idempotent, so any order of arrival ends with one paid checkout and stock taken once. It
also decides which orders can't be fulfilled once paid for (an item taken down by moderation,
or sold elsewhere after the reservation expired) and owes their total back.

Starting a purchase (address, reservation, payment page) is checkout.py, which calls down into
this module; this module calls down into refunds.py (a payment that can't be fulfilled is
paid back), never up.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core import analytics
from core.audit import audit_log
from core.db_router import primary
from marketplace.models import Listing
from marketplace.rules import listing_is_visible, listing_sale_problem
from marketplace.services import listing_sell_reserved_stock, listings_lock
from orders.exceptions import CheckoutError
from orders.models import Checkout, Order, OrderEvent, Refund, Reservation
from orders.payments import get_gateway_by_name
from orders.services import offer_holds, refunds, stock
from orders.services.transitions import (
    record_transition,
    require_role,
    require_status,
    role_of,
    thread_event_on_commit,
)
from orders.tasks import queue_order_email

S = Order.Status
Role = OrderEvent.Role


# Why an order of a paid checkout was not fulfilled: the Refund's reason (shown to the buyer
# on the checkout and order pages) and, with "; payment refunded", the timeline's note.
RESOLD = "Paid after the item was sold"
TAKEN_DOWN = "An item was taken down by Threadly before the payment completed"


@primary()
def checkout_mark_paid(
    *,
    checkout_id: int,
    payment_intent_ref: str = "",
    charge_ref: str = "",
    actor=None,
    role: str = Role.GATEWAY,
) -> Checkout:
    """The payment succeeded: every order of the checkout becomes paid, held stock is sold.

    Locks the checkout row and its listings; a second call (webhook after return, replay) is a
    no-op. A checkout already refunded stays refunded (refund arrived first).

    Orders that can't be fulfilled are cancelled and their total is owed back: a pending
    Refund per order is recorded here and sent to the gateway only after commit (refund_send;
    `retry_refunds` retries it with the same key). That is
    - a seller's order with a listing taken down since it was reserved (hidden by moderation,
      deleted, or its seller banned: marketplace.rules.listing_is_visible). Its held units go
      back to the listing; the other sellers' orders are paid as usual, so a multi-seller
      checkout is refunded in part. The buyer is emailed ("order_taken_down") and it is
      audited ("order.taken_down_at_payment"). A seller who went on holiday after the
      reservation still makes the sale: the buyer paid while the item was on sale.
    - every order of a payment that arrived after its reservation expired, when the stock
      can't be taken again (sold elsewhere meanwhile).
    """
    owed_refund_ids = []
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        if checkout.status in (Checkout.Status.PAID, Checkout.Status.REFUNDED):
            return checkout
        fields = ["status", "paid_at", "updated_at"]
        if payment_intent_ref:
            checkout.payment_intent_ref = payment_intent_ref
            fields.append("payment_intent_ref")
        if charge_ref:
            checkout.charge_ref = charge_ref
            fields.append("charge_ref")
        reservations = list(checkout.reservations.all())
        listings = listings_lock(listing_ids=[r.listing_id for r in reservations])
        listings_attach_sellers(listings.values())
        taken_down = _taken_down(reservations, listings)
        kept = [r for r in reservations if r.pk not in taken_down.reservation_ids]
        expired = checkout.status in (Checkout.Status.EXPIRED, Checkout.Status.FAILED)
        # Before a retake: a late payment's offer may hold its unit again (offers' docstring).
        offer_holds.offers_checkout_paid(checkout=checkout, listings=listings)
        resold = expired and not _retake(kept, listings)
        checkout.status = Checkout.Status.PAID
        checkout.paid_at = timezone.now()
        checkout.save(update_fields=fields)
        _release_held([r for r in reservations if r.pk in taken_down.reservation_ids])
        for reservation in kept:
            if reservation.status == Reservation.Status.HELD:
                listing_sell_reserved_stock(
                    listing=listings[reservation.listing_id], quantity=reservation.quantity
                )
                reservation.status = Reservation.Status.CONVERTED
                reservation.save(update_fields=["status", "updated_at"])
        for order in checkout.orders.select_for_update():
            if order.seller_id in taken_down.seller_ids:
                refund = _not_fulfilled(order, reason=TAKEN_DOWN, role=role, record_always=True)
                owed_refund_ids.append(refund.pk)
                audit_log(
                    action="order.taken_down_at_payment",
                    actor=None,
                    target=order,
                    role=role,
                    refund=refund.pk,
                    amount=str(refund.amount),
                    listings=taken_down.listing_ids_of(order.seller_id),
                )
                queue_order_email(template="order_taken_down", order_id=order.pk, to_buyer=True)
                continue
            if resold:
                owed_refund_ids.append(_not_fulfilled(order, reason=RESOLD, role=role).pk)
                continue
            record_transition(
                order,
                to=S.PAID,
                actor=actor,
                role=role,
                note="Payment received",
                paid_at=checkout.paid_at,
            )
            queue_order_email(template="order_confirmed", order_id=order.pk, to_buyer=True)
            queue_order_email(template="new_sale", order_id=order.pk, to_buyer=False)
            thread_event_on_commit(order, kind="order_paid", text=f"Order #{order.pk} was paid.")
            analytics.capture_on_commit(
                checkout.buyer, "order_paid", order_id=order.pk, total=str(order.total)
            )
        audit_log(action="checkout.paid", actor=actor, target=checkout, role=role)
        # The gateway is called after commit, never under these row locks (the caller may be a
        # webhook whose transaction is still open). The pending Refund rows are the record of
        # what is owed; if the call fails, `retry_refunds` retries with the same keys.
        for refund_id in owed_refund_ids:
            transaction.on_commit(partial(refunds.refund_send, refund_id=refund_id))
    return checkout


def listings_attach_sellers(listings: Iterable[Listing]) -> None:
    """Load the sellers of `listings` with what the buyability rules read (profile, payment
    account), in one query instead of up to three per listing while the listing locks are
    held (orders.rules.unavailable_reason, marketplace.rules.listing_is_visible)."""
    listings = list(listings)
    sellers = (
        get_user_model()
        .objects.select_related("profile", "payment_account")
        .in_bulk({listing.seller_id for listing in listings})
    )
    for listing in listings:
        listing.seller = sellers[listing.seller_id]


@dataclass(frozen=True)
class _TakenDown:
    """The reservations whose listing was taken down, and their sellers (whose whole order is
    not fulfilled: an order is one seller's parcel, paid and refunded as one)."""

    reservation_ids: frozenset[int]
    seller_ids: frozenset[int]
    listings: tuple[tuple[int, int], ...]  # (seller id, listing id)

    def listing_ids_of(self, seller_id: int) -> list[int]:
        return [listing_id for seller, listing_id in self.listings if seller == seller_id]


def _taken_down(reservations: list[Reservation], listings: dict[int, Listing]) -> _TakenDown:
    """Which reserved listings can no longer be seen by anyone (hidden by moderation, deleted,
    unpublished, or their seller banned or deactivated), and every reservation of their
    sellers' orders."""
    gone = [
        listings[r.listing_id]
        for r in reservations
        if r.listing_id in listings and not listing_is_visible(listings[r.listing_id])
    ]
    seller_ids = frozenset(listing.seller_id for listing in gone)
    return _TakenDown(
        reservation_ids=frozenset(
            r.pk
            for r in reservations
            if r.listing_id in listings and listings[r.listing_id].seller_id in seller_ids
        ),
        seller_ids=seller_ids,
        listings=tuple(sorted({(listing.seller_id, listing.pk) for listing in gone})),
    )


def _retake(reservations: list[Reservation], listings: dict) -> bool:
    for reservation in reservations:
        listing = listings.get(reservation.listing_id)
        if listing is None or listing_sale_problem(listing, quantity=reservation.quantity):
            return False
    for reservation in reservations:
        stock.reservation_stock_take(
            listing=listings[reservation.listing_id], quantity=reservation.quantity
        )
        reservation.status = Reservation.Status.HELD
        reservation.save(update_fields=["status", "updated_at"])
    return True


def _not_fulfilled(order: Order, *, reason: str, role: str, record_always: bool = False) -> Refund:
    """Cancel a paid-for order that won't be fulfilled and owe the buyer its total back (a
    pending Refund, sent after commit by the caller). The caller holds the order's lock.

    An order already cancelled (its reservation expired) gets a timeline entry saying why the
    payment goes back only with `record_always`."""
    if order.status != S.CANCELLED or record_always:
        record_transition(order, to=S.CANCELLED, role=role, note=f"{reason}; payment refunded")
    return Refund.objects.create(
        order=order, amount=order.total, currency=order.currency, reason=reason
    )


def _release_held(reservations: list[Reservation]) -> None:
    held = [r for r in reservations if r.status == Reservation.Status.HELD]
    if held:
        stock.reservations_release(reservations=held)


def checkout_mark_failed(
    *,
    checkout_id: int,
    actor=None,
    role: str = Role.GATEWAY,
    note: str = "Payment failed",
    status: str = Checkout.Status.FAILED,
) -> Checkout:
    """Payment failed, was declined, abandoned or expired: release the stock, cancel the
    orders. Only a pending checkout changes; otherwise a no-op. Locks checkout and listings.
    Accepted offers that went into it hold their unit again
    (offer_holds.offers_checkout_failed)."""
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        if checkout.status != Checkout.Status.PENDING:
            return checkout
        checkout.status = status
        checkout.save(update_fields=["status", "updated_at"])
        _release(checkout)
        offer_holds.offers_checkout_failed(checkout=checkout)
        for order in checkout.orders.select_for_update():
            record_transition(order, to=S.CANCELLED, actor=actor, role=role, note=note)
    return checkout


def checkout_cancel(*, checkout_id: int, actor) -> tuple[Checkout, bool]:
    """The buyer gives up on paying: a pending checkout ends failed and its items are released
    (checkout_mark_failed). Any other checkout is left as it is.

    Returns the checkout and whether this call cancelled it, so the caller can tell the buyer
    what really happened (a paid, refunded or already ended checkout was not cancelled). Locks
    the checkout row for the decision.
    """
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        if checkout.status != Checkout.Status.PENDING:
            return checkout, False
        checkout = checkout_mark_failed(
            checkout_id=checkout_id, actor=actor, role=Role.BUYER, note="Payment cancelled"
        )
    return checkout, True


def _release(checkout: Checkout) -> None:
    stock.reservations_release(
        reservations=list(checkout.reservations.filter(status=Reservation.Status.HELD))
    )


@transaction.atomic
def checkout_mark_refunded_before_paid(*, checkout_id: int) -> Checkout:
    """A refund event arrived before the success event: end the checkout as refunded so the
    late success event changes nothing."""
    checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
    if checkout.status == Checkout.Status.PENDING:
        checkout.status = Checkout.Status.REFUNDED
        checkout.save(update_fields=["status", "updated_at"])
        _release(checkout)
        offer_holds.offers_checkout_failed(checkout=checkout)
        for order in checkout.orders.select_for_update():
            record_transition(order, to=S.REFUNDED, role=Role.GATEWAY, note="Refunded")
    return checkout


def checkout_confirm_return(*, checkout: Checkout) -> Checkout:
    """The buyer came back from the payment page: ask the gateway and apply a success."""
    if checkout.status != Checkout.Status.PENDING or not checkout.gateway_ref:
        return checkout
    status = get_gateway_by_name(checkout.gateway).fetch_payment(ref=checkout.gateway_ref)
    if status.paid:
        return checkout_mark_paid(
            checkout_id=checkout.pk, payment_intent_ref=status.payment_intent_ref, role=Role.GATEWAY
        )
    return checkout


def checkout_test_payment_decide(*, checkout: Checkout, actor, approve: bool) -> Checkout:
    """The local gateway's test page: approve or decline, through the webhook's services."""
    if checkout.gateway != "local" or not settings.ALLOW_TEST_PAYMENTS:
        raise CheckoutError("Test payments are only available with the local gateway.")
    if approve:
        return checkout_mark_paid(
            checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref, role=Role.GATEWAY
        )
    return checkout_mark_failed(
        checkout_id=checkout.pk, role=Role.GATEWAY, note="Test payment declined"
    )


def order_cancel(*, order_id: int, actor) -> Order:
    """Cancel before shipping. Waiting for payment (buyer): the whole checkout is abandoned.
    Paid (buyer, seller or admin): refunded through the gateway, cancelled once confirmed."""
    order = Order.objects.get(pk=order_id)
    role = role_of(order, actor)
    if order.status == S.PENDING_PAYMENT:
        require_role(role, (Role.BUYER, Role.ADMIN), "cancelled")
        checkout_mark_failed(
            checkout_id=order.checkout_id, actor=actor, role=role, note="Cancelled before payment"
        )
        return Order.objects.get(pk=order_id)
    require_status(order, (S.PAID,), "cancelled")
    refunds.order_refund_request(
        order_id=order_id,
        actor=actor,
        cancels_order=True,
        reason="Cancelled before shipping",
        _role=role,
    )
    return Order.objects.get(pk=order_id)
