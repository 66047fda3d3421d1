"""Who may listen on which realtime channel: the one home of that rule (the /pusher/auth view
asks it before the backend signs anything)."""

from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404

from messaging.realtime.base import CONVERSATION_CHANNEL_RE, USER_CHANNEL_RE


def realtime_channel_allowed(*, user: Any, channel: str) -> bool:
    """True if `user` may subscribe to `channel`.

    Only active, unbanned members; their own user channel; a conversation channel only while
    they take part in that conversation (messaging.selectors.conversation_participant).
    Anything else, including any other channel name, is refused.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active or user.is_banned:
        return False
    if match := USER_CHANNEL_RE.fullmatch(channel):
        return int(match[1]) == user.pk
    if match := CONVERSATION_CHANNEL_RE.fullmatch(channel):
        # Imported here: the messaging models live beside this package, not under it.
        from messaging.selectors import conversation_participant

        try:
            return bool(conversation_participant(user=user, conversation_id=int(match[1])))
        except (ObjectDoesNotExist, Http404, PermissionDenied):
            return False
    return False
