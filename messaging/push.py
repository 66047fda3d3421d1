"""The bridge to the realtime adapter (messaging/realtime/, the Pusher adapter + local default).

Everything messaging says live goes through here: the channel names, the two events and the
page's client configuration. The adapter package is looked up when called, so messaging works
(by polling alone) where it is not installed; an adapter that is installed but broken still
raises at its import, loudly.
"""

import importlib.util
import json
from typing import Any, Protocol

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import _json_script_escapes
from django.utils.safestring import SafeString, mark_safe

# Seconds between two polls of an open conversation: the page's only live channel with the
# local default; a safety net under the realtime events otherwise.
POLL_SECONDS_LOCAL = 2
POLL_SECONDS_REALTIME = 30
# The inbox and the header badge.
INBOX_POLL_SECONDS_LOCAL = 10
INBOX_POLL_SECONDS_REALTIME = 60


class RealtimeBackend(Protocol):
    def publish(self, *, channels: list[str], event: str, data: dict) -> None: ...

    def client_config(self, *, channels: list[str]) -> dict | None: ...


def conversation_channel(conversation_id: int) -> str:
    return f"private-conversation-{conversation_id}"


def user_channel(user_id: int) -> str:
    return f"private-user-{user_id}"


def realtime_backend() -> RealtimeBackend | None:
    """messaging.realtime.get_backend(), or None while that package is not installed."""
    if importlib.util.find_spec("messaging.realtime") is None:
        return None
    from messaging import realtime

    return realtime.get_backend()


def client_config(*, channels: list[str]) -> dict | None:
    """What the page's realtime script needs ({"key", "cluster", "wsHost", "wsPort",
    "forceTLS", "authEndpoint", "channels"}), or None with the local default (poll)."""
    backend = realtime_backend()
    return backend.client_config(channels=channels) if backend is not None else None


def config_json(config: dict[str, Any] | None) -> SafeString:
    """`config` as JSON safe inside <script type="application/json"> (as json_script escapes
    it); templates/realtime/_client.html writes the tag itself, with the CSP nonce."""
    if config is None:
        return mark_safe("")  # noqa: S308 - empty
    text = json.dumps(config, cls=DjangoJSONEncoder).translate(_json_script_escapes)
    return mark_safe(text)  # noqa: S308 - <, > and & are escaped above


def poll_seconds(config: dict | None) -> int:
    return POLL_SECONDS_LOCAL if config is None else POLL_SECONDS_REALTIME


def inbox_poll_seconds(config: dict | None) -> int:
    return INBOX_POLL_SECONDS_LOCAL if config is None else INBOX_POLL_SECONDS_REALTIME
