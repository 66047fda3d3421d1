"""Maintenance mode: MAINTENANCE_MODE (env) or the 'maintenance' switch. Kernel module.

The switch lives in the database (ops.Switch) and is cached for a few seconds so the
middleware costs one cache read per request; flipping it updates the cache at once.
"""

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from core.audit import audit_log
from core.models import Switch

logger = logging.getLogger(__name__)
SWITCH = "maintenance"
CACHE_KEY = "ops:switch:maintenance"
CACHE_SECONDS = 10


def is_enabled() -> bool:
    """True when the site is in maintenance mode (env or switch)."""
    if settings.MAINTENANCE_MODE:
        return True
    value = cache.get(CACHE_KEY)
    if value is None:
        try:
            value = Switch.objects.filter(name=SWITCH, enabled=True).exists()
        except Exception:  # no table yet (fresh clone before migrate), DB down, no DB access:
            # the switch must never take every page down with it; MAINTENANCE_MODE still works.
            return False
        cache.set(CACHE_KEY, value, CACHE_SECONDS)
    return bool(value)


def maintenance_set(*, enabled: bool, actor: Any = None, source: str = "command") -> None:
    """Turn the maintenance switch on or off, audited; the cache follows after commit."""
    with transaction.atomic():
        Switch.objects.update_or_create(name=SWITCH, defaults={"enabled": enabled})
        audit_log(
            action="ops.maintenance_on" if enabled else "ops.maintenance_off",
            actor=actor,
            source=source,
        )
        # Forget the cached state now and again after commit, so no reader keeps a stale value.
        cache.delete(CACHE_KEY)
        transaction.on_commit(lambda: cache.delete(CACHE_KEY))
    logger.warning("maintenance mode switched %s (%s)", "on" if enabled else "off", source)
