"""Every rule of conversations and messages, on the database."""

import pytest
from django.db import IntegrityError, transaction

from accounts.tests.factories import UserFactory
from marketplace.models import Listing
from marketplace.tests.factories import ListingFactory
from messaging import selectors
from messaging.exceptions import (
    ConversationNotAllowed,
    MessageRefused,
    MessagingError,
    NotParticipant,
    RateLimited,
)
from messaging.models import Block, Conversation, ConversationReport, Message
from messaging.services import (
    conversation_close,
    conversation_mark_read,
    conversation_report,
    conversation_start,
    member_block,
    member_unblock,
    message_send,
)

pytestmark = pytest.mark.django_db


# --- Starting a conversation ---------------------------------------------------------------------
def test_conversation_start_creates_one_per_buyer_and_listing(buyer, listing):
    """Asking twice about the same item opens the same conversation."""
    first = conversation_start(buyer=buyer, listing_id=listing.pk)
    second = conversation_start(buyer=buyer, listing_id=listing.pk)
    assert first.pk == second.pk
    assert (first.buyer_id, first.seller_id) == (buyer.pk, listing.seller_id)
    assert Conversation.objects.count() == 1


def test_conversation_start_on_own_listing_is_refused(seller, listing):
    """A seller can't message themselves about their own item."""
    with pytest.raises(ConversationNotAllowed, match="your own item"):
        conversation_start(buyer=seller, listing_id=listing.pk)


@pytest.mark.parametrize(
    "change",
    [
        {"status": Listing.Status.DRAFT},
        {"status": Listing.Status.REMOVED},
        {"is_hidden": True},
    ],
)
def test_conversation_start_needs_a_visible_listing(buyer, listing, change):
    """Drafts, removed and hidden listings can't be asked about."""
    Listing.objects.filter(pk=listing.pk).update(**change)
    with pytest.raises(ConversationNotAllowed, match="no longer available"):
        conversation_start(buyer=buyer, listing_id=listing.pk)
    assert not Conversation.objects.exists()


def test_conversation_start_for_a_missing_listing_raises_does_not_exist(buyer):
    """No such listing: the view answers 404."""
    with pytest.raises(Listing.DoesNotExist):
        conversation_start(buyer=buyer, listing_id=999_999)


@pytest.mark.parametrize("who_blocks", ["buyer", "seller"])
def test_conversation_start_is_refused_after_a_block_either_way(buyer, seller, listing, who_blocks):
    """If either member blocked the other, no new conversation starts."""
    blocker, blocked = (buyer, seller) if who_blocks == "buyer" else (seller, buyer)
    member_block(blocker=blocker, blocked_id=blocked.pk)
    with pytest.raises(ConversationNotAllowed):
        conversation_start(buyer=buyer, listing_id=listing.pk)


def test_conversation_start_with_a_banned_seller_is_refused(buyer, seller, listing):
    """A banned seller's items are gone, and so is messaging them."""
    seller.is_banned = True
    seller.save(update_fields=["is_banned"])
    with pytest.raises(ConversationNotAllowed):
        conversation_start(buyer=buyer, listing_id=listing.pk)


def test_database_allows_one_conversation_per_buyer_and_listing(buyer, listing, conversation):
    """The unique constraint holds even past the service (the race's referee)."""
    with pytest.raises(IntegrityError):
        Conversation.objects.create(listing=listing, buyer=buyer, seller=listing.seller)


def test_conversation_start_race_returns_the_winner(buyer, listing, monkeypatch):
    """When another request creates it between the check and the insert, that one is
    returned instead of an error."""
    winner = Conversation.objects.create(listing=listing, buyer=buyer, seller=listing.seller)
    real_filter = Conversation.objects.filter
    calls = {"n": 0}

    def filter_missing_first(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the existence check runs before the other request commits
            return real_filter(pk=-1)
        return real_filter(*args, **kwargs)

    monkeypatch.setattr(Conversation.objects, "filter", filter_missing_first)
    assert conversation_start(buyer=buyer, listing_id=listing.pk).pk == winner.pk


# --- Sending -------------------------------------------------------------------------------------
def test_message_send_stores_stripped_text_and_moves_the_conversation(buyer, conversation):
    """The body is stored stripped; the conversation points at it; the sender has read it."""
    message = message_send(
        sender=buyer, conversation_id=conversation.pk, body="  \r\nIs it still available?\r\n "
    )
    conversation.refresh_from_db()
    assert message.body == "Is it still available?"
    assert conversation.last_message_id == message.pk
    assert conversation.last_message_at == message.created_at
    assert conversation.buyer_read_id == message.pk
    assert conversation.seller_read_id == 0


def test_message_send_by_a_third_member_is_refused(stranger, conversation):
    """Only the buyer and the seller may write in their conversation."""
    with pytest.raises(NotParticipant):
        message_send(sender=stranger, conversation_id=conversation.pk, body="hi")
    assert not Message.objects.exists()


@pytest.mark.parametrize("body", ["", "   \n\t ", "x" * 2001])
def test_message_send_refuses_empty_or_too_long_bodies(buyer, conversation, body):
    """Blank messages and messages over 2 000 characters are refused with a reason."""
    with pytest.raises(MessageRefused):
        message_send(sender=buyer, conversation_id=conversation.pk, body=body)
    assert not Message.objects.exists()


def test_message_send_accepts_exactly_2000_characters(buyer, conversation):
    """2 000 characters is the limit, not past it."""
    message = message_send(sender=buyer, conversation_id=conversation.pk, body="y" * 2000)
    assert len(message.body) == 2000


def test_database_refuses_an_empty_or_overlong_body(buyer, conversation):
    """The length rule is a database constraint too."""
    for body in ("", "z" * 2001):
        with pytest.raises(IntegrityError), transaction.atomic():
            Message.objects.create(conversation=conversation, sender=buyer, body=body)


def test_message_send_in_a_closed_conversation_is_refused(buyer, conversation):
    """Staff closed it: nobody can write."""
    conversation_close(conversation_id=conversation.pk, actor=None)
    with pytest.raises(MessageRefused, match="closed"):
        message_send(sender=buyer, conversation_id=conversation.pk, body="hello?")


@pytest.mark.parametrize("who_blocks", ["buyer", "seller"])
def test_message_send_after_a_block_is_refused_both_ways(buyer, seller, conversation, who_blocks):
    """A block closes the thread: neither member can write."""
    blocker, blocked = (buyer, seller) if who_blocks == "buyer" else (seller, buyer)
    member_block(blocker=blocker, blocked_id=blocked.pk)
    for sender in (buyer, seller):
        with pytest.raises(MessageRefused):
            message_send(sender=sender, conversation_id=conversation.pk, body="hi")


def test_message_send_to_a_banned_member_is_refused(buyer, seller, conversation):
    """A banned member can't be messaged (and can't sign in to write)."""
    seller.is_banned = True
    seller.save(update_fields=["is_banned"])
    with pytest.raises(MessageRefused):
        message_send(sender=buyer, conversation_id=conversation.pk, body="hi")


def test_message_send_is_rate_limited_per_member(settings, buyer, conversation):
    """Past MESSAGING_RATE a member's messages are refused until the window passes."""
    settings.MESSAGING_RATE = "2/m"
    message_send(sender=buyer, conversation_id=conversation.pk, body="one")
    message_send(sender=buyer, conversation_id=conversation.pk, body="two")
    with pytest.raises(RateLimited) as refused:
        message_send(sender=buyer, conversation_id=conversation.pk, body="three")
    assert refused.value.retry_after >= 1
    assert Message.objects.count() == 2


# --- Reading -------------------------------------------------------------------------------------
def test_unread_counts_follow_messages_and_reading(buyer, seller, conversation):
    """The seller has 2 unread after the buyer's 2 messages; 0 once read; the buyer none."""
    message_send(sender=buyer, conversation_id=conversation.pk, body="Hi")
    message_send(sender=buyer, conversation_id=conversation.pk, body="Still there?")
    assert selectors.unread_total(user=seller) == 2
    assert selectors.unread_total(user=buyer) == 0
    (row,) = selectors.inbox(user=seller)
    assert row.unread == 2
    conversation.refresh_from_db()
    assert conversation_mark_read(user=seller, conversation=conversation) is True
    selectors.unread_forget(seller.pk)  # on_commit in a request; explicit here
    assert selectors.unread_total(user=seller) == 0
    assert selectors.inbox(user=seller)[0].unread == 0
    assert conversation_mark_read(user=seller, conversation=conversation) is False


def test_unread_total_cache_is_dropped_when_a_message_arrives(
    buyer, seller, conversation, django_capture_on_commit_callbacks
):
    """The cached badge count is forgotten after commit, so the next page shows the news."""
    assert selectors.unread_total(user=seller) == 0  # cached now
    with django_capture_on_commit_callbacks(execute=True):
        message_send(sender=buyer, conversation_id=conversation.pk, body="Hi")
    assert selectors.unread_total(user=seller) == 1


def test_read_receipt_appears_once_the_other_member_reads(buyer, seller, conversation):
    """ "Seen" marks my last message only after the other member has read it."""
    mine = message_send(sender=buyer, conversation_id=conversation.pk, body="Offer 20?")
    conversation = selectors.conversation_for(user=buyer, pk=conversation.pk)
    assert selectors.seen_message_id(conversation=conversation, user=buyer) is None
    conversation_mark_read(user=seller, conversation=conversation)
    conversation = selectors.conversation_for(user=buyer, pk=conversation.pk)
    assert selectors.seen_message_id(conversation=conversation, user=buyer) == mine.pk
    message_send(sender=seller, conversation_id=conversation.pk, body="Deal")
    conversation = selectors.conversation_for(user=buyer, pk=conversation.pk)
    assert selectors.seen_message_id(conversation=conversation, user=buyer) is None


def test_mark_read_by_a_third_member_is_refused(stranger, conversation):
    with pytest.raises(NotParticipant):
        conversation_mark_read(user=stranger, conversation=conversation)


# --- Blocks and reports --------------------------------------------------------------------------
def test_block_closes_every_conversation_between_the_two_both_ways(buyer, seller, conversation):
    """Blocking closes the threads where either is the buyer; unblocking reopens them."""
    other_way = conversation_start(buyer=seller, listing_id=ListingFactory(seller=buyer).pk)
    member_block(blocker=buyer, blocked_id=seller.pk)
    member_block(blocker=buyer, blocked_id=seller.pk)  # idempotent
    assert Block.objects.count() == 1
    for row in (conversation, other_way):
        row.refresh_from_db()
        assert (row.is_closed, row.closed_reason) == (True, "blocked")
    assert member_unblock(blocker=buyer, blocked_id=seller.pk) is True
    for row in (conversation, other_way):
        row.refresh_from_db()
        assert (row.is_closed, row.closed_reason) == (False, "")


def test_unblock_keeps_threads_closed_while_the_other_member_blocks_back(
    buyer, seller, conversation
):
    """Both blocked: lifting one block reopens nothing."""
    member_block(blocker=buyer, blocked_id=seller.pk)
    member_block(blocker=seller, blocked_id=buyer.pk)
    member_unblock(blocker=buyer, blocked_id=seller.pk)
    conversation.refresh_from_db()
    assert conversation.is_closed


def test_unblock_does_not_reopen_a_conversation_staff_closed(buyer, seller, conversation):
    conversation_close(conversation_id=conversation.pk, actor=None)
    member_block(blocker=buyer, blocked_id=seller.pk)
    member_unblock(blocker=buyer, blocked_id=seller.pk)
    conversation.refresh_from_db()
    assert conversation.closed_reason == "staff"


def test_blocking_yourself_is_refused(buyer):
    with pytest.raises(MessagingError):
        member_block(blocker=buyer, blocked_id=buyer.pk)


def test_report_names_the_other_member_and_is_filed_once(buyer, seller, conversation):
    """A participant's report targets the other member; a second one returns the first."""
    report = conversation_report(
        reporter=buyer, conversation=conversation, reason="scam", details=" wants bank transfer "
    )
    again = conversation_report(reporter=buyer, conversation=conversation, reason="spam")
    assert again.pk == report.pk
    assert (report.reported_user_id, report.details, report.status) == (
        seller.pk,
        "wants bank transfer",
        ConversationReport.Status.OPEN,
    )


def test_report_by_a_third_member_or_with_an_unknown_reason_is_refused(
    buyer, stranger, conversation
):
    with pytest.raises(NotParticipant):
        conversation_report(reporter=stranger, conversation=conversation, reason="spam")
    with pytest.raises(MessagingError):
        conversation_report(reporter=buyer, conversation=conversation, reason="vibes")


# --- The realtime channel's permission -----------------------------------------------------------
def test_conversation_participant_only_for_buyer_and_seller_unblocked_unbanned(
    buyer, seller, stranger, conversation
):
    """True for the two members; False for others, a banned member, and after a block."""
    assert selectors.conversation_participant(user=buyer, conversation_id=conversation.pk)
    assert selectors.conversation_participant(user=seller, conversation_id=conversation.pk)
    assert not selectors.conversation_participant(user=stranger, conversation_id=conversation.pk)
    assert not selectors.conversation_participant(user=buyer, conversation_id=999_999)
    member_block(blocker=seller, blocked_id=buyer.pk)
    assert not selectors.conversation_participant(user=buyer, conversation_id=conversation.pk)
    member_unblock(blocker=seller, blocked_id=buyer.pk)
    banned = UserFactory(is_banned=True)
    assert not selectors.conversation_participant(user=banned, conversation_id=conversation.pk)
    buyer.is_banned = True
    assert not selectors.conversation_participant(user=buyer, conversation_id=conversation.pk)
