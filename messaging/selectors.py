"""Reads for messaging: the inbox, one conversation, its new messages, unread counts.

Every selector that returns rows has its joins and prefetches applied, so a page's queries
don't grow with its rows. Access is checked here: a member who is not the buyer or the seller
of a conversation gets Http404, as if it didn't exist.
"""

from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.models import User
from marketplace.selectors import first_photos
from messaging.models import Block, Conversation, Message

INBOX_LIMIT = 50
THREAD_LIMIT = 200
POLL_LIMIT = 100
UNREAD_CACHE_SECONDS = 60


def _participant(user: User) -> Q:
    return Q(buyer_id=user.pk) | Q(seller_id=user.pk)


def inbox(*, user: User, limit: int = INBOX_LIMIT) -> list[Conversation]:
    """`user`'s conversations with at least one message, most recent first, each with the
    other member (+ profile), the listing and its first photo (`listing.first_photos`), the
    last message and `unread` (messages from the other member or Threadly not yet read).

    Three queries whatever the number of conversations (rows, members, photos).
    """
    unread = (
        Message.objects.filter(conversation=OuterRef("pk"), id__gt=OuterRef("my_read_id"))
        .exclude(sender_id=user.pk)
        .order_by()
        .values("conversation")
        .annotate(count=Count("id"))
        .values("count")
    )
    conversations = (
        Conversation.objects.filter(_participant(user), last_message__isnull=False)
        .select_related("listing", "last_message")
        .annotate(
            my_read_id=Case(
                When(buyer_id=user.pk, then=F("buyer_read_id")),
                default=F("seller_read_id"),
            ),
            unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
        )
        .order_by("-last_message_at", "-id")[:limit]
    )
    rows = list(conversations)
    _attach_members_and_covers(rows, user=user)
    return rows


def _attach_members_and_covers(conversations: list[Conversation], *, user: User) -> None:
    """Set each conversation's buyer and seller (with profiles) from one query, `other` (the
    participant who isn't `user`), and its listing's `first_photos` ([the cover] or []) from
    another. Joined into the conversations' query instead, the two members and their profiles
    made it a seven-table join whose planning alone took 2.5 ms."""
    ids = {
        pk
        for conversation in conversations
        for pk in (conversation.buyer_id, conversation.seller_id)
    }
    members = User.objects.select_related("profile").in_bulk(ids) if ids else {}
    for conversation in conversations:
        conversation.buyer = members[conversation.buyer_id]
        conversation.seller = members[conversation.seller_id]
        conversation.other = (
            conversation.seller if conversation.buyer_id == user.pk else conversation.buyer
        )
    covers = first_photos(conversation.listing_id for conversation in conversations)
    for conversation in conversations:
        cover = covers.get(conversation.listing_id)
        conversation.listing.first_photos = [cover] if cover else []


@dataclass(frozen=True)
class InboxState:
    """What the inbox shows changes only when one of these does (the poll's version)."""

    last_message_id: int
    unread: int

    @property
    def token(self) -> str:
        return f"{self.last_message_id}.{self.unread}"


def inbox_state(*, user: User) -> InboxState:
    """One aggregate query over `user`'s conversations (indexed by buyer and by seller), plus
    the cached unread count."""
    last = Conversation.objects.filter(_participant(user)).aggregate(last=Max("last_message_id"))
    return InboxState(last_message_id=last["last"] or 0, unread=unread_total(user=user))


def conversation_for(*, user: User, pk: int) -> Conversation:
    """The conversation `pk` with its listing (+ first photo), buyer and seller (+ profiles),
    for one of its two participants; Http404 for everyone else. `other` is set to the other
    participant."""
    conversation = (
        Conversation.objects.filter(_participant(user), pk=pk)
        .select_related("listing", "last_message")
        .first()
    )
    if conversation is None:
        raise Http404("No such conversation.")
    _attach_members_and_covers([conversation], user=user)
    return conversation


def conversation_participant(*, user: User, conversation_id: int) -> bool:
    """May `user` follow conversation `conversation_id` live (the realtime channel's auth)?

    True only for its buyer or seller, signed in, not banned, with no block between the two
    (a blocked thread gets no new messages to follow; its history stays readable on the page).
    """
    if not getattr(user, "is_authenticated", False) or user.is_banned or not user.is_active:
        return False
    conversation = (
        Conversation.objects.filter(_participant(user), pk=conversation_id)
        .values("buyer_id", "seller_id")
        .first()
    )
    if conversation is None:
        return False
    other_id = (
        conversation["seller_id"]
        if conversation["buyer_id"] == user.pk
        else conversation["buyer_id"]
    )
    return not blocked_between(user_id=user.pk, other_id=other_id)


def blocked_between(*, user_id: int, other_id: int) -> bool:
    return Block.objects.filter(
        Q(blocker_id=user_id, blocked_id=other_id) | Q(blocker_id=other_id, blocked_id=user_id)
    ).exists()


def has_blocked(*, user: User, other_id: int) -> bool:
    return Block.objects.filter(blocker_id=user.pk, blocked_id=other_id).exists()


def thread(*, conversation: Conversation, limit: int = THREAD_LIMIT) -> list[Message]:
    """The conversation's last `limit` messages, oldest first (one indexed query)."""
    newest = list(Message.objects.filter(conversation=conversation).order_by("-id")[:limit])
    newest.reverse()
    return newest


def messages_after(
    *, conversation: Conversation, after_id: int, limit: int = POLL_LIMIT
) -> list[Message]:
    """Messages of the conversation with an id above `after_id`, oldest first: one query on
    the (conversation, id) index."""
    return list(
        Message.objects.filter(conversation_id=conversation.pk, id__gt=after_id).order_by("id")[
            :limit
        ]
    )


def thread_token(*, conversation: Conversation, user: User) -> str:
    """The version of what `user`'s open page of `conversation` shows: it changes only with a
    new message, the other member reading further, or the conversation closing/reopening."""
    other_read = conversation.read_id_of(conversation.other_id(user.pk))
    return f"{conversation.last_message_id or 0}.{other_read}.{int(conversation.is_closed)}"


def conversation_poll_state(*, user: User, pk: int) -> Conversation:
    """Just what a poll compares (participants, last message and its sender, read markers,
    closed): one query by primary key, joined to the last message by its primary key.
    Http404 for anyone but the buyer and the seller."""
    conversation = (
        Conversation.objects.filter(_participant(user), pk=pk)
        .select_related("last_message")
        .only(
            "buyer",
            "seller",
            "listing",
            "last_message",
            "last_message__sender",
            "buyer_read_id",
            "seller_read_id",
            "is_closed",
            "closed_reason",
        )
        .first()
    )
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def seen_message_id(*, conversation: Conversation, user: User) -> int | None:
    """The id of `user`'s message to mark "Seen": the conversation's last message when
    `user` sent it and the other member has read it; None otherwise."""
    last = conversation.last_message
    if last is None:
        return None
    other_read = conversation.read_id_of(conversation.other_id(user.pk))
    return last.pk if last.sender_id == user.pk and other_read >= last.pk else None


# --- Unread total (the header badge) -------------------------------------------------------------
def _unread_key(user_id: int) -> str:
    return f"messaging:unread:{user_id}"


def unread_total(*, user: User) -> int:
    """Messages from others (or Threadly) `user` hasn't read, over all their conversations.

    Cached per member for a minute; services forget it when a message arrives or is read
    (unread_forget). On a miss, one query: the member's conversations (by the buyer and seller
    indexes) joined to their messages above the read marker (the (conversation, id) index).
    """
    if not getattr(user, "is_authenticated", False):
        return 0
    key = _unread_key(user.pk)
    cached = cache.get(key)
    if cached is not None:
        return int(cached)
    count = (
        Message.objects.filter(
            Q(conversation__buyer_id=user.pk, id__gt=F("conversation__buyer_read_id"))
            | Q(conversation__seller_id=user.pk, id__gt=F("conversation__seller_read_id"))
        )
        .exclude(sender_id=user.pk)
        .count()
    )
    cache.set(key, count, UNREAD_CACHE_SECONDS)
    return count


def unread_forget(*user_ids: int) -> None:
    """Drop the cached unread totals of these members (call after commit)."""
    cache.delete_many([_unread_key(user_id) for user_id in user_ids])


def conversations_between(*, user_id: int, other_id: int) -> QuerySet[Conversation]:
    """Every conversation of the two members, whoever is the buyer."""
    return Conversation.objects.filter(
        Q(buyer_id=user_id, seller_id=other_id) | Q(buyer_id=other_id, seller_id=user_id)
    )
