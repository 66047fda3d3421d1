"""Offer holds and time: an accepted offer holds one unit for its buyer for 24 hours; this
module hands that unit to a checkout and back, releases it when the 24 hours pass unpaid
(the release_reservations job) and expires offers nobody answered within 48 hours (the
offers_expire job). The helpers here are shared with offers.py, which makes and answers
offers (and calls down into this module, never the other way).

Locks: the listing row first (marketplace's `listings_lock`), then the offer rows, the order
checkout_reserve uses too, so an offer and a checkout never wait on each other in a cycle.

The hold takes the unit off sale with the catalog's stock service (`listing_reserve_stock`:
`held_quantity`, and `reserved` when it was the last unit), as a checkout does.
checkout_reserve hands the unit over to its Reservation (`offer_hold_to_checkout`); a
checkout that ends unpaid hands it back while the 24 hours last (`offers_checkout_failed`).
"""

from datetime import datetime
from decimal import Decimal
from functools import partial

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from core.events import listing_thread_event
from marketplace.models import Listing
from marketplace.rules import listing_sale_problem
from marketplace.services import listing_release_stock, listing_reserve_stock, listings_lock
from marketplace.templatetags.catalog import money
from orders.models import Cart, CartItem, Checkout, Offer
from orders.rules import OFFER_REMINDER_BEFORE
from orders.tasks import queue_offer_email

S = Offer.Status


# --- Helpers shared with offers.py --------------------------------------------------------------
def lock_listings(listing_ids: list[int]) -> dict[int, Listing]:
    """Lock the listings (id order) and load their sellers with what the buyability rules
    read (profile, payment account) in one more query."""
    listings = listings_lock(listing_ids=listing_ids)
    sellers = (
        get_user_model()
        .objects.select_related("profile", "payment_account")
        .in_bulk({listing.seller_id for listing in listings.values()})
    )
    for listing in listings.values():
        listing.seller = sellers[listing.seller_id]
    return listings


def offer_money(offer: Offer, amount: Decimal | None = None) -> str:
    return money(offer.amount if amount is None else amount, offer.currency)


def thread_line(offer: Offer, *, kind: str, text: str, actor_id: int | None) -> None:
    """A line in the buyer-seller conversation about the listing, after commit."""
    transaction.on_commit(
        partial(
            listing_thread_event.send,
            sender="orders",
            listing_id=offer.listing_id,
            buyer_id=offer.buyer_id,
            seller_id=offer.seller_id,
            kind=kind,
            text=text,
            actor_id=actor_id,
        )
    )


def cart_put(offer: Offer) -> None:
    """The agreed item in the buyer's cart, as one unit (orders' own rows)."""
    cart, _ = Cart.objects.get_or_create(user_id=offer.buyer_id)
    CartItem.objects.update_or_create(
        cart=cart, listing_id=offer.listing_id, defaults={"quantity": 1}
    )


def cart_drop(offer: Offer) -> None:
    CartItem.objects.filter(cart__user_id=offer.buyer_id, listing_id=offer.listing_id).delete()


def offer_save(offer: Offer, *fields: str) -> None:
    offer.save(update_fields=[*fields, "updated_at"])


# --- Time passing -----------------------------------------------------------------------------
def offers_expire(*, now: datetime | None = None) -> int:
    """Close offers and counter-offers nobody answered within 48 hours (status "expired").

    Idempotent: each row changes by one conditional UPDATE, so a second run, or a transition
    racing it, finds nothing left to do. Returns how many expired. After commit: a
    conversation line ("offer_expired") for each.
    """
    now = now or timezone.now()
    count = 0
    due = Offer.objects.filter(status__in=(S.PENDING, S.COUNTERED), expires_at__lte=now)
    for offer in due.only("pk", "listing_id", "buyer_id", "seller_id", "amount", "currency"):
        with transaction.atomic():
            changed = Offer.objects.filter(
                pk=offer.pk, status__in=(S.PENDING, S.COUNTERED), expires_at__lte=now
            ).update(status=S.EXPIRED, updated_at=now)
            if changed:
                count += 1
                thread_line(
                    offer,
                    kind="offer_expired",
                    text=f"Offer expired: {offer_money(offer)}",
                    actor_id=None,
                )
    return count


def offers_remind_expiring(*, now: datetime | None = None) -> int:
    """Remind the member who must answer an offer (the seller of a pending offer, the buyer of
    a counter-offer) once, when less than OFFER_REMINDER_BEFORE is left.

    Idempotent: `reminded_at` is set by one conditional UPDATE per offer before its email is
    queued, so a second run or a racing answer sends nothing more. Returns how many.
    """
    now = now or timezone.now()
    count = 0
    window = {
        "status__in": (S.PENDING, S.COUNTERED),
        "reminded_at__isnull": True,
        "expires_at__gt": now,
        "expires_at__lte": now + OFFER_REMINDER_BEFORE,
    }
    for offer in Offer.objects.filter(**window).only("pk", "status"):
        with transaction.atomic():
            if Offer.objects.filter(pk=offer.pk, **window).update(reminded_at=now):
                count += 1
                queue_offer_email(
                    offer_id=offer.pk,
                    template="offer_expiring",
                    to_buyer=offer.status == S.COUNTERED,
                )
    return count


def _hold_end(offer: Offer, listing: Listing | None) -> None:
    """An accepted offer's hold ends unpaid: the unit goes back on sale, the line leaves the
    cart, the offer expires. The caller holds the listing and offer locks."""
    if listing is not None:
        listing_release_stock(listing=listing, quantity=1)
    cart_drop(offer)
    offer.status = S.EXPIRED
    offer_save(offer, "status")
    thread_line(
        offer, kind="offer_expired", text=f"Offer expired: {offer_money(offer)}", actor_id=None
    )


def offer_holds_release_expired(*, now: datetime | None = None) -> int:
    """Give back the units of accepted offers not paid within 24 hours (run by the
    release_reservations job). Idempotent: locks each listing, then the offer, and re-checks
    it under the lock. Returns how many holds were released."""
    now = now or timezone.now()
    count = 0
    due = Offer.objects.filter(status=S.ACCEPTED, expires_at__lte=now)
    for offer_id, listing_id in due.values_list("pk", "listing_id"):
        with transaction.atomic():
            listing = listings_lock(listing_ids=[listing_id]).get(listing_id)
            offer = (
                Offer.objects.select_for_update()
                .filter(pk=offer_id, status=S.ACCEPTED, expires_at__lte=now)
                .first()
            )
            if offer is not None:
                _hold_end(offer, listing)
                count += 1
    return count


# --- Checkout hand-over (called by checkout.py and payment.py inside their transactions) -----
def offer_holds_lock(*, buyer_id: int, listing_ids: list[int], now: datetime) -> dict[int, Offer]:
    """The buyer's accepted offers holding a unit of these listings at `now`, locked, by
    listing id. The caller holds the listings' locks (checkout_reserve)."""
    offers = (
        Offer.objects.holding(buyer_id=buyer_id, now=now)
        .filter(listing_id__in=listing_ids)
        .select_for_update()
    )
    return {offer.listing_id: offer for offer in offers}


def offer_hold_to_checkout(*, offer: Offer, listing: Listing, checkout: Checkout) -> None:
    """The checkout takes over the offer's unit: it is given back here and taken again by the
    checkout's reservation in the same transaction, under the listing lock the caller holds,
    so nobody else can get it in between. The offer is "in checkout" until it ends."""
    listing_release_stock(listing=listing, quantity=1)
    offer.status = S.PAYING
    offer.checkout = checkout
    offer_save(offer, "status", "checkout")


def offers_checkout_failed(*, checkout: Checkout) -> None:
    """The checkout ended unpaid and its reservations were released in this transaction:
    each offer in it holds its unit again (back in the cart at the agreed price) while its 24
    hours last and the item can still be sold; otherwise it expires. Locks the listings, then
    the offers."""
    offers = Offer.objects.filter(checkout=checkout, status=S.PAYING)
    listing_ids = list(offers.values_list("listing_id", flat=True))
    if not listing_ids:
        return
    listings = lock_listings(listing_ids)
    now = timezone.now()
    for offer in offers.select_for_update():
        listing = listings.get(offer.listing_id)
        if offer.expires_at > now and listing is not None and not listing_sale_problem(listing):
            listing_reserve_stock(listing=listing, quantity=1)
            offer.status = S.ACCEPTED
            offer_save(offer, "status")
            cart_put(offer)
        else:
            offer.status = S.EXPIRED
            offer_save(offer, "status")
            thread_line(
                offer,
                kind="offer_expired",
                text=f"Offer expired: {offer_money(offer)}",
                actor_id=None,
            )


def offers_checkout_paid(*, checkout: Checkout, listings: dict[int, Listing]) -> None:
    """The checkout was paid: its offers are bought. An offer that was handed back to its
    hold when the checkout lapsed (a late payment) gives that unit back first, so the paid
    reservation can take it. The caller holds the checkout's lock and `listings`' locks."""
    for offer in Offer.objects.select_for_update().filter(
        checkout=checkout, status__in=(S.PAYING, S.ACCEPTED)
    ):
        if offer.status == S.ACCEPTED and offer.listing_id in listings:
            listing_release_stock(listing=listings[offer.listing_id], quantity=1)
            cart_drop(offer)
        offer.status = S.PAID
        offer_save(offer, "status")
