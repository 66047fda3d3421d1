"""Sending product-analytics events: the configured backend (PostHog or the local recorder)
and `capture()`, the body of the task core.tasks.analytics_capture. Kernel module."""

import logging
import os
from typing import Any

from django.conf import settings

from core.analytics.base import AnalyticsBackend, Event, LocalRecorder

logger = logging.getLogger(__name__)


_local = LocalRecorder()
# PostHog clients by key, each with the process that made it (a forked worker job makes its own).
_backends: dict[str, tuple[int, AnalyticsBackend]] = {}


def get_backend() -> AnalyticsBackend:
    """The backend chosen by settings, at call time (tests may override settings)."""
    key = settings.POSTHOG_KEY
    if not key:
        return _local
    pid, backend = _backends.get(key, (None, None))
    if backend is None or pid != os.getpid():
        from core.analytics.posthog import PostHogBackend

        backend = PostHogBackend(api_key=key, host=settings.POSTHOG_HOST)
        _backends[key] = (os.getpid(), backend)
    return backend


def flush() -> None:
    """Send what this process's PostHog client still holds (a worker calls it after each
    job: a forked job's process ends without running exit handlers). Never raises."""
    for pid, backend in list(_backends.values()):
        if pid == os.getpid():
            try:
                backend.flush()  # type: ignore[attr-defined]
            except Exception:
                logger.warning("analytics flush failed", exc_info=True)


def capture(*, distinct_id: str, name: str, properties: dict[str, Any]) -> None:
    """Record one event now with the configured backend (the task's body). Raises its errors."""
    get_backend().capture(Event(distinct_id=distinct_id, name=name, properties=properties))
