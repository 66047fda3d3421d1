"""The Clerk-style identity provider whose webhooks are signed with Svix: the only module
importing the svix SDK. It checks the signature on the raw body, then the Clerk payload is
mapped to our events (accounts/auth_provider/clerk.py).
"""

import json
import logging
from collections.abc import Mapping

from svix.webhooks import Webhook, WebhookVerificationError

from accounts.auth_provider.base import EVENT_ID_MAX_LENGTH, AuthEvent
from accounts.auth_provider.clerk import event_from_payload
from accounts.exceptions import AuthProviderNotConfigured, MalformedWebhook, WebhookSignatureError

logger = logging.getLogger(__name__)

SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")


class SvixAuthProvider:
    name = "svix"

    def __init__(self, *, secret: str) -> None:
        self.secret = secret

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> AuthEvent:
        """Verify the Svix headers (HMAC of id, timestamp and raw body; recent timestamp),
        then read the event. The svix-id is the event id."""
        try:
            webhook = Webhook(self.secret)
        except Exception as exc:
            logger.exception("CLERK_WEBHOOK_SECRET is not a valid Svix secret")
            raise AuthProviderNotConfigured("The Svix secret is not usable.") from exc
        svix_headers = {name: headers.get(name, "") for name in SVIX_HEADERS}
        try:
            webhook.verify(body, svix_headers)
        except (WebhookVerificationError, ValueError) as exc:
            raise WebhookSignatureError(str(exc)) from exc
        event_id = svix_headers["svix-id"]
        if len(event_id) > EVENT_ID_MAX_LENGTH:
            raise MalformedWebhook("Event id too long.")
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise MalformedWebhook("Malformed event.") from exc
        return event_from_payload(event_id=event_id, payload=payload)
