"""Counters of security events that are only suspicious in bulk. Kernel module.

A webhook delivery with a bad signature is usually a misconfigured secret or a stray retry;
many of them are someone probing the endpoint. Each refusal adds one to a per-minute counter
in the cache (like core.metrics); ops_status adds up the recent minutes and alerts above the
manual's threshold.
"""

import logging
import time

from django.core.cache import cache

from core.ratelimit import incr

logger = logging.getLogger("ops.security")
TTL = 2 * 3600


def _key(minute: int) -> str:
    return f"metrics:webhook-signature:{minute}"


def webhook_signature_failed(*, source: str, now: float | None = None) -> None:
    """Count one webhook delivery refused for its signature. Never raises."""
    logger.warning("webhook signature refused", extra={"webhook": source})
    try:
        incr(_key(int((now or time.time()) // 60)), TTL)
    except Exception:
        logger.exception("could not count a refused webhook signature")


def webhook_signature_failures(*, minutes: int, now: float | None = None) -> int:
    """Refused webhook signatures over the last `minutes` minutes (including this one)."""
    current = int((now or time.time()) // 60)
    keys = [_key(minute) for minute in range(current - minutes + 1, current + 1)]
    return sum(cache.get_many(keys).values())
