from django.http import HttpRequest

from messaging import push
from messaging.selectors import unread_total


def inbox(request: HttpRequest) -> dict:
    """The header's unread-messages badge (cached per member: no query on a hit), how often
    it refreshes, and the realtime client's configuration for the member's own channel."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    config = push.client_config(channels=[push.user_channel(user.pk)])
    return {
        "unread_messages": unread_total(user=user),
        "inbox_poll_seconds": push.inbox_poll_seconds(config),
        "realtime_config_json": push.config_json(config),
    }
