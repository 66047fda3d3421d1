"""System checks for the operator's settings (alerts, the task queue)."""

from django.conf import settings
from django.core.checks import Error, Warning, register


@register()
def ops_settings_check(app_configs, **kwargs) -> list:
    problems = []
    url = settings.ALERT_WEBHOOK_URL
    if url and not url.startswith(("https://", "http://")):
        problems.append(Error("ALERT_WEBHOOK_URL must be an http(s) URL.", id="ops.E002"))
    if settings.PAGERDUTY_ROUTING_KEY and not settings.PAGERDUTY_EVENTS_URL.startswith(
        ("https://", "http://")
    ):
        problems.append(Error("PAGERDUTY_EVENTS_URL must be an http(s) URL.", id="ops.E003"))
    queue_url = settings.TASK_QUEUE_URL
    if queue_url and not queue_url.startswith(("redis://", "rediss://", "unix://")):
        problems.append(Error("TASK_QUEUE_URL must be a redis:// URL.", id="ops.E004"))
    elif queue_url and queue_url == settings.REDIS_URL:
        # `cache_clear` (FLUSHDB) would drop every queued task, and LRU eviction could too.
        problems.append(
            Error(
                "TASK_QUEUE_URL is the cache's Redis database (REDIS_URL).",
                hint="Use another database number (redis://host:6379/2) or another server.",
                id="ops.E005",
            )
        )
    if (
        not settings.DEBUG
        and settings.SENTRY_DSN == ""
        and settings.ALERT_EMAILS == []
        and (settings.ALERT_WEBHOOK_URL == "")
        and settings.PAGERDUTY_ROUTING_KEY == ""
    ):
        problems.append(
            Warning(
                "No SENTRY_DSN, ALERT_EMAILS, ALERT_WEBHOOK_URL or PAGERDUTY_ROUTING_KEY: "
                "nobody hears about errors.",
                hint="Set at least one (see docs/operations.md).",
                id="ops.W001",
            )
        )
    return problems
