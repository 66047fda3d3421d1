from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"

    def ready(self) -> None:
        # Registers the system check and the receiver of core.events.listing_thread_event.
        from messaging import checks, receivers  # noqa: F401
