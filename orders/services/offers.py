"""Offers: a buyer and the seller agree a lower price for one unit of a listing.

Every change of an offer goes through this module: `offer_make` (the buyer), `offer_transition`
(accept, decline, counter, withdraw: the one way to answer, ruled by orders.rules.offer_actions),
`offer_to_likers` (the seller, to everyone who saved the item), the expiry jobs, and the
hand-over of an accepted offer's hold to a checkout and back (checkout.py and payment.py).

Locks: the listing row first (marketplace's `listings_lock`), then the offer rows, the order
checkout_reserve uses too, so an offer and a checkout never wait on each other in a cycle.

The hold: accepting takes the unit off sale with the catalog's stock service
(`listing_reserve_stock`: `held_quantity`, and `reserved` when it was the last unit), as a
checkout does, and puts the item in the buyer's cart at the agreed price for 24 hours.
checkout_reserve hands the unit over to its Reservation (`offer_hold_to_checkout`); a checkout
that ends unpaid hands it back while the 24 hours last (`offers_checkout_failed`). When they
pass unpaid, `offer_holds_release_expired` (the release_reservations job) gives the unit back.

Each step sends core.events.listing_thread_event after commit (a line in the buyer-seller
conversation) and emails the other party (kind "offers", which members may turn off).
"""

from datetime import datetime
from decimal import Decimal
from functools import partial

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import user_email_is_verified
from core import analytics, ratelimit
from core.events import listing_thread_event
from marketplace.exceptions import ListingOutOfStock
from marketplace.models import Listing
from marketplace.rules import listing_is_visible, listing_sale_problem
from marketplace.selectors import listing_liker_ids
from marketplace.services import listing_release_stock, listing_reserve_stock, listings_lock
from marketplace.templatetags.catalog import money
from orders.emails import queue_offer_email
from orders.exceptions import OfferError, OfferNotFound
from orders.models import Cart, CartItem, Checkout, Offer
from orders.payments import get_gateway
from orders.rules import (
    LIKERS_OFFER_INTERVAL,
    OFFER_ANSWER_TIME,
    OFFER_HOLD_TIME,
    OFFER_RATE,
    offer_actions,
    offer_amount_problem,
    offer_is_lapsed,
    unavailable_reason,
)

S = Offer.Status
ALREADY_OPEN = "You already have an open offer on this item; see My offers."


# --- Helpers --------------------------------------------------------------------------------
def _lock_listings(listing_ids: list[int]) -> dict[int, Listing]:
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


def _money(offer: Offer, amount: Decimal | None = None) -> str:
    return money(offer.amount if amount is None else amount, offer.currency)


def _thread_line(offer: Offer, *, kind: str, text: str, actor_id: int | None) -> None:
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


def _rate_check(user) -> None:
    decision = ratelimit.hit(
        scope="offers", ident=f"user:{user.pk}", rate=ratelimit.parse_rate(OFFER_RATE)
    )
    if not decision.allowed:
        minutes = max(1, round(decision.retry_after / 60))
        raise OfferError(f"You've made a lot of offers; try again in {minutes} minutes.")


def _cart_put(offer: Offer) -> None:
    """The agreed item in the buyer's cart, as one unit (orders' own rows)."""
    cart, _ = Cart.objects.get_or_create(user_id=offer.buyer_id)
    CartItem.objects.update_or_create(
        cart=cart, listing_id=offer.listing_id, defaults={"quantity": 1}
    )


def _cart_drop(offer: Offer) -> None:
    CartItem.objects.filter(cart__user_id=offer.buyer_id, listing_id=offer.listing_id).delete()


def _save(offer: Offer, *fields: str) -> None:
    offer.save(update_fields=[*fields, "updated_at"])


# --- Making an offer --------------------------------------------------------------------------
def offer_make(*, buyer, listing_id: int, amount: Decimal) -> Offer:
    """`buyer` offers `amount` for one unit of a listing for sale, waiting 48 hours for the
    seller's answer.

    The buyer must have confirmed their email; the amount is at least orders.rules'
    floor (60 % of the price) and below the price; one open offer per buyer and listing (also
    held by a partial unique constraint). Rate limited per member (OFFER_RATE). Locks the
    listing row. Raises OfferError with a message for the buyer. After commit: a conversation
    line ("offer_made") and an email to the seller.
    """
    if not user_email_is_verified(buyer):
        raise OfferError("Confirm your email address before you make offers.")
    _rate_check(buyer)
    now = timezone.now()
    with transaction.atomic():
        listing = _lock_listings([listing_id]).get(listing_id)
        if listing is None or not listing_is_visible(listing):
            raise OfferError("This item is no longer available.")
        if listing.seller_id == buyer.pk:
            raise OfferError("You can't make an offer on your own item.")
        reason = unavailable_reason(
            listing,
            buyer_id=buyer.pk,
            quantity=1,
            requires_onboarding=get_gateway().requires_onboarding,
        )
        if reason:
            raise OfferError(reason)
        problem = offer_amount_problem(
            price=listing.price, amount=amount, money=partial(money, currency=listing.currency)
        )
        if problem:
            raise OfferError(problem)
        if Offer.objects.open().filter(buyer=buyer, listing=listing).exists():
            raise OfferError(ALREADY_OPEN)
        try:
            with transaction.atomic():
                offer = Offer.objects.create(
                    listing=listing,
                    buyer=buyer,
                    seller_id=listing.seller_id,
                    amount=amount,
                    buyer_amount=amount,
                    currency=listing.currency,
                    expires_at=now + OFFER_ANSWER_TIME,
                )
        except IntegrityError as exc:  # a double submit raced us past the check above
            raise OfferError(ALREADY_OPEN) from exc
        _thread_line(offer, kind="offer_made", text=f"Offer: {_money(offer)}", actor_id=buyer.pk)
        queue_offer_email(offer_id=offer.pk, template="offer_received", to_buyer=False)
        analytics.capture_on_commit(buyer, "offer_made", listing_id=listing.pk)
    return offer


def offer_to_likers(*, seller, listing_id: int, amount: Decimal) -> list[Offer]:
    """The seller offers `amount` to every member who saved the listing, at most once per
    item per 24 hours. Each liker gets an offer they may accept or decline like a
    counter-offer (48 hours); likers with an open offer on the item, banned or inactive
    members are skipped.

    Same floor as a buyer's offer. Locks the listing row (so a liker's own offer and this
    can't both open). Raises OfferNotFound (not the seller's), OfferError. After commit: a
    conversation line and an email per liker.
    """
    _rate_check(seller)
    now = timezone.now()
    with transaction.atomic():
        listing = _lock_listings([listing_id]).get(listing_id)
        if listing is None or listing.seller_id != seller.pk:
            raise OfferNotFound()
        problem = listing_sale_problem(listing) or offer_amount_problem(
            price=listing.price, amount=amount, money=partial(money, currency=listing.currency)
        )
        if problem:
            raise OfferError(problem)
        last = (
            Offer.objects.filter(
                listing=listing,
                origin=Offer.Origin.LIKERS,
                created_at__gt=now - LIKERS_OFFER_INTERVAL,
            )
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if last is not None:
            again = timezone.localtime(last + LIKERS_OFFER_INTERVAL)
            raise OfferError(
                "You already sent an offer to the people who saved this item today; you can "
                f"send another from {again:%d %b %H:%M}."
            )
        busy = set(Offer.objects.open().filter(listing=listing).values_list("buyer_id", flat=True))
        liker_ids = [
            user_id
            for user_id in listing_liker_ids(listing_id=listing.pk)
            if user_id not in busy and user_id != seller.pk
        ]
        if not liker_ids:
            raise OfferError("Nobody who saved this item can get an offer right now.")
        offers = Offer.objects.bulk_create(
            Offer(
                listing=listing,
                buyer_id=user_id,
                seller=seller,
                origin=Offer.Origin.LIKERS,
                status=S.COUNTERED,
                amount=amount,
                currency=listing.currency,
                expires_at=now + OFFER_ANSWER_TIME,
            )
            for user_id in liker_ids
        )
        for offer in offers:
            _thread_line(
                offer,
                kind="offer_made",
                text=f"Offer from the seller: {_money(offer)}",
                actor_id=seller.pk,
            )
            queue_offer_email(offer_id=offer.pk, template="offer_from_seller", to_buyer=True)
    return offers


# --- Answering: the one transition service ----------------------------------------------------
def _refusal(offer: Offer, *, action: str, now: datetime) -> str:
    if offer_is_lapsed(offer, now=now):
        return "This offer has expired."
    if offer.status not in (S.PENDING, S.COUNTERED):
        return f"This offer is already {offer.get_status_display().lower()}."
    if action in ("accept", "counter"):
        problem = listing_sale_problem(offer.listing)
        if problem:
            return problem
    return "You can't do that with this offer."


def _accept(offer: Offer, *, actor, now: datetime, amount: Decimal | None) -> None:
    listing = offer.listing
    reason = unavailable_reason(
        listing,
        buyer_id=offer.buyer_id,
        quantity=1,
        requires_onboarding=get_gateway().requires_onboarding,
    )
    if reason:
        raise OfferError(reason)
    try:
        listing_reserve_stock(listing=listing, quantity=1)
    except ListingOutOfStock as exc:
        raise OfferError(str(exc)) from exc
    # The seller may have lowered the price below the offer meanwhile: never above it.
    offer.amount = min(offer.amount, listing.price)
    offer.status = S.ACCEPTED
    offer.expires_at = now + OFFER_HOLD_TIME
    _save(offer, "amount", "status", "expires_at")
    _cart_put(offer)
    _thread_line(
        offer, kind="offer_accepted", text=f"Offer accepted: {_money(offer)}", actor_id=actor.pk
    )
    by_seller = actor.pk == offer.seller_id
    queue_offer_email(
        offer_id=offer.pk, template="offer_answered", to_buyer=by_seller, outcome="accepted"
    )
    analytics.capture_on_commit(actor, "offer_accepted", listing_id=offer.listing_id)


def _decline(offer: Offer, *, actor, now: datetime, amount: Decimal | None) -> None:
    offer.status = S.DECLINED
    _save(offer, "status")
    _thread_line(
        offer, kind="offer_declined", text=f"Offer declined: {_money(offer)}", actor_id=actor.pk
    )
    by_seller = actor.pk == offer.seller_id
    queue_offer_email(
        offer_id=offer.pk, template="offer_answered", to_buyer=by_seller, outcome="declined"
    )
    analytics.capture_on_commit(actor, "offer_declined", listing_id=offer.listing_id)


def _counter(offer: Offer, *, actor, now: datetime, amount: Decimal | None) -> None:
    price = offer.listing.price
    if (
        amount is None
        or amount != amount.quantize(Decimal("0.01"))
        or not offer.amount < amount < price
    ):
        raise OfferError(
            f"Counter with an amount above {_money(offer)} and below the price, "
            f"{_money(offer, price)}."
        )
    offer.amount = amount
    offer.status = S.COUNTERED
    offer.expires_at = now + OFFER_ANSWER_TIME
    _save(offer, "amount", "status", "expires_at")
    _thread_line(
        offer, kind="offer_countered", text=f"Counter-offer: {_money(offer)}", actor_id=actor.pk
    )
    queue_offer_email(
        offer_id=offer.pk, template="offer_answered", to_buyer=True, outcome="countered"
    )


def _withdraw(offer: Offer, *, actor, now: datetime, amount: Decimal | None) -> None:
    offer.status = S.WITHDRAWN
    _save(offer, "status")
    _thread_line(
        offer, kind="offer_withdrawn", text=f"Offer withdrawn: {_money(offer)}", actor_id=actor.pk
    )


TRANSITIONS = {"accept": _accept, "decline": _decline, "counter": _counter, "withdraw": _withdraw}


def offer_transition(*, offer_id: int, actor, action: str, amount: Decimal | None = None) -> Offer:
    """Answer an offer: "accept", "decline", "counter" (with `amount`) or "withdraw".

    Who may do what when is orders.rules.offer_actions (the seller answers a buyer's offer;
    the buyer answers a counter-offer or an offer to likers, and may withdraw their own
    offer while it waits). A lapsed offer can't be answered even before the expiry job ran.
    Accepting takes the unit off sale for the buyer for 24 hours and puts it in their cart
    at the agreed price; a counter lies between the buyer's offer and the price.

    Locks the listing row, then the offer row. Raises OfferNotFound for anyone but the buyer
    and the seller, OfferError (with a message) for a step the rules refuse. After commit: a
    conversation line and an email to the other party.
    """
    if action not in TRANSITIONS:
        raise OfferError("Choose accept, decline, counter or withdraw.")
    listing_id = Offer.objects.filter(pk=offer_id).values_list("listing_id", flat=True).first()
    if listing_id is None:
        raise OfferNotFound()
    now = timezone.now()
    with transaction.atomic():
        listing = _lock_listings([listing_id])[listing_id]
        offer = Offer.objects.select_for_update().get(pk=offer_id)
        if actor.pk not in (offer.buyer_id, offer.seller_id):
            raise OfferNotFound()
        offer.listing = listing
        if action not in offer_actions(offer, actor, now=now):
            raise OfferError(_refusal(offer, action=action, now=now))
        TRANSITIONS[action](offer, actor=actor, now=now, amount=amount)
    return offer


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
                _thread_line(
                    offer,
                    kind="offer_expired",
                    text=f"Offer expired: {_money(offer)}",
                    actor_id=None,
                )
    return count


def _hold_end(offer: Offer, listing: Listing | None) -> None:
    """An accepted offer's hold ends unpaid: the unit goes back on sale, the line leaves the
    cart, the offer expires. The caller holds the listing and offer locks."""
    if listing is not None:
        listing_release_stock(listing=listing, quantity=1)
    _cart_drop(offer)
    offer.status = S.EXPIRED
    _save(offer, "status")
    _thread_line(offer, kind="offer_expired", text=f"Offer expired: {_money(offer)}", actor_id=None)


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
    _save(offer, "status", "checkout")


def offers_checkout_failed(*, checkout: Checkout) -> None:
    """The checkout ended unpaid and its reservations were released in this transaction:
    each offer in it holds its unit again (back in the cart at the agreed price) while its 24
    hours last and the item can still be sold; otherwise it expires. Locks the listings, then
    the offers."""
    offers = Offer.objects.filter(checkout=checkout, status=S.PAYING)
    listing_ids = list(offers.values_list("listing_id", flat=True))
    if not listing_ids:
        return
    listings = _lock_listings(listing_ids)
    now = timezone.now()
    for offer in offers.select_for_update():
        listing = listings.get(offer.listing_id)
        if offer.expires_at > now and listing is not None and not listing_sale_problem(listing):
            listing_reserve_stock(listing=listing, quantity=1)
            offer.status = S.ACCEPTED
            _save(offer, "status")
            _cart_put(offer)
        else:
            offer.status = S.EXPIRED
            _save(offer, "status")
            _thread_line(
                offer, kind="offer_expired", text=f"Offer expired: {_money(offer)}", actor_id=None
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
            _cart_drop(offer)
        offer.status = S.PAID
        _save(offer, "status")
