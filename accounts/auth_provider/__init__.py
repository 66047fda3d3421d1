"""Identity provider adapters: Clerk-style events signed with Svix when CLERK_WEBHOOK_SECRET is
set, the local default (no provider, our own sign-up) otherwise."""

from django.conf import settings

from accounts.auth_provider.base import AuthProvider
from accounts.auth_provider.local import LocalAuthProvider


def get_auth_provider() -> AuthProvider:
    """The provider chosen by settings at call time (tests may override settings)."""
    if settings.CLERK_WEBHOOK_SECRET:
        from accounts.auth_provider.svix import SvixAuthProvider

        return SvixAuthProvider(secret=settings.CLERK_WEBHOOK_SECRET)
    return LocalAuthProvider()
