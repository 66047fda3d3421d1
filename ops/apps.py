from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The operator's surface: health, status page, dashboards, moderation screens, commands."""

    name = "ops"

    def ready(self) -> None:
        from ops import checks  # noqa: F401 - registers itself
