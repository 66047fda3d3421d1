"""Live delivery of stored messages to the realtime backend (run by messaging.tasks, which
the conversation services enqueue after commit). Writes nothing; safe to run twice."""

import logging

from accounts.models import User
from messaging import push
from messaging.models import Message
from messaging.selectors import unread_total

logger = logging.getLogger(__name__)


def message_deliver(*, message_id: int) -> bool:
    """Tell the realtime backend about a stored message: a "message" event on the
    conversation's channel and each recipient's user channel, and their new unread count.

    Safe to run twice (a repeated event only makes the pages poll once more); writes nothing.
    A failing backend is logged and returns False: the message is stored either way and the
    pages' polls pick it up. Returns True when published (also with the local default).
    """
    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if message is None:
        return False
    backend = push.realtime_backend()
    if backend is None:
        return True
    conversation = message.conversation
    recipients = [
        user_id
        for user_id in (conversation.buyer_id, conversation.seller_id)
        if user_id != message.sender_id
    ]
    try:
        backend.publish(
            channels=[
                push.conversation_channel(conversation.pk),
                *(push.user_channel(user_id) for user_id in recipients),
            ],
            event="message",
            data={"conversation_id": conversation.pk, "message_id": message.pk},
        )
        for user_id in recipients:
            _publish_unread(user_id, backend=backend)
    except Exception:
        logger.exception("realtime publish of message %s failed (stored; pages poll)", message_id)
        return False
    return True


def unread_deliver(*, user_id: int) -> bool:
    """Send member `user_id`'s unread total to their channel (their badge, in every tab).
    Safe to run twice; a failing backend is logged and returns False."""
    backend = push.realtime_backend()
    if backend is None:
        return True
    try:
        _publish_unread(user_id, backend=backend)
    except Exception:
        logger.exception("realtime unread count for member %s failed", user_id)
        return False
    return True


def _publish_unread(user_id: int, *, backend: push.RealtimeBackend) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        count = unread_total(user=user)
        backend.publish(
            channels=[push.user_channel(user_id)], event="unread", data={"count": count}
        )
