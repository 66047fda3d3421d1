"""Background tasks of the kernel (Django's tasks framework): plain JSON arguments, safe to run
twice. Enqueued after commit by the helpers that own them (core.analytics)."""

import logging
from typing import Any

from django.tasks import task

from core.analytics.sending import capture

logger = logging.getLogger(__name__)


@task()
def analytics_capture(distinct_id: str, name: str, properties: dict[str, Any]) -> None:
    """Send one product-analytics event. A failure is logged and re-raised (the task is marked
    failed); analytics never reaches the request either way."""
    try:
        capture(distinct_id=distinct_id, name=name, properties=properties)
    except Exception:
        logger.exception("analytics capture failed for %s", name)
        raise
