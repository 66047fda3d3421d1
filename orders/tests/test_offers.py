"""Offers: the floor, who may act, the state machine, expiry, the hold at the agreed price and
its hand-over to checkout, conversation lines and emails (orders.services.offers)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import EmailKind
from accounts.services import email_opt_out
from core.events import listing_thread_event
from marketplace.models import Listing
from orders import selectors
from orders.exceptions import CartError, ListingUnavailable, OfferError, OfferNotFound
from orders.models import CartItem, Checkout, Offer, Order
from orders.rules import offer_actions, offer_floor
from orders.services import offer_holds, offers
from orders.services.cart import cart_add_item
from orders.services.checkout import checkout_reserve, checkout_start_payment
from orders.services.payment import checkout_mark_failed, checkout_mark_paid
from orders.tests.factories import AddressFactory, ListingFactory, UserFactory

pytestmark = pytest.mark.django_db
S = Offer.Status


@pytest.fixture
def listing(seller):
    return ListingFactory(seller=seller, price=Decimal("50.00"), shipping_price=Decimal("4.50"))


@pytest.fixture
def thread_lines():
    """The conversation lines orders sends (core.events.listing_thread_event)."""
    lines: list[dict] = []

    def receiver(sender, **kwargs):
        lines.append(kwargs)

    listing_thread_event.connect(receiver, dispatch_uid="test-offer-lines")
    yield lines
    listing_thread_event.disconnect(dispatch_uid="test-offer-lines")


def make(buyer, listing, amount="40.00") -> Offer:
    return offers.offer_make(buyer=buyer, listing_id=listing.pk, amount=Decimal(amount))


def act(offer, actor, action, amount=None) -> Offer:
    return offers.offer_transition(
        offer_id=offer.pk,
        actor=actor,
        action=action,
        amount=None if amount is None else Decimal(amount),
    )


def pay(buyer) -> Checkout:
    checkout = checkout_reserve(buyer=buyer, address=AddressFactory(user=buyer))
    checkout_start_payment(
        checkout=checkout, success_url="http://testserver/ok", cancel_url="http://testserver/no"
    )
    checkout.refresh_from_db()
    return checkout


def listing_state(listing) -> tuple:
    listing = Listing.objects.get(pk=listing.pk)
    return listing.status, listing.quantity, listing.held_quantity


# --- Making an offer ----------------------------------------------------------------------------
def test_offer_below_sixty_percent_is_refused_with_the_floor(buyer, listing):
    """A lowball offer is refused with "Offers start at €30.00 for this item"."""
    with pytest.raises(OfferError, match=r"Offers start at €30\.00 for this item\."):
        make(buyer, listing, "29.99")
    assert make(buyer, listing, "30.00").status == S.PENDING


def test_floor_rounds_up_to_the_cent():
    """60 % of €19.99 is €11.994: offers start at €12.00, never below 60 %."""
    assert offer_floor(Decimal("19.99")) == Decimal("12.00")


def test_offer_must_be_below_the_price(buyer, listing):
    """An offer at the price is refused: buy it instead."""
    with pytest.raises(OfferError, match="Offer less than the price"):
        make(buyer, listing, "50.00")


def test_offer_in_fractions_of_a_cent_is_refused(buyer, listing):
    """Money has two decimal places."""
    with pytest.raises(OfferError, match="whole cents"):
        make(buyer, listing, "40.005")


def test_offer_on_own_listing_is_refused(seller, listing):
    """A seller can't offer on their own item."""
    with pytest.raises(OfferError, match="your own item"):
        make(seller, listing)


def test_offer_needs_a_confirmed_email(listing):
    """Members who haven't confirmed their email can't make offers."""
    unverified = UserFactory(email_verified=False)
    with pytest.raises(OfferError, match="Confirm your email"):
        make(unverified, listing)


def test_offer_on_an_item_not_for_sale_is_refused(buyer):
    """Drafts and sold items take no offers."""
    for listing in (ListingFactory(draft=True), ListingFactory(sold=True)):
        with pytest.raises(OfferError):
            make(buyer, listing, "15.00")
    assert not Offer.objects.exists()


def test_one_open_offer_per_buyer_and_listing(buyer, listing):
    """A second offer while the first is open is refused; after a decline a new one is fine."""
    first = make(buyer, listing)
    with pytest.raises(OfferError, match="already have an open offer"):
        make(buyer, listing, "41.00")
    act(first, listing.seller, "decline")
    assert make(buyer, listing, "42.00").status == S.PENDING


def test_database_holds_one_open_offer_per_buyer_and_listing(buyer, listing):
    """The partial unique constraint refuses a second open offer written past the service."""
    offer = make(buyer, listing)
    with pytest.raises(IntegrityError), transaction.atomic():
        Offer.objects.create(
            listing=listing,
            buyer=buyer,
            seller=listing.seller,
            amount=Decimal("41.00"),
            currency="EUR",
            status=S.COUNTERED,
            expires_at=offer.expires_at,
        )
    Offer.objects.create(  # a closed one next to it is fine
        listing=listing,
        buyer=buyer,
        seller=listing.seller,
        amount=Decimal("41.00"),
        currency="EUR",
        status=S.DECLINED,
        expires_at=offer.expires_at,
    )


def test_offers_are_rate_limited_per_member(buyer, monkeypatch):
    """Past OFFER_RATE offers in the window a member is told to wait."""
    monkeypatch.setattr(offers, "OFFER_RATE", "2/h")
    make(buyer, ListingFactory(price=Decimal("50.00")))
    make(buyer, ListingFactory(price=Decimal("50.00")))
    with pytest.raises(OfferError, match="a lot of offers"):
        make(buyer, ListingFactory(price=Decimal("50.00")))


# --- Who may act, the state machine -------------------------------------------------------------
def test_strangers_get_not_found(buyer, stranger, listing):
    """Only the buyer and the seller see or answer an offer."""
    offer = make(buyer, listing)
    with pytest.raises(OfferNotFound):
        act(offer, stranger, "accept")
    assert Offer.objects.get(pk=offer.pk).status == S.PENDING


def test_who_may_do_what_on_a_pending_offer(buyer, listing):
    """The seller accepts, declines or counters; the buyer may only withdraw."""
    offer = make(buyer, listing)
    offer = Offer.objects.select_related("listing__seller").get(pk=offer.pk)
    now = timezone.now()
    assert offer_actions(offer, listing.seller, now=now) == {"accept", "decline", "counter"}
    assert offer_actions(offer, buyer, now=now) == {"withdraw"}
    for action in ("accept", "counter", "decline"):
        with pytest.raises(OfferError):
            act(offer, buyer, action, "45.00")
    with pytest.raises(OfferError):
        act(offer, listing.seller, "withdraw")
    assert Offer.objects.get(pk=offer.pk).status == S.PENDING


def test_counter_lies_between_the_offer_and_the_price(buyer, listing):
    """A counter at or below the buyer's offer, or at or above the price, is refused."""
    offer = make(buyer, listing, "40.00")
    for amount in ("40.00", "39.00", "50.00", "55.00"):
        with pytest.raises(OfferError, match="Counter with an amount above"):
            act(offer, listing.seller, "counter", amount)
    with pytest.raises(OfferError):
        act(offer, listing.seller, "counter")
    countered = act(offer, listing.seller, "counter", "45.00")
    assert (countered.status, countered.amount, countered.buyer_amount) == (
        S.COUNTERED,
        Decimal("45.00"),
        Decimal("40.00"),
    )


def test_buyer_answers_a_counter_and_the_seller_waits(buyer, listing):
    """On a counter the buyer may accept or decline; the seller can't act again."""
    offer = act(make(buyer, listing), listing.seller, "counter", "45.00")
    with pytest.raises(OfferError):
        act(offer, listing.seller, "accept")
    with pytest.raises(OfferError):
        act(offer, buyer, "withdraw")
    assert act(offer, buyer, "decline").status == S.DECLINED


def test_buyer_accepts_a_counter_at_the_counter_price(buyer, listing):
    """Accepting the counter agrees its amount and holds the item in the buyer's cart."""
    offer = act(make(buyer, listing), listing.seller, "counter", "45.00")
    accepted = act(offer, buyer, "accept")
    assert (accepted.status, accepted.amount) == (S.ACCEPTED, Decimal("45.00"))
    assert CartItem.objects.get(cart__user=buyer, listing=listing).quantity == 1
    assert listing_state(listing) == (Listing.Status.RESERVED, 0, 1)


def test_buyer_withdraws_their_open_offer(buyer, listing):
    """A withdrawn offer is closed: the seller can't accept it any more."""
    offer = act(make(buyer, listing), buyer, "withdraw")
    assert offer.status == S.WITHDRAWN
    with pytest.raises(OfferError, match="already withdrawn"):
        act(offer, listing.seller, "accept")


def test_accepting_a_closed_offer_twice_is_refused(buyer, listing):
    """A second accept (double click) changes nothing: the unit is held once."""
    offer = act(make(buyer, listing), listing.seller, "accept")
    with pytest.raises(OfferError, match="already accepted"):
        act(offer, listing.seller, "accept")
    assert listing_state(listing) == (Listing.Status.RESERVED, 0, 1)


def test_accept_when_the_item_was_sold_meanwhile_is_refused(buyer, listing):
    """Two buyers' offers on the last unit: once one is accepted, the other can't be."""
    other = UserFactory()
    first, second = make(buyer, listing), make(other, listing, "35.00")
    act(first, listing.seller, "accept")
    with pytest.raises(OfferError, match="just sold"):
        act(second, listing.seller, "accept")
    assert Offer.objects.get(pk=second.pk).status == S.PENDING


def test_accepting_one_of_several_units_leaves_the_rest_on_sale(buyer, seller):
    """With 3 in stock, an accepted offer holds one; the listing stays active."""
    listing = ListingFactory(seller=seller, price=Decimal("50.00"), quantity=3)
    act(make(buyer, listing), seller, "accept")
    assert listing_state(listing) == (Listing.Status.ACTIVE, 2, 1)


# --- Expiry ---------------------------------------------------------------------------------------
def test_unanswered_offers_expire_by_the_job_once(
    buyer, listing, thread_lines, django_capture_on_commit_callbacks
):
    """offers_expire closes offers past 48 hours, and a second run does nothing."""
    offer = make(buyer, listing)
    fresh = make(UserFactory(), listing, "35.00")
    later = timezone.now() + timedelta(hours=48, seconds=1)
    Offer.objects.filter(pk=fresh.pk).update(expires_at=later + timedelta(hours=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert offer_holds.offers_expire(now=later) == 1
        assert offer_holds.offers_expire(now=later) == 0
    assert Offer.objects.get(pk=offer.pk).status == S.EXPIRED
    assert Offer.objects.get(pk=fresh.pk).status == S.PENDING
    assert thread_lines[-1]["kind"] == "offer_expired"


def test_expired_offer_cannot_be_accepted_before_the_job_runs(buyer, listing):
    """The service checks expires_at itself: a lapsed offer is refused though still pending."""
    offer = make(buyer, listing)
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(OfferError, match="expired"):
        act(offer, listing.seller, "accept")
    assert listing_state(listing) == (Listing.Status.ACTIVE, 1, 0)


def test_expired_counter_cannot_be_accepted_before_the_job_runs(buyer, listing):
    """A counter-offer lapses 48 hours after it was made."""
    offer = act(make(buyer, listing), listing.seller, "counter", "45.00")
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(OfferError, match="expired"):
        act(offer, buyer, "accept")


def test_the_member_who_must_answer_is_reminded_once_before_the_offer_lapses(
    buyer, listing, mailoutbox, django_capture_on_commit_callbacks
):
    """Six hours before a pending offer lapses the seller gets one reminder; after a counter
    the buyer must answer, and gets their own reminder for the new step."""
    offer = make(buyer, listing)
    early = timezone.now() + timedelta(hours=41)
    soon = timezone.now() + timedelta(hours=43)
    with django_capture_on_commit_callbacks(execute=True):
        assert offer_holds.offers_remind_expiring(now=early) == 0
        assert offer_holds.offers_remind_expiring(now=soon) == 1
        assert offer_holds.offers_remind_expiring(now=soon) == 0
    reminders = [m for m in mailoutbox if "expires in a few hours" in m.subject]
    assert [m.to for m in reminders] == [[listing.seller.email]]
    assert "Accept, decline or counter" in reminders[0].body

    act(offer, listing.seller, "counter", "45.00")
    with django_capture_on_commit_callbacks(execute=True):
        # The counter starts a new 48 h step, with its own reminder.
        assert offer_holds.offers_remind_expiring(now=early) == 0
        assert offer_holds.offers_remind_expiring(now=soon) == 1
    reminders = [m for m in mailoutbox if "expires in a few hours" in m.subject]
    assert reminders[-1].to == [buyer.email]
    assert "counter-offer" in reminders[-1].body


# --- The hold and checkout ------------------------------------------------------------------------
def test_accepted_offer_blocks_other_buyers(buyer, listing):
    """While the offer holds the item, another shopper can't add it or check it out."""
    other = UserFactory()
    cart_add_item(user=other, session={}, listing_id=listing.pk)  # before the accept
    act(make(buyer, listing), listing.seller, "accept")
    with pytest.raises(CartError, match="just sold"):
        cart_add_item(user=UserFactory(), session={}, listing_id=listing.pk)
    with pytest.raises(ListingUnavailable):
        checkout_reserve(buyer=other, address=AddressFactory(user=other))


def test_accepted_offer_is_one_unit_in_the_cart(buyer, seller):
    """The agreed price is for one unit: the cart won't take a second at that price."""
    listing = ListingFactory(seller=seller, price=Decimal("50.00"), quantity=3)
    act(make(buyer, listing), seller, "accept")
    with pytest.raises(CartError, match="for one item"):
        cart_add_item(user=buyer, session={}, listing_id=listing.pk)


def test_cart_shows_and_totals_the_agreed_price(buyer, listing):
    """The cart line costs the agreed price; the total adds shipping to it."""
    act(act(make(buyer, listing), listing.seller, "counter", "45.00"), buyer, "accept")
    (group,) = selectors.cart_groups(user=buyer, session={})
    (line,) = group.lines
    assert line.available
    assert line.agreed_price == Decimal("45.00")
    assert selectors.cart_total([group]) == Decimal("49.50")


def test_unpaid_hold_is_released_after_24_hours(
    buyer, listing, thread_lines, django_capture_on_commit_callbacks
):
    """The release job gives the unit back, empties the cart line and expires the offer."""
    offer = act(make(buyer, listing), listing.seller, "accept")
    assert offer_holds.offer_holds_release_expired() == 0
    later = timezone.now() + timedelta(hours=24, seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert offer_holds.offer_holds_release_expired(now=later) == 1
        assert offer_holds.offer_holds_release_expired(now=later) == 0
    assert Offer.objects.get(pk=offer.pk).status == S.EXPIRED
    assert listing_state(listing) == (Listing.Status.ACTIVE, 1, 0)
    assert not CartItem.objects.filter(cart__user=buyer).exists()
    assert thread_lines[-1]["kind"] == "offer_expired"


def test_lapsed_hold_no_longer_gives_the_agreed_price(buyer, listing):
    """After 24 hours the buyer can't check out at the offer price, even before the job ran."""
    offer = act(make(buyer, listing), listing.seller, "accept")
    Offer.objects.filter(pk=offer.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ListingUnavailable):
        checkout_reserve(buyer=buyer, address=AddressFactory(user=buyer))


def test_made_countered_accepted_paid_at_the_agreed_price_with_the_fee_on_it(
    buyer, listing, thread_lines, django_capture_on_commit_callbacks
):
    """The whole flow: the order charges the counter price plus shipping, 5 % fee on it."""
    with django_capture_on_commit_callbacks(execute=True):
        offer = make(buyer, listing, "40.00")
        act(offer, listing.seller, "counter", "45.00")
        act(offer, buyer, "accept")
    checkout = pay(buyer)
    assert Offer.objects.get(pk=offer.pk).status == S.PAYING
    assert checkout.total == Decimal("49.50")
    checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)

    order = Order.objects.get(checkout=checkout)
    assert order.status == Order.Status.PAID
    assert (order.items_total, order.shipping_total, order.total) == (
        Decimal("45.00"),
        Decimal("4.50"),
        Decimal("49.50"),
    )
    assert order.platform_fee == Decimal("2.25")
    assert order.seller_amount == Decimal("47.25")
    assert order.items.get().unit_price == Decimal("45.00")
    assert Offer.objects.get(pk=offer.pk).status == S.PAID
    assert listing_state(listing) == (Listing.Status.SOLD, 0, 0)
    assert [line["kind"] for line in thread_lines] == [
        "offer_made",
        "offer_countered",
        "offer_accepted",
    ]


def test_failed_payment_puts_the_offer_back_in_the_cart(buyer, listing):
    """A declined checkout hands the unit back to the offer's hold while its 24 hours last."""
    offer = act(make(buyer, listing), listing.seller, "accept")
    checkout = pay(buyer)
    checkout_mark_failed(checkout_id=checkout.pk)
    assert Offer.objects.get(pk=offer.pk).status == S.ACCEPTED
    assert listing_state(listing) == (Listing.Status.RESERVED, 0, 1)
    assert CartItem.objects.filter(cart__user=buyer, listing=listing).exists()
    assert pay(buyer).total == Decimal("44.50")  # still the agreed €40 + shipping


def test_late_payment_after_the_hold_came_back_sells_once(buyer, listing):
    """Paid after its checkout expired (the hold came back meanwhile): one sale, no refund."""
    offer = act(make(buyer, listing), listing.seller, "accept")
    checkout = pay(buyer)
    checkout_mark_failed(checkout_id=checkout.pk, status=Checkout.Status.EXPIRED)
    checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
    assert Offer.objects.get(pk=offer.pk).status == S.PAID
    assert listing_state(listing) == (Listing.Status.SOLD, 0, 0)
    assert not CartItem.objects.filter(cart__user=buyer).exists()
    assert not Checkout.objects.get(pk=checkout.pk).orders.get().refunds.exists()


# --- Conversation lines and emails ------------------------------------------------------------
def test_each_step_sends_a_conversation_line_after_commit(
    buyer, listing, django_capture_on_commit_callbacks
):
    """Made, countered, declined: one listing_thread_event each, only once committed."""
    lines: list[dict] = []

    def receiver(sender, **kwargs):
        lines.append(kwargs)

    listing_thread_event.connect(receiver, dispatch_uid="test-offer-commit")
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            offer = make(buyer, listing, "40.00")
        assert lines == []
        for callback in callbacks:
            callback()
        with django_capture_on_commit_callbacks(execute=True):
            act(offer, listing.seller, "counter", "45.00")
            act(offer, buyer, "decline")
    finally:
        listing_thread_event.disconnect(dispatch_uid="test-offer-commit")
    assert [(line["kind"], line["text"], line["actor_id"]) for line in lines] == [
        ("offer_made", "Offer: €40.00", buyer.pk),
        ("offer_countered", "Counter-offer: €45.00", listing.seller.pk),
        ("offer_declined", "Offer declined: €45.00", buyer.pk),
    ]
    assert {(line["listing_id"], line["buyer_id"], line["seller_id"]) for line in lines} == {
        (listing.pk, buyer.pk, listing.seller_id)
    }


def test_seller_is_emailed_an_offer_and_buyer_the_answer(
    buyer, listing, django_capture_on_commit_callbacks
):
    """Offer received goes to the seller, the counter to the buyer, with an unsubscribe link."""
    with django_capture_on_commit_callbacks(execute=True):
        offer = make(buyer, listing, "40.00")
    (received,) = mail.outbox
    assert received.to == [listing.seller.email]
    assert "€40.00" in received.subject
    assert "/unsubscribe/" in received.body
    assert "List-Unsubscribe" in received.extra_headers
    with django_capture_on_commit_callbacks(execute=True):
        act(offer, listing.seller, "counter", "45.00")
    answered = mail.outbox[-1]
    assert answered.to == [buyer.email]
    assert "counter-offer" in answered.subject
    assert "€45.00" in answered.body


def test_members_who_turned_offer_emails_off_get_none(
    buyer, listing, django_capture_on_commit_callbacks
):
    """Opting out of "Offers" stops the emails; the offer itself still works."""
    email_opt_out(user=listing.seller, kind=EmailKind.OFFERS)
    with django_capture_on_commit_callbacks(execute=True):
        offer = make(buyer, listing)
    assert mail.outbox == []
    assert offer.status == S.PENDING


# --- Offer to likers ------------------------------------------------------------------------------
def test_offer_to_likers_reaches_each_liker_but_the_busy_and_banned(
    seller, listing, django_capture_on_commit_callbacks
):
    """One offer per member who saved the item; those with an open offer and the banned are
    skipped; each liker is emailed."""
    from marketplace.services import favourite_add

    likers = UserFactory.create_batch(3)
    busy, banned = UserFactory(), UserFactory()
    for member in (*likers, busy, banned):
        favourite_add(user=member, listing_id=listing.pk)
    own = make(busy, listing, "35.00")
    banned.is_banned = True
    banned.save(update_fields=["is_banned"])

    with django_capture_on_commit_callbacks(execute=True):
        sent = offers.offer_to_likers(seller=seller, listing_id=listing.pk, amount=Decimal("42"))
    assert {offer.buyer_id for offer in sent} == {member.pk for member in likers}
    assert {(o.status, o.origin, o.amount) for o in sent} == {
        (S.COUNTERED, Offer.Origin.LIKERS, Decimal("42.00"))
    }
    assert Offer.objects.get(pk=own.pk).status == S.PENDING
    assert sorted(m.to[0] for m in mail.outbox) == sorted(m.email for m in likers)


def test_a_liker_accepts_the_sellers_offer_like_a_counter(seller, listing):
    """The liker may accept (the item goes to their cart at that price) or decline."""
    from marketplace.services import favourite_add

    liker = UserFactory()
    favourite_add(user=liker, listing_id=listing.pk)
    (offer,) = offers.offer_to_likers(seller=seller, listing_id=listing.pk, amount=Decimal("40"))
    with pytest.raises(OfferError):
        act(offer, seller, "accept")
    assert act(offer, liker, "accept").status == S.ACCEPTED
    (group,) = selectors.cart_groups(user=liker, session={})
    assert group.lines[0].agreed_price == Decimal("40.00")


def test_offer_to_likers_at_most_once_a_day_and_with_the_floor(seller, listing):
    """Below the floor is refused; a second send within 24 hours is refused."""
    from marketplace.services import favourite_add

    favourite_add(user=UserFactory(), listing_id=listing.pk)
    with pytest.raises(OfferError, match="Offers start at €30.00"):
        offers.offer_to_likers(seller=seller, listing_id=listing.pk, amount=Decimal("20"))
    offers.offer_to_likers(seller=seller, listing_id=listing.pk, amount=Decimal("40"))
    favourite_add(user=UserFactory(), listing_id=listing.pk)
    with pytest.raises(OfferError, match="already sent an offer"):
        offers.offer_to_likers(seller=seller, listing_id=listing.pk, amount=Decimal("40"))


def test_only_the_seller_sends_offers_to_likers(buyer, listing):
    """Someone else's listing is not found."""
    with pytest.raises(OfferNotFound):
        offers.offer_to_likers(seller=buyer, listing_id=listing.pk, amount=Decimal("40"))
