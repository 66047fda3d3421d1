"""System checks for the kernel's settings: fail at start-up, naming the variable, not at the
first 429."""

from django.conf import settings
from django.core.checks import Error, Warning, register

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


@register()
def shared_cache_check(app_configs, **kwargs) -> list:
    """In production the cache must be shared: without it each process counts on its own."""
    if settings.DEBUG or getattr(settings, "RUNNING_TESTS", False) or settings.REDIS_URL:
        return []
    return [
        Warning(
            "REDIS_URL is not set, so the cache is each process's own memory: request metrics "
            "(ops_status alerts), rate limits and login lock-outs silently count per process "
            "and reset on every restart.",
            hint="Set REDIS_URL (e.g. redis://redis:6379/0), see docs/operations.md.",
            id="core.W010",
        )
    ]
