"""Payment gateways: Stripe Connect when STRIPE_SECRET_KEY is set, the local gateway otherwise."""

from django.conf import settings

from orders.payments.base import PaymentGateway
from orders.payments.local import LocalGateway


def get_gateway() -> PaymentGateway:
    """The gateway chosen by settings at call time (tests may override settings)."""
    if settings.STRIPE_SECRET_KEY:
        from orders.payments.stripe.gateway import StripeGateway

        return StripeGateway(
            api_key=settings.STRIPE_SECRET_KEY,
            # The platform's endpoint and the Connect endpoint (events of connected
            # accounts, e.g. account.updated) may share our URL; each has its own secret.
            webhook_secrets=(
                settings.STRIPE_WEBHOOK_SECRET,
                settings.STRIPE_CONNECT_WEBHOOK_SECRET,
            ),
            api_base=settings.STRIPE_API_BASE or None,
        )
    return LocalGateway()


def get_gateway_by_name(name: str) -> PaymentGateway:
    if name == "local":
        return LocalGateway()
    return get_gateway()
