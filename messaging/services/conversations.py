"""Conversations and messages: start one, send, read, system lines, live delivery.

A message is stored once, in one transaction with its conversation's last-message fields;
everything outside (the realtime publish, cached unread counts) happens after commit, so a
failed publish never loses or repeats a stored message.
"""

import logging
from functools import partial

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from accounts.models import User
from core import ratelimit
from marketplace.models import Listing
from marketplace.rules import listing_is_visible
from messaging.exceptions import (
    ConversationNotAllowed,
    MessageRefused,
    NotParticipant,
    RateLimited,
)
from messaging.models import MESSAGE_MAX_LENGTH, Conversation, Message
from messaging.selectors import blocked_between, unread_forget

logger = logging.getLogger(__name__)

NOT_AVAILABLE = "This item is no longer available."
CANT_MESSAGE = "You can't message this member."


def _member_can_talk(user: User) -> bool:
    return user.is_active and not user.is_banned


def conversation_start(*, buyer: User, listing_id: int) -> Conversation:
    """The conversation between `buyer` and the seller about listing `listing_id`: the
    existing one (whatever its state), or a new one.

    A new one needs a listing anyone may see (marketplace.rules.listing_is_visible), not the
    buyer's own, both members able to talk (active, not banned) and no block either way.
    Raises ConversationNotAllowed with the reason, Listing.DoesNotExist for no such listing.
    One per buyer and listing, also under a race (the unique constraint decides).
    """
    existing = Conversation.objects.filter(listing_id=listing_id, buyer_id=buyer.pk).first()
    if existing is not None:
        return existing
    listing = Listing.objects.select_related("seller").get(pk=listing_id)
    if listing.seller_id == buyer.pk:
        raise ConversationNotAllowed("This is your own item.")
    if not listing_is_visible(listing):
        raise ConversationNotAllowed(NOT_AVAILABLE)
    if not _member_can_talk(buyer) or not _member_can_talk(listing.seller):
        raise ConversationNotAllowed(CANT_MESSAGE)
    if blocked_between(user_id=buyer.pk, other_id=listing.seller_id):
        raise ConversationNotAllowed(CANT_MESSAGE)
    try:
        with transaction.atomic():
            return Conversation.objects.create(
                listing=listing, buyer=buyer, seller_id=listing.seller_id
            )
    except IntegrityError:  # a second tab or double click created it first
        return Conversation.objects.get(listing_id=listing_id, buyer_id=buyer.pk)


def message_body_clean(body: str) -> str:
    """The body as stored: line endings normalised, surrounding blank space removed.
    Raises MessageRefused when nothing is left or it is too long."""
    text = (body or "").replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "").strip()
    if not text:
        raise MessageRefused("Write a message first.")
    if len(text) > MESSAGE_MAX_LENGTH:
        raise MessageRefused(
            f"Messages can be at most {MESSAGE_MAX_LENGTH} characters ({len(text)} now)."
        )
    return text


def _rate_check(sender: User) -> None:
    if not getattr(settings, "RATELIMIT_ENABLED", True):
        return
    decision = ratelimit.hit(
        scope="message",
        ident=f"user:{sender.pk}",
        rate=ratelimit.parse_rate(settings.MESSAGING_RATE),
    )
    if not decision.allowed:
        raise RateLimited(retry_after=decision.retry_after)


def message_send(*, sender: User, conversation_id: int, body: str) -> Message:
    """Store `sender`'s message in the conversation and queue its live delivery.

    Only its buyer or seller (NotParticipant otherwise); not in a closed conversation, not
    while either member is banned or inactive or one blocked the other (MessageRefused);
    the body is stripped and 1 to 2 000 characters (MessageRefused); at most MESSAGING_RATE
    messages per member (RateLimited). Locks the conversation row so its last-message fields
    follow the messages' order. After commit: deliver_message (realtime publish) and the
    recipient's cached unread count is dropped.
    """
    text = message_body_clean(body)
    _rate_check(sender)  # before the row lock: the counter lives in the cache (a network call)
    with transaction.atomic():
        conversation = (
            Conversation.objects.select_for_update()
            .filter(pk=conversation_id)
            .select_related("buyer", "seller")
            .first()
        )
        if conversation is None or sender.pk not in (conversation.buyer_id, conversation.seller_id):
            raise NotParticipant()
        if conversation.is_closed:
            raise MessageRefused("This conversation is closed.")
        other = conversation.seller if sender.pk == conversation.buyer_id else conversation.buyer
        if not _member_can_talk(sender) or not _member_can_talk(other):
            raise MessageRefused(CANT_MESSAGE)
        if blocked_between(user_id=sender.pk, other_id=other.pk):
            raise MessageRefused(CANT_MESSAGE)
        message = Message.objects.create(
            conversation=conversation, sender=sender, kind=Message.Kind.TEXT, body=text
        )
        _record_last_message(conversation, message, reader_id=sender.pk)
        _after_commit(message, recipient_ids=[other.pk])
    return message


def _record_last_message(
    conversation: Conversation, message: Message, *, reader_id: int | None
) -> None:
    """Point the conversation at its newest message; its sender has read up to it."""
    conversation.last_message = message
    conversation.last_message_at = message.created_at
    fields = ["last_message", "last_message_at", "updated_at"]
    if reader_id == conversation.buyer_id:
        conversation.buyer_read_id = message.pk
        fields.append("buyer_read_id")
    elif reader_id == conversation.seller_id:
        conversation.seller_read_id = message.pk
        fields.append("seller_read_id")
    conversation.save(update_fields=fields)


def _after_commit(message: Message, *, recipient_ids: list[int]) -> None:
    from messaging.tasks import deliver_message

    transaction.on_commit(partial(unread_forget, *recipient_ids))
    transaction.on_commit(partial(deliver_message.enqueue, message.pk), robust=True)


def conversation_mark_read(*, user: User, conversation: Conversation) -> bool:
    """`user` has read the conversation up to its newest message. One UPDATE that only moves
    the marker forward (safe against a concurrent send); returns whether it moved. Their
    cached unread count is dropped and their other tabs told, after commit."""
    if user.pk == conversation.buyer_id:
        field = "buyer_read_id"
    elif user.pk == conversation.seller_id:
        field = "seller_read_id"
    else:
        raise NotParticipant()
    moved = Conversation.objects.filter(
        pk=conversation.pk,
        last_message__isnull=False,
        **{f"{field}__lt": F("last_message_id")},
    ).update(**{field: F("last_message_id")})
    if moved:
        from messaging.tasks import deliver_unread

        transaction.on_commit(partial(unread_forget, user.pk))
        transaction.on_commit(partial(deliver_unread.enqueue, user.pk), robust=True)
    return bool(moved)


def system_line_post(
    *, listing_id: int, buyer_id: int, seller_id: int, kind: str, text: str
) -> Message | None:
    """Add a Threadly line ("Order #12 was paid.") to the buyer and seller's conversation
    about the listing, creating the conversation if needed (also when closed: both members
    keep the record of their order). Returns None, with a log line, when there is no such
    listing or the two are the same member. The receiver of core.events.listing_thread_event.
    """
    body = " ".join((text or "").split())[:MESSAGE_MAX_LENGTH]
    if not body or buyer_id == seller_id:
        logger.warning("system line for listing %s skipped: %r", listing_id, kind)
        return None
    if not Listing.objects.filter(pk=listing_id).exists():
        logger.warning("system line for missing listing %s skipped: %r", listing_id, kind)
        return None
    with transaction.atomic():
        conversation, _created = Conversation.objects.get_or_create(
            listing_id=listing_id, buyer_id=buyer_id, defaults={"seller_id": seller_id}
        )
        conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
        message = Message.objects.create(
            conversation=conversation,
            sender=None,
            kind=Message.Kind.SYSTEM,
            event=(kind or "")[:40],
            body=body,
        )
        _record_last_message(conversation, message, reader_id=None)
        _after_commit(message, recipient_ids=[conversation.buyer_id, conversation.seller_id])
    return message
