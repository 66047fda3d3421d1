"""The local default (no PUSHER_* keys): no push at all. The conversation pages and the unread
badge poll with htmx, so nothing is lost; they only update a few seconds later."""

from typing import Any

from messaging.realtime.base import RealtimeError


class LocalBackend:
    name = "local"

    def publish(self, *, channels: list[str], event: str, data: dict[str, Any]) -> None:
        """Nothing to send: the pages poll."""

    def authorize(self, *, socket_id: str, channel: str) -> dict[str, str]:
        raise RealtimeError(
            "Realtime messaging is not configured (PUSHER_APP_ID, PUSHER_KEY, PUSHER_SECRET).",
            context={"channel": channel},
        )

    def client_config(self, *, channels: list[str]) -> dict[str, Any] | None:
        return None
