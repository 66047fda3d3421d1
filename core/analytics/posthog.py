"""PostHog backend for core.analytics (used when POSTHOG_KEY is set): the only module that
imports the posthog SDK. The SDK queues events and sends them in batches from its own
background thread, so capture() never blocks a request."""

import atexit
import logging

from core.analytics.base import Event

logger = logging.getLogger(__name__)


class IntegrationError(Exception):
    """PostHog refused or could not be reached (reported from the SDK's sending thread)."""


class PostHogBackend:
    def __init__(self, *, api_key: str, host: str, sync_mode: bool = False) -> None:
        from posthog import Posthog

        self.client = Posthog(
            api_key,
            host=host,
            sync_mode=sync_mode,
            on_error=self._on_error,
            disable_geoip=True,
            enable_exception_autocapture=False,
            max_retries=3,
            timeout=5,
        )
        atexit.register(self.shutdown)

    @staticmethod
    def _on_error(error: Exception, batch: list) -> None:
        logger.warning("PostHog dropped %s events: %s", len(batch or []), error)

    def capture(self, event: Event) -> None:
        self.client.capture(
            event.name, distinct_id=event.distinct_id, properties=dict(event.properties)
        )

    def flush(self) -> None:
        self.client.flush()

    def shutdown(self) -> None:
        try:
            self.client.shutdown()
        except Exception:  # at exit: nothing left to tell
            logger.debug("PostHog shutdown failed", exc_info=True)
