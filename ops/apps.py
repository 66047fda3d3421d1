from django.apps import AppConfig


class OpsConfig(AppConfig):
    """The operator's surface: health, status page, dashboards, moderation screens, commands."""

    name = "ops"

    def ready(self) -> None:
        from ops import checks  # noqa: F401 - registers itself
        from ops.queue import install_shared_connection

        install_shared_connection()  # one Redis client per process for the task queue
