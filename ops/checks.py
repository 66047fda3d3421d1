"""System checks for ops settings: fail at start-up, naming the variable, not at the first 429."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from ops.ratelimit import parse_rate


@register()
def ops_settings_check(app_configs, **kwargs) -> list:
    problems = []
    for name in ("RATELIMIT_DEFAULT", "RATELIMIT_AUTH"):
        try:
            parse_rate(getattr(settings, name))
        except ValueError:
            problems.append(
                Error(
                    f"{name} is not a rate: {getattr(settings, name)!r}.",
                    hint="Use <count>/<s|m|h|d>, e.g. 100/m or 10/5m.",
                    id="ops.E001",
                )
            )
    url = settings.ALERT_WEBHOOK_URL
    if url and not url.startswith(("https://", "http://")):
        problems.append(Error("ALERT_WEBHOOK_URL must be an http(s) URL.", id="ops.E002"))
    if settings.NUM_PROXIES < 0:
        problems.append(Error("NUM_PROXIES can't be negative.", id="ops.E003"))
    if (
        not settings.DEBUG
        and settings.SENTRY_DSN == ""
        and settings.ALERT_EMAILS == []
        and (settings.ALERT_WEBHOOK_URL == "")
    ):
        problems.append(
            Warning(
                "No SENTRY_DSN, ALERT_EMAILS or ALERT_WEBHOOK_URL: nobody hears about errors.",
                hint="Set at least one (see docs/operations.md).",
                id="ops.W001",
            )
        )
    return problems
