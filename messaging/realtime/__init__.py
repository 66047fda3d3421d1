"""Realtime messaging: `get_backend()` picks the backend from settings at call time.

- Pusher Channels when PUSHER_APP_ID, PUSHER_KEY and PUSHER_SECRET are set
  (messaging/realtime/pusher.py, the only module that imports the SDK; PUSHER_HOST & co.
  point it at a self-hosted Pusher-protocol server such as soketi);
- otherwise LocalBackend: nothing is pushed and the pages poll.

Publishing is an outside effect: call `publish` from a task enqueued in
`transaction.on_commit`, and log a RealtimeError (the pages' polling still shows the change).
"""

from django.conf import settings

from messaging.realtime.base import (
    EVENT_MESSAGE,
    EVENT_UNREAD,
    RealtimeBackend,
    RealtimeError,
    conversation_channel,
    user_channel,
)
from messaging.realtime.local import LocalBackend

__all__ = [
    "EVENT_MESSAGE",
    "EVENT_UNREAD",
    "LocalBackend",
    "RealtimeBackend",
    "RealtimeError",
    "conversation_channel",
    "get_backend",
    "pusher_configured",
    "user_channel",
]

_local = LocalBackend()
_pusher_backends: dict[tuple, RealtimeBackend] = {}


def pusher_configured() -> bool:
    return bool(settings.PUSHER_APP_ID and settings.PUSHER_KEY and settings.PUSHER_SECRET)


def get_backend() -> RealtimeBackend:
    """The backend the settings choose now (tests may override settings). The Pusher backend
    is kept per configuration, so its HTTP session (and connection) is reused."""
    if not pusher_configured():
        return _local
    options = {
        "app_id": settings.PUSHER_APP_ID,
        "key": settings.PUSHER_KEY,
        "secret": settings.PUSHER_SECRET,
        "cluster": settings.PUSHER_CLUSTER,
        "host": settings.PUSHER_HOST,
        "port": settings.PUSHER_PORT,
        "scheme": settings.PUSHER_SCHEME,
    }
    cache_key = tuple(options.values())
    if cache_key not in _pusher_backends:
        from messaging.realtime.pusher import PusherBackend

        _pusher_backends[cache_key] = PusherBackend(**options)
    return _pusher_backends[cache_key]
