from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        # Registers the system checks and the receiver of core.events.listing_thread_event.
        from messaging import checks, receivers  # noqa: F401
        from messaging.realtime import checks as realtime_checks  # noqa: F401
