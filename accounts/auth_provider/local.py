"""The local default with no identity provider: members sign up with Threadly's own accounts
(allauth), so no provider sends events and every delivery is refused as "not configured"."""

from collections.abc import Mapping

from accounts.auth_provider.base import AuthEvent
from accounts.exceptions import AuthProviderNotConfigured


class LocalAuthProvider:
    name = "local"

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> AuthEvent:
        """Refuse every delivery: there is no provider to trust."""
        raise AuthProviderNotConfigured("No identity provider is configured.")
