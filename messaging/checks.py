"""System checks for messaging's settings: fail at start-up, naming the variable."""

from django.conf import settings
from django.core.checks import Error, register

from core.ratelimit import parse_rate


@register()
def messaging_settings_check(app_configs, **kwargs) -> list:
    problems = []
    try:
        parse_rate(settings.MESSAGING_RATE)
    except ValueError:
        problems.append(
            Error(
                f"MESSAGING_RATE is not a rate: {settings.MESSAGING_RATE!r}.",
                hint="Use <count>/<s|m|h|d>, e.g. 20/m.",
                id="messaging.E001",
            )
        )
    if settings.MESSAGING_EMAIL_DELAY_MINUTES < 0:
        problems.append(
            Error("MESSAGING_EMAIL_DELAY_MINUTES can't be negative.", id="messaging.E002")
        )
    return problems
