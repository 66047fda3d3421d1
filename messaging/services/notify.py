"""The unread-messages email: one per member, batching every thread with messages they
haven't read for MESSAGING_EMAIL_DELAY_MINUTES; never twice for the same messages.

Each participant's `*_notified_id` marks the last message they were emailed about. A run
claims the messages it will mention by moving those markers forward (an UPDATE that only
moves them forward), then sends after commit, so two runs at once can't both email about
the same messages. Only members' messages count (system lines repeat the order emails).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import EmailKind, User
from accounts.services import member_email_send
from messaging.models import Conversation, Message

logger = logging.getLogger(__name__)

# Messages older than this are never emailed about (e.g. the first run after an upgrade).
LOOKBACK = timedelta(days=7)


@dataclass
class UnreadThread:
    conversation: Conversation
    other: User
    count: int = 0
    last_id: int = 0
    last_body: str = ""


@dataclass
class _Batch:
    recipient: User
    threads: dict[int, UnreadThread] = field(default_factory=dict)


def _pending(cutoff: datetime, oldest: datetime) -> list[Message]:
    """Members' messages sent between `oldest` and `cutoff` that their recipient has neither
    read nor been emailed about: one query."""
    to_buyer = (
        Q(sender_id=F("conversation__seller_id"))
        & Q(id__gt=F("conversation__buyer_read_id"))
        & Q(id__gt=F("conversation__buyer_notified_id"))
    )
    to_seller = (
        Q(sender_id=F("conversation__buyer_id"))
        & Q(id__gt=F("conversation__seller_read_id"))
        & Q(id__gt=F("conversation__seller_notified_id"))
    )
    return list(
        Message.objects.filter(
            to_buyer | to_seller,
            kind=Message.Kind.TEXT,
            created_at__lte=cutoff,
            created_at__gte=oldest,
        )
        .select_related(
            "conversation__listing", "conversation__buyer__profile", "conversation__seller__profile"
        )
        .order_by("id")
    )


def _batches(messages: list[Message]) -> dict[int, _Batch]:
    batches: dict[int, _Batch] = {}
    for message in messages:
        conversation = message.conversation
        to_buyer = message.sender_id == conversation.seller_id
        recipient = conversation.buyer if to_buyer else conversation.seller
        other = conversation.seller if to_buyer else conversation.buyer
        batch = batches.setdefault(recipient.pk, _Batch(recipient=recipient))
        thread = batch.threads.setdefault(
            conversation.pk, UnreadThread(conversation=conversation, other=other)
        )
        thread.count += 1
        thread.last_id = message.pk
        thread.last_body = message.body
    return batches


def _claim(batch: _Batch) -> list[UnreadThread]:
    """Move the recipient's notified markers up to the messages in `batch`; the threads whose
    marker this run moved (another run may have claimed the rest)."""
    claimed = []
    for thread in batch.threads.values():
        conversation = thread.conversation
        field_name = (
            "buyer_notified_id"
            if batch.recipient.pk == conversation.buyer_id
            else "seller_notified_id"
        )
        moved = Conversation.objects.filter(
            pk=conversation.pk, **{f"{field_name}__lt": thread.last_id}
        ).update(**{field_name: thread.last_id})
        if moved:
            claimed.append(thread)
    return claimed


def _send(recipient: User, threads: list[UnreadThread]) -> None:
    count = sum(thread.count for thread in threads)
    try:
        member_email_send(
            user=recipient,
            kind=EmailKind.MESSAGES,
            subject=(f"You have {count} unread message{'s' if count != 1 else ''} on Threadly"),
            template="messages_unread",
            context={"threads": threads, "message_count": count},
        )
    except Exception:
        logger.exception("unread-messages email to member %s failed", recipient.pk)


def messages_notify_unread(*, now: datetime | None = None) -> int:
    """Email every member with messages unread for MESSAGING_EMAIL_DELAY_MINUTES: one email
    listing all their such threads (who, which item, how many, the latest line, a link).

    Idempotent: a message is mentioned in at most one email. Members who turned "Unread
    messages" emails off (accounts.EmailKind.MESSAGES), banned or inactive members get none,
    and their messages are still marked as handled. Returns the number of members handled.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(minutes=settings.MESSAGING_EMAIL_DELAY_MINUTES)
    handled = 0
    for batch in _batches(_pending(cutoff, now - LOOKBACK)).values():
        with transaction.atomic():
            threads = _claim(batch)
            if threads:
                transaction.on_commit(partial(_send, batch.recipient, threads))
                handled += 1
    return handled
