"""The identity-provider interface: only what Threadly uses, with our own frozen dataclasses.

A provider verifies its webhook deliveries and turns them into `AuthEvent`s; the services in
accounts/services/webhook.py apply those and never see the provider's payloads.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

# accounts.models.AuthWebhookEvent.event_id: a longer delivery id is refused as malformed.
EVENT_ID_MAX_LENGTH = 100


@dataclass(frozen=True, kw_only=True)
class ProviderUser:
    """A member as the identity provider describes them, in our words. Values are as sent
    (stripped); the service checks them against our rules and columns."""

    external_id: str
    primary_email: str = ""  # "" when the member has no address
    primary_email_verified: bool = False
    emails: tuple[str, ...] = ()  # every address given, each checked
    username: str = ""  # the handle they want, if any
    first_name: str = ""
    last_name: str = ""
    role: str = ""  # lower case: "admin", "seller" or anything else (no role)


@dataclass(frozen=True, kw_only=True)
class AuthEvent:
    """A verified delivery; `event_id` is stored so a redelivery is applied once."""

    event_id: str
    event_type: str


@dataclass(frozen=True, kw_only=True)
class UserChanged(AuthEvent):
    """A member was created or updated at the provider."""

    user: ProviderUser


@dataclass(frozen=True, kw_only=True)
class UserDeleted(AuthEvent):
    """A member was deleted at the provider."""

    external_id: str


@dataclass(frozen=True, kw_only=True)
class Ignored(AuthEvent):
    """An event type Threadly does not handle: answered 2xx, not stored."""


class AuthProvider(Protocol):
    name: str

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> AuthEvent:
        """Verify a delivery on its raw body and turn it into our event.

        Raises (accounts.exceptions) AuthProviderNotConfigured, WebhookSignatureError,
        MalformedWebhook, or WebhookPayloadError for a signed event whose fields have the
        wrong types.
        """
        ...
