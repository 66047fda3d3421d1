"""Maintenance mode, which must work on the day the database is down. Kernel module.

The mode is on when any of these says so, checked in this order:
1. `MAINTENANCE_MODE=1` in the environment (always wins; needs a restart);
2. the flag file `MAINTENANCE_FLAG_FILE` on this host (written by `maintenance on` even when
   neither the database nor the cache answers);
3. the state in the shared cache (every host sees it within RECHECK_SECONDS: each process
   keeps what it read that long, so a request costs no cache round trip of its own);
4. the `maintenance` switch in the database (the record that survives a cache flush), read
   only when the cache has no state.

`maintenance_set` writes the flag file and the cache first, then the database switch with its
audit entry; when the database is down it says so and the first two carry the mode.
"""

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, transaction

from core.audit import audit_log
from core.models import Switch

logger = logging.getLogger(__name__)
SWITCH = "maintenance"
CACHE_KEY = "ops:switch:maintenance"  # kept by cache_clear ("ops:" is operational state)
RECHECK_SECONDS = 1.0
_known: tuple[float, bool] | None = None  # (read at, enabled): this process's recent answer


@dataclass(frozen=True)
class MaintenanceChange:
    enabled: bool
    in_database: bool  # False: the database was unreachable; the file and cache carry it


def _flag_file() -> Path:
    return Path(settings.MAINTENANCE_FLAG_FILE)


def _database_switch() -> bool:
    try:
        return Switch.objects.filter(name=SWITCH, enabled=True).exists()
    except Exception:  # no table yet (fresh clone before migrate), DB down, no DB access:
        # the switch must never take every page down with it; the env and file still work.
        return False


def is_enabled() -> bool:
    """True when the site is in maintenance mode (see the module docstring for the order)."""
    global _known
    if settings.MAINTENANCE_MODE or _flag_file().exists():
        return True
    now = time.monotonic()
    if _known is not None and now - _known[0] < RECHECK_SECONDS:
        return _known[1]
    value = cache.get(CACHE_KEY)
    if value is None:
        value = _database_switch()
        cache.add(CACHE_KEY, value, None)
    _known = (now, bool(value))
    return bool(value)


def forget() -> None:
    """Drop this process's remembered state: the next check reads the cache."""
    global _known
    _known = None


def _write_flag_file(enabled: bool) -> None:
    path = _flag_file()
    try:
        if enabled:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        else:
            path.unlink(missing_ok=True)
    except OSError:
        logger.exception("could not write the maintenance flag file %s", path)


def maintenance_set(
    *, enabled: bool, actor: Any = None, source: str = "command"
) -> MaintenanceChange:
    """Turn maintenance mode on or off: this host's flag file and the shared cache at once,
    then the database switch (audited). Never fails because the database is down: the change
    then reports `in_database=False`, and running the command again later records it."""
    _write_flag_file(enabled)
    cache.set(CACHE_KEY, enabled, None)
    forget()
    try:
        with transaction.atomic():
            Switch.objects.update_or_create(name=SWITCH, defaults={"enabled": enabled})
            audit_log(
                action="ops.maintenance_on" if enabled else "ops.maintenance_off",
                actor=actor,
                source=source,
            )
    except DatabaseError:
        logger.warning(
            "maintenance mode switched %s (%s) without the database: the flag file and the "
            "cache carry it; run the command again when the database is back to record it",
            "on" if enabled else "off",
            source,
        )
        return MaintenanceChange(enabled=enabled, in_database=False)
    logger.warning("maintenance mode switched %s (%s)", "on" if enabled else "off", source)
    return MaintenanceChange(enabled=enabled, in_database=True)
