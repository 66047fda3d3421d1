"""System checks for the operator's settings (alerts)."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def ops_settings_check(app_configs, **kwargs) -> list:
    problems = []
    url = settings.ALERT_WEBHOOK_URL
    if url and not url.startswith(("https://", "http://")):
        problems.append(Error("ALERT_WEBHOOK_URL must be an http(s) URL.", id="ops.E002"))
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
