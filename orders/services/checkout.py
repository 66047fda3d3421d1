"""Checkout: address, atomic stock reservation, payment start and payment outcome.

The success path (`checkout_mark_paid`) is the single function both the Stripe webhook, the
buyer's return from Stripe and the local test payment page call; it locks the checkout row
and is idempotent, so any order of arrival ends with one paid checkout and stock taken once.
"""

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from marketplace.rules import listing_sale_problem
from marketplace.services import listing_sell_reserved_stock, listings_lock
from ops import analytics
from ops.audit import audit_log
from orders.emails import queue_order_email
from orders.exceptions import CheckoutError, IntegrationError, ListingUnavailable
from orders.models import (
    Address,
    CartItem,
    Checkout,
    Order,
    OrderEvent,
    OrderItem,
    Refund,
    Reservation,
)
from orders.money import platform_fee
from orders.payments import get_gateway, get_gateway_by_name
from orders.payments.base import PaymentRequest, PaymentRequestLine
from orders.rules import unavailable_reason
from orders.services import stock
from orders.services.refunds import refund_send
from orders.services.transitions import record_transition

S = Order.Status
Role = OrderEvent.Role
ZERO = Decimal("0.00")
STRIPE_MIN_SESSION_MINUTES = 30


@transaction.atomic
def address_create(
    *,
    user,
    full_name: str,
    line1: str,
    line2: str = "",
    city: str,
    postcode: str,
    country: str,
    phone: str = "",
) -> Address:
    """Save a shipping address for reuse (personal fields are encrypted at rest)."""
    return Address.objects.create(
        user=user,
        full_name=full_name.strip(),
        line1=line1.strip(),
        line2=line2.strip(),
        city=city.strip(),
        postcode=postcode.strip().upper(),
        country=country.upper(),
        phone=phone.strip(),
    )


def checkout_reserve(*, buyer, address: Address) -> Checkout:
    """Turn the buyer's cart into one Checkout and one Order per seller, holding the stock.

    Locks every listing in the cart (id order) and takes the units in the same transaction,
    so when buyers race for the last unit exactly one gets it; the others get
    ListingUnavailable("Sorry, this item was just sold.") and nothing is written.
    """
    if address.user_id != buyer.pk:
        raise CheckoutError("Choose one of your addresses.")
    gateway = get_gateway()
    if gateway.name == "local" and not settings.ALLOW_TEST_PAYMENTS:
        raise CheckoutError("Payments aren't available right now. Please try again later.")
    with transaction.atomic():
        items = list(CartItem.objects.filter(cart__user=buyer).order_by("listing_id"))
        if not items:
            raise CheckoutError("Your cart is empty.")
        listings = listings_lock(listing_ids=[item.listing_id for item in items])
        _attach_sellers(listings.values())
        by_seller: dict[int, list[tuple]] = defaultdict(list)
        currencies = set()
        for item in items:
            listing = listings.get(item.listing_id)
            if listing is None:
                raise ListingUnavailable("An item in your cart is no longer available.")
            reason = unavailable_reason(
                listing,
                buyer_id=buyer.pk,
                quantity=item.quantity,
                requires_onboarding=gateway.requires_onboarding,
            )
            if reason:
                raise ListingUnavailable(f"{listing.title}: {reason}")
            by_seller[listing.seller_id].append((listing, item.quantity))
            currencies.add(listing.currency)
        if len(currencies) != 1:
            raise CheckoutError("Items priced in different currencies must be bought separately.")
        now = timezone.now()
        expires_at = now + timedelta(minutes=settings.RESERVATION_TTL_MINUTES)
        checkout = Checkout.objects.create(
            buyer=buyer,
            currency=currencies.pop(),
            total=Decimal("0.01"),
            gateway=gateway.name,
            shipping_address=address.snapshot(),
            expires_at=expires_at,
        )
        total = ZERO
        for seller_id, lines in by_seller.items():
            items_total = sum((listing.price * qty for listing, qty in lines), ZERO)
            shipping_total = sum((listing.shipping_price for listing, _ in lines), ZERO)
            fee = platform_fee(items_total)
            order = Order.objects.create(
                checkout=checkout,
                buyer=buyer,
                seller_id=seller_id,
                currency=checkout.currency,
                items_total=items_total,
                shipping_total=shipping_total,
                total=items_total + shipping_total,
                platform_fee=fee,
                seller_amount=items_total + shipping_total - fee,
            )
            total += order.total
            OrderItem.objects.bulk_create(
                OrderItem(
                    order=order,
                    listing=listing,
                    title=listing.title,
                    unit_price=listing.price,
                    shipping_price=listing.shipping_price,
                    quantity=qty,
                )
                for listing, qty in lines
            )
            OrderEvent.objects.create(
                order=order,
                actor=buyer,
                role=Role.BUYER,
                to_status=S.PENDING_PAYMENT,
                note="Checkout started",
            )
            for listing, qty in lines:
                stock.reservation_stock_take(listing=listing, quantity=qty)
                Reservation.objects.create(
                    checkout=checkout, listing=listing, quantity=qty, expires_at=expires_at
                )
        checkout.total = total
        checkout.save(update_fields=["total", "updated_at"])
        CartItem.objects.filter(pk__in=[item.pk for item in items]).delete()
        audit_log(action="checkout.started", actor=buyer, target=checkout, total=str(total))
        analytics.capture_on_commit(
            buyer,
            "checkout_started",
            checkout=str(checkout.public_id),
            total=str(total),
            sellers=len(by_seller),
        )
    return checkout


def _attach_sellers(listings) -> None:
    """Load the sellers with what unavailable_reason reads, in one query instead of three per
    listing while the listing locks are held."""
    listings = list(listings)
    sellers = (
        get_user_model()
        .objects.select_related("profile", "payment_account")
        .in_bulk({listing.seller_id for listing in listings})
    )
    for listing in listings:
        listing.seller = sellers[listing.seller_id]


def checkout_start_payment(*, checkout: Checkout, success_url: str, cancel_url: str) -> str:
    """Ask the gateway for a payment page (network, no lock held); returns where to send the
    buyer. If the gateway fails, the reservation is released and IntegrationError raised."""
    gateway = get_gateway_by_name(checkout.gateway)
    orders = checkout.orders.prefetch_related("items")
    lines = []
    for order in orders:
        for item in order.items.all():
            lines.append(PaymentRequestLine(item.title, item.unit_price, item.quantity))
            if item.shipping_price:
                lines.append(PaymentRequestLine(f"Shipping: {item.title}", item.shipping_price, 1))
    # Stripe Checkout Sessions live at least 30 minutes; the reservation is held as long as the
    # payment page can still be paid, so a late payment is the exception, not the rule.
    expires_at = timezone.now() + timedelta(
        minutes=max(STRIPE_MIN_SESSION_MINUTES, settings.RESERVATION_TTL_MINUTES)
    )
    request = PaymentRequest(
        checkout_id=str(checkout.public_id),
        buyer_email=checkout.buyer.email,
        currency=checkout.currency,
        total=checkout.total,
        transfer_group=checkout.transfer_group,
        lines=tuple(lines),
        success_url=success_url,
        cancel_url=cancel_url,
        expires_at=expires_at,
    )
    try:
        session = gateway.start_payment(request)
    except IntegrationError:
        checkout_mark_failed(
            checkout_id=checkout.pk,
            role=Role.SYSTEM,
            note="The payment provider could not be reached",
        )
        raise
    with transaction.atomic():
        Checkout.objects.filter(pk=checkout.pk).update(gateway_ref=session.ref)
        if session.expires_at is not None:
            Checkout.objects.filter(pk=checkout.pk, status=Checkout.Status.PENDING).update(
                expires_at=session.expires_at
            )
            checkout.reservations.filter(status=Reservation.Status.HELD).update(
                expires_at=session.expires_at
            )
    return session.redirect_url


def checkout_mark_paid(
    *,
    checkout_id: int,
    payment_intent_ref: str = "",
    charge_ref: str = "",
    actor=None,
    role: str = Role.GATEWAY,
) -> Checkout:
    """The payment succeeded: every order of the checkout becomes paid, held stock is sold.

    Locks the checkout row; a second call (webhook after return, replay) is a no-op. A
    checkout already refunded stays refunded (refund arrived first). A payment that arrives
    after its reservation expired takes the stock again if it is still there; otherwise the
    orders are cancelled and a pending Refund per order is recorded here, sent to the gateway
    only after commit (refund_send; `retry_refunds` retries it with the same key).
    """
    resold = False
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
        expired = checkout.status in (Checkout.Status.EXPIRED, Checkout.Status.FAILED)
        if expired and not _retake(reservations, listings):
            resold = True
        checkout.status = Checkout.Status.PAID
        checkout.paid_at = timezone.now()
        checkout.save(update_fields=fields)
        for reservation in reservations:
            if reservation.status == Reservation.Status.HELD:
                listing_sell_reserved_stock(
                    listing=listings[reservation.listing_id], quantity=reservation.quantity
                )
                reservation.status = Reservation.Status.CONVERTED
                reservation.save(update_fields=["status", "updated_at"])
        late_refund_ids = []
        for order in checkout.orders.select_for_update():
            if resold:
                if order.status != S.CANCELLED:
                    record_transition(
                        order,
                        to=S.CANCELLED,
                        role=role,
                        note="Paid after the item was sold; payment refunded",
                    )
                late_refund_ids.append(_late_refund_record(order).pk)
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
            analytics.capture_on_commit(
                checkout.buyer, "order_paid", order_id=order.pk, total=str(order.total)
            )
        audit_log(action="checkout.paid", actor=actor, target=checkout, role=role)
        # The gateway is called after commit, never under these row locks (the caller may be a
        # webhook whose transaction is still open). The pending Refund rows are the record of
        # what is owed; if the call fails, `retry_refunds` retries with the same keys.
        for refund_id in late_refund_ids:
            transaction.on_commit(partial(refund_send, refund_id=refund_id))
    return checkout


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


def _late_refund_record(order: Order) -> Refund:
    """Owe the buyer this order's total back: the payment came after its items were resold."""
    return Refund.objects.create(
        order=order,
        amount=order.total,
        currency=order.currency,
        reason="Paid after the item was sold",
    )


def checkout_mark_failed(
    *,
    checkout_id: int,
    actor=None,
    role: str = Role.GATEWAY,
    note: str = "Payment failed",
    status: str = Checkout.Status.FAILED,
) -> Checkout:
    """Payment failed, was declined, abandoned or expired: release the stock, cancel the
    orders. Only a pending checkout changes; otherwise a no-op. Locks checkout and listings."""
    with transaction.atomic():
        checkout = Checkout.objects.select_for_update().get(pk=checkout_id)
        if checkout.status != Checkout.Status.PENDING:
            return checkout
        checkout.status = status
        checkout.save(update_fields=["status", "updated_at"])
        _release(checkout)
        for order in checkout.orders.select_for_update():
            record_transition(order, to=S.CANCELLED, actor=actor, role=role, note=note)
    return checkout


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


def reservations_release_expired(*, now: datetime | None = None) -> int:
    """Expire pending checkouts past their reservation time; returns how many were released."""
    now = now or timezone.now()
    count = 0
    ids = Checkout.objects.filter(status=Checkout.Status.PENDING, expires_at__lte=now)
    for checkout_id in ids.values_list("pk", flat=True):
        checkout = checkout_mark_failed(
            checkout_id=checkout_id,
            role=Role.SYSTEM,
            note="Reservation expired",
            status=Checkout.Status.EXPIRED,
        )
        count += checkout.status == Checkout.Status.EXPIRED
    return count
