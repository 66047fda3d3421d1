"""Pusher Channels backend (used when PUSHER_APP_ID, PUSHER_KEY and PUSHER_SECRET are set): the
only module that imports the `pusher` SDK.

PUSHER_HOST / PUSHER_PORT / PUSHER_SCHEME point both the SDK and the browsers at a
self-hosted Pusher-protocol server (soketi, or the tests' local server) instead of Pusher's
cluster hosts.
"""

from functools import cached_property
from typing import Any

import pusher
from django.urls import reverse
from pusher.errors import PusherBadAuth, PusherBadRequest, PusherError, PusherForbidden

from messaging.realtime.base import RealtimeError

# Seconds the SDK waits to connect and for each read: publishing runs in a task after commit,
# and a slow Pusher must not hold a worker for long (the pages poll anyway).
TIMEOUT_SECONDS = 5.0
# Pusher's limit of channels per trigger call.
MAX_CHANNELS_PER_TRIGGER = 100
_STATUS = {PusherBadRequest: 400, PusherBadAuth: 401, PusherForbidden: 403}


class PusherBackend:
    name = "pusher"

    def __init__(
        self,
        *,
        app_id: str,
        key: str,
        secret: str,
        cluster: str,
        host: str = "",
        port: int = 0,
        scheme: str = "https",
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.app_id = app_id
        self.key = key
        self.secret = secret
        self.cluster = cluster
        self.host = host
        self.port = port
        self.scheme = scheme
        self.timeout = timeout

    @cached_property
    def client(self) -> pusher.Pusher:
        """The SDK client, made on first use (a bad setting fails the call, never a page)."""
        try:
            return pusher.Pusher(
                app_id=self.app_id,
                key=self.key,
                secret=self.secret,
                cluster=self.cluster,
                host=self.host or None,
                port=self.port or None,
                ssl=self.scheme == "https",
                timeout=self.timeout,
            )
        except (ValueError, TypeError) as exc:
            raise RealtimeError(
                "The Pusher settings are not valid.", context={"error": str(exc)}
            ) from exc

    def publish(self, *, channels: list[str], event: str, data: dict[str, Any]) -> None:
        """Trigger `event` on `channels` (in calls of at most 100 channels).

        Raises RealtimeError with the channels, event, HTTP status (when Pusher answered) and
        the SDK's message if Pusher refused the event or could not be reached in time."""
        for start in range(0, len(channels), MAX_CHANNELS_PER_TRIGGER):
            batch = channels[start : start + MAX_CHANNELS_PER_TRIGGER]
            try:
                self.client.trigger(batch, event, data)
            except (PusherError, OSError, ValueError, TypeError) as exc:
                # requests' errors (refused, timed out) are OSErrors.
                context = {
                    "channels": batch,
                    "event": event,
                    "host": self.host or f"api-{self.cluster}.pusher.com",
                    "error": f"{type(exc).__name__}: {str(exc)[:200]}",
                }
                if status := _STATUS.get(type(exc)):
                    context["status"] = status
                raise RealtimeError("Pusher did not accept the event.", context=context) from exc

    def authorize(self, *, socket_id: str, channel: str) -> dict[str, str]:
        """{"auth": "<key>:<HMAC-SHA256 of 'socket_id:channel' with the secret>"}."""
        try:
            return dict(self.client.authenticate(channel=channel, socket_id=socket_id))
        except (ValueError, TypeError) as exc:
            raise RealtimeError(
                "Pusher can't sign this subscription.",
                context={"channel": channel, "error": str(exc)[:200]},
            ) from exc

    def client_config(self, *, channels: list[str]) -> dict[str, Any] | None:
        tls = self.scheme == "https"
        return {
            "key": self.key,
            "cluster": self.cluster,
            "wsHost": self.host or f"ws-{self.cluster}.pusher.com",
            "wsPort": self.port or (443 if tls else 80),
            "forceTLS": tls,
            "authEndpoint": reverse("realtime:pusher_auth"),
            "channels": list(channels),
        }
