"""Start-up checks: a real backend whose keys are missing fails fast, naming the variable."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from orders.crypto import GENERATE_KEY_HINT, encryption_key_problems


@register()
def payment_settings_check(app_configs, **kwargs) -> list:
    problems = []
    production = not settings.DEBUG and not getattr(settings, "RUNNING_TESTS", False)
    if production and not settings.ENCRYPTION_KEY:
        problems.append(
            Error(
                "ENCRYPTION_KEY is not set; shipping addresses can't be encrypted.",
                hint="Set ENCRYPTION_KEY to a Fernet key (see docs/payments.md).",
                id="orders.E001",
            )
        )
    if production and not settings.STRIPE_SECRET_KEY and not settings.ALLOW_TEST_PAYMENTS:
        problems.append(
            Error(
                "STRIPE_SECRET_KEY is not set, so only the local test gateway exists, and with it "
                "anyone could mark their own orders paid.",
                hint="Set STRIPE_SECRET_KEY (and STRIPE_WEBHOOK_SECRET), or ALLOW_TEST_PAYMENTS=1 "
                "for a demo site where no real money is involved.",
                id="orders.E002",
            )
        )
    if settings.STRIPE_SECRET_KEY and not settings.STRIPE_WEBHOOK_SECRET:
        problems.append(
            Warning(
                "STRIPE_SECRET_KEY is set but STRIPE_WEBHOOK_SECRET is not; payment webhooks will "
                "all be rejected.",
                hint="Set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret.",
                id="orders.W001",
            )
        )
    return problems


@register()
def encryption_key_check(app_configs, **kwargs) -> list:
    """A set ENCRYPTION_KEY (or old key) must be a Fernet key, or the first checkout fails."""
    return [
        Error(
            f"{name} {problem}, so encrypting shipping addresses would fail.",
            hint=GENERATE_KEY_HINT,
            id="orders.E003",
        )
        for name, problem in encryption_key_problems()
    ]
