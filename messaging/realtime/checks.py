"""Start-up check: Pusher half configured fails fast, naming the missing variable.

Registered when imported: messaging's AppConfig.ready() imports this module.
"""

from django.conf import settings
from django.core.checks import Error, register

REQUIRED = ("PUSHER_APP_ID", "PUSHER_KEY", "PUSHER_SECRET")


@register()
def realtime_settings_check(app_configs, **kwargs) -> list:
    problems = []
    present = [name for name in REQUIRED if getattr(settings, name)]
    if present and len(present) < len(REQUIRED):
        missing = [name for name in REQUIRED if name not in present]
        problems.append(
            Error(
                f"{', '.join(present)} set but {', '.join(missing)} not: realtime messaging "
                "would silently fall back to polling.",
                hint=f"Set {', '.join(missing)} (Pusher app keys), or unset all three.",
                id="realtime.E001",
            )
        )
    if settings.PUSHER_APP_ID and not str(settings.PUSHER_APP_ID).isdigit():
        problems.append(
            Error(
                f"PUSHER_APP_ID must be the numeric app id, not {settings.PUSHER_APP_ID!r}.",
                hint="Copy the app_id from the Pusher dashboard's App Keys page.",
                id="realtime.E002",
            )
        )
    return problems
