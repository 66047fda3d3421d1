"""System checks for the kernel's settings: fail at start-up, naming the variable, not at the
first 429."""

from django.conf import settings
from django.core.checks import Error, register

from core.ratelimit import parse_rate


@register()
def core_settings_check(app_configs, **kwargs) -> list:
    problems = []
    for name in ("RATELIMIT_DEFAULT", "RATELIMIT_AUTH"):
        try:
            parse_rate(getattr(settings, name))
        except ValueError:
            problems.append(
                Error(
                    f"{name} is not a rate: {getattr(settings, name)!r}.",
                    hint="Use <count>/<s|m|h|d>, e.g. 100/m or 10/5m.",
                    id="core.E001",
                )
            )
    if settings.NUM_PROXIES < 0:
        problems.append(Error("NUM_PROXIES can't be negative.", id="core.E003"))
    return problems
