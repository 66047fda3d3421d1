"""Starting a purchase: the shipping address, the atomic stock reservation and the payment page.

`checkout_place` is what the checkout page calls. What happens once the buyer has paid or
not (the payment outcome) is payment.py.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core import analytics
from core.audit import audit_log
from core.db_router import primary
from marketplace.services import listings_lock
from orders.exceptions import CheckoutError, IntegrationError, ListingUnavailable
from orders.models import (
    Address,
    CartItem,
    Checkout,
    Order,
    OrderEvent,
    OrderItem,
    Reservation,
)
from orders.money import platform_fee
from orders.payments import get_gateway, get_gateway_by_name
from orders.payments.base import PaymentRequest, PaymentRequestLine
from orders.rules import lines_price, prices_total, unavailable_reason, unit_price
from orders.services import offer_holds, stock
from orders.services.payment import checkout_mark_failed, listings_attach_sellers

S = Order.Status
Role = OrderEvent.Role
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


@primary()
def checkout_reserve(*, buyer, address: Address) -> Checkout:
    """Turn the buyer's cart into one Checkout and one Order per seller, holding the stock.

    Locks every listing in the cart (id order) and takes the units in the same transaction,
    so when buyers race for the last unit exactly one gets it; the others get
    ListingUnavailable("Sorry, this item was just sold.") and nothing is written.

    A line held for the buyer by an accepted offer costs the agreed price (the fee is on it)
    and the checkout's reservation takes over the offer's unit
    (offer_holds.offer_hold_to_checkout): the buyer's accepted offers are locked after the
    listings.
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
        listings_attach_sellers(listings.values())
        now = timezone.now()
        holds = offer_holds.offer_holds_lock(buyer_id=buyer.pk, listing_ids=list(listings), now=now)
        agreed = {listing_id: offer.amount for listing_id, offer in holds.items()}
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
                held=1 if listing.pk in holds else 0,
            )
            if reason:
                raise ListingUnavailable(f"{listing.title}: {reason}")
            by_seller[listing.seller_id].append((listing, item.quantity))
            currencies.add(listing.currency)
        if len(currencies) != 1:
            raise CheckoutError("Items priced in different currencies must be bought separately.")
        expires_at = now + timedelta(minutes=settings.RESERVATION_TTL_MINUTES)
        checkout = Checkout.objects.create(
            buyer=buyer,
            currency=currencies.pop(),
            total=Decimal("0.01"),
            gateway=gateway.name,
            shipping_address=address.snapshot(),
            expires_at=expires_at,
        )
        prices = []
        for seller_id, lines in by_seller.items():
            price = lines_price(lines, agreed=agreed)
            prices.append(price)
            fee = platform_fee(price.items_total)
            order = Order.objects.create(
                checkout=checkout,
                buyer=buyer,
                seller_id=seller_id,
                currency=checkout.currency,
                items_total=price.items_total,
                shipping_total=price.shipping_total,
                total=price.total,
                platform_fee=fee,
                seller_amount=price.total - fee,
            )
            OrderItem.objects.bulk_create(
                OrderItem(
                    order=order,
                    listing=listing,
                    title=listing.title,
                    unit_price=unit_price(listing, agreed),
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
                if listing.pk in holds:
                    offer_holds.offer_hold_to_checkout(
                        offer=holds[listing.pk], listing=listing, checkout=checkout
                    )
                stock.reservation_stock_take(listing=listing, quantity=qty)
                Reservation.objects.create(
                    checkout=checkout, listing=listing, quantity=qty, expires_at=expires_at
                )
        total = prices_total(prices)
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


@primary()
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


def checkout_place(
    *,
    buyer,
    address: Address | None = None,
    new_address: dict | None = None,
    payment_urls: Callable[[Checkout], tuple[str, str]],
) -> str:
    """The checkout page's one call: reserve the cart for shipping to `address` (one of the
    buyer's) or to `new_address` (address_create's fields, saved for reuse) and start the
    payment. Returns where to send the buyer.

    The new address and the reservation are written in one transaction, so when the
    reservation fails (ListingUnavailable, CheckoutError) no address is saved either. The
    gateway is called after that commit, with no lock held. `payment_urls(checkout)` gives
    the (success URL, cancel URL) of the payment page. Raises OrdersError subclasses with a
    message for the buyer; IntegrationError if the gateway fails (the stock is released).
    """
    if (address is None) == (new_address is None):
        raise CheckoutError("Choose an address or enter a new one.")
    with transaction.atomic():
        if new_address is not None:
            address = address_create(user=buyer, **new_address)
        checkout = checkout_reserve(buyer=buyer, address=address)
    success_url, cancel_url = payment_urls(checkout)
    return checkout_start_payment(checkout=checkout, success_url=success_url, cancel_url=cancel_url)


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
