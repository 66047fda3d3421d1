"""The realtime seam: the operations Threadly uses, its channel names and its one error.

Channels are private, so the browser must ask /pusher/auth before it may listen:
- ``private-conversation-<id>``: a new message in that conversation;
- ``private-user-<id>``: that member's unread count changed.
"""

import re
from typing import Any, Protocol

# Events and their data, as E1's services publish them and static/js/realtime.js re-dispatches
# them as DOM events ("threadly:message", "threadly:unread").
EVENT_MESSAGE = "message"  # {"conversation_id": int, "message_id": int}
EVENT_UNREAD = "unread"  # {"count": int}

# Canonical ids only (no sign, no leading zero, at most 18 digits so it always fits a bigint).
_ID = r"[1-9][0-9]{0,17}"
CONVERSATION_CHANNEL_RE = re.compile(rf"private-conversation-({_ID})")
USER_CHANNEL_RE = re.compile(rf"private-user-({_ID})")
# What Pusher hands a browser: two decimal numbers. ASCII digits only (\d would take any script).
SOCKET_ID_RE = re.compile(r"[0-9]{1,20}\.[0-9]{1,20}")


def conversation_channel(conversation_id: int) -> str:
    return f"private-conversation-{conversation_id}"


def user_channel(user_id: int) -> str:
    return f"private-user-{user_id}"


class RealtimeError(Exception):
    """The realtime service refused or could not be reached (details in `context`).

    Publishing is best effort: the caller (a task run after commit) logs it and the pages
    still show the message on their next poll.
    """

    def __init__(self, message: str, *, context: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.context = context or {}

    def __str__(self) -> str:
        message = super().__str__()
        return f"{message} {self.context}" if self.context else message


class RealtimeBackend(Protocol):
    name: str

    def publish(self, *, channels: list[str], event: str, data: dict[str, Any]) -> None:
        """Send `event` with `data` to everyone subscribed to `channels`; RealtimeError if
        the service refused it or could not be reached."""
        ...

    def authorize(self, *, socket_id: str, channel: str) -> dict[str, str]:
        """The signed answer pusher-js expects for a private channel ({"auth": "key:sig"}).

        The caller has already decided the member may listen; RealtimeError if this backend
        can't sign (no Pusher) or the input is not a socket id / channel name."""
        ...

    def client_config(self, *, channels: list[str]) -> dict[str, Any] | None:
        """What static/js/realtime.js needs to subscribe to `channels` (rendered with
        json_script as #realtime-config), or None when the pages poll instead."""
        ...
