"""Offers: a buyer and the seller agree a lower price for one unit of a listing.

Making and answering offers goes through this module: `offer_make` (the buyer),
`offer_transition` (accept, decline, counter, withdraw: the one way to answer, ruled by
orders.rules.offer_actions) and `offer_to_likers` (the seller, to everyone who saved the
item). The hold of an accepted offer, its hand-over to checkout and the expiry jobs are
offer_holds.py (below this module).

Locks: the listing row first, then the offer row (offer_holds' docstring says why).

Each step sends core.events.listing_thread_event after commit (a line in the buyer-seller
conversation) and emails the other party (kind "offers", which members may turn off).
"""

from datetime import datetime
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.selectors import user_email_is_verified
from core import analytics, ratelimit
from marketplace.exceptions import ListingOutOfStock
from marketplace.rules import listing_is_visible, listing_sale_problem
from marketplace.selectors import listing_liker_ids
from marketplace.services import listing_reserve_stock
from marketplace.templatetags.catalog import money
from orders.exceptions import OfferError, OfferNotFound
from orders.models import Offer
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
from orders.services.offer_holds import (
    cart_put,
    lock_listings,
    offer_money,
    offer_save,
    thread_line,
)
from orders.tasks import queue_offer_email

S = Offer.Status
ALREADY_OPEN = "You already have an open offer on this item; see My offers."


def _rate_check(user) -> None:
    """OFFER_RATE per member, on top of the site-wide POST limit (off with the limiter)."""
    if not getattr(settings, "RATELIMIT_ENABLED", True):
        return
    decision = ratelimit.hit(
        scope="offers", ident=f"user:{user.pk}", rate=ratelimit.parse_rate(OFFER_RATE)
    )
    if not decision.allowed:
        minutes = max(1, round(decision.retry_after / 60))
        raise OfferError(f"You've made a lot of offers; try again in {minutes} minutes.")


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
        listing = lock_listings([listing_id]).get(listing_id)
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
        thread_line(
            offer, kind="offer_made", text=f"Offer: {offer_money(offer)}", actor_id=buyer.pk
        )
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
        listing = lock_listings([listing_id]).get(listing_id)
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
            thread_line(
                offer,
                kind="offer_made",
                text=f"Offer from the seller: {offer_money(offer)}",
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
    offer_save(offer, "amount", "status", "expires_at")
    cart_put(offer)
    _answered(offer, actor=actor, outcome="accepted")


def _answered(offer: Offer, *, actor, outcome: str) -> None:
    """After an offer is accepted or declined: its line in the conversation, the other
    party's email and the analytics event (all after commit)."""
    thread_line(
        offer,
        kind=f"offer_{outcome}",
        text=f"Offer {outcome}: {offer_money(offer)}",
        actor_id=actor.pk,
    )
    queue_offer_email(
        offer_id=offer.pk,
        template="offer_answered",
        to_buyer=actor.pk == offer.seller_id,
        outcome=outcome,
    )
    analytics.capture_on_commit(actor, f"offer_{outcome}", listing_id=offer.listing_id)


def _decline(offer: Offer, *, actor, now: datetime, amount: Decimal | None) -> None:
    offer.status = S.DECLINED
    offer_save(offer, "status")
    _answered(offer, actor=actor, outcome="declined")


def _counter(offer: Offer, *, actor, now: datetime, amount: Decimal | None) -> None:
    price = offer.listing.price
    if (
        amount is None
        or amount != amount.quantize(Decimal("0.01"))
        or not offer.amount < amount < price
    ):
        raise OfferError(
            f"Counter with an amount above {offer_money(offer)} and below the price, "
            f"{offer_money(offer, price)}."
        )
    offer.amount = amount
    offer.status = S.COUNTERED
    offer.expires_at = now + OFFER_ANSWER_TIME
    offer.reminded_at = None
    offer_save(offer, "amount", "status", "expires_at", "reminded_at")
    thread_line(
        offer,
        kind="offer_countered",
        text=f"Counter-offer: {offer_money(offer)}",
        actor_id=actor.pk,
    )
    queue_offer_email(
        offer_id=offer.pk, template="offer_answered", to_buyer=True, outcome="countered"
    )


def _withdraw(offer: Offer, *, actor, now: datetime, amount: Decimal | None) -> None:
    offer.status = S.WITHDRAWN
    offer_save(offer, "status")
    thread_line(
        offer,
        kind="offer_withdrawn",
        text=f"Offer withdrawn: {offer_money(offer)}",
        actor_id=actor.pk,
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
        listing = lock_listings([listing_id])[listing_id]
        offer = Offer.objects.select_for_update().get(pk=offer_id)
        if actor.pk not in (offer.buyer_id, offer.seller_id):
            raise OfferNotFound()
        offer.listing = listing
        if action not in offer_actions(offer, actor, now=now):
            raise OfferError(_refusal(offer, action=action, now=now))
        TRANSITIONS[action](offer, actor=actor, now=now, amount=amount)
    return offer
