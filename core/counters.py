"""Cache counters bumped on the request path at the lowest cost. Kernel module.

`add()` adds to several counters at once: one pipelined round trip on Redis
(core.cache.ResilientRedisCache.incr_many), incr/add per key on other caches (local memory in
development and tests). It never raises: a counter the cache can't take is simply not counted.

A `Buffer` adds counts up in the process and sends them at most once per interval with `add()`,
so a request that counts something (its metrics, a listing view) pays no round trip of its own.
"""

import atexit
import logging
import threading
import time
from collections import Counter

from django.core.cache import cache

from core.cache import CacheUnavailable

logger = logging.getLogger(__name__)


# Counters a Buffer keeps for the next try while the cache is unreachable; beyond, the counts
# the cache couldn't take are dropped (a long outage must not grow a worker without bound).
KEPT_KEYS_MAX = 20_000


class Buffer:
    """Counts held by this process and sent in one round trip at most once per `flush_after`
    seconds (checked when counts are added: a quiet process's last counts wait for its next
    one, or for its exit). Counts the cache can't take are kept for the next try, up to
    KEPT_KEYS_MAX counters."""

    def __init__(self, *, timeout: int) -> None:
        self.timeout = timeout
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._flushed_at = 0.0
        atexit.register(self.flush)  # a worker that stops sends what it holds

    def add(self, increments: dict[str, int], *, flush_after: float) -> None:
        with self._lock:
            self._pending.update(increments)
        if time.monotonic() - self._flushed_at >= flush_after:
            self.flush()

    def flush(self) -> None:
        with self._lock:
            self._flushed_at = time.monotonic()
            if not self._pending:
                return
            increments = dict(self._pending)
            self._pending.clear()
        if not add(increments, timeout=self.timeout):
            with self._lock:
                if len(self._pending) + len(increments) <= KEPT_KEYS_MAX:
                    self._pending.update(increments)
                else:
                    logger.warning("cache unreachable: dropped %d counters", len(increments))

    def discard(self) -> None:
        """Forget the unsent counts (tests start each case from an empty cache)."""
        with self._lock:
            self._pending.clear()
        self._flushed_at = 0.0


def add(increments: dict[str, int], *, timeout: int) -> bool:
    """Add each delta to its counter, creating missing ones with `timeout`; False when nothing
    (or not everything) was counted because the cache is unreachable."""
    try:
        bulk = getattr(cache, "incr_many", None)
        if bulk is not None:
            return bulk(increments, timeout)
        for key, delta in increments.items():
            _add_one(key, delta, timeout)
    except CacheUnavailable:
        return False
    except Exception:
        logger.exception("could not add to cache counters")
        return False
    return True


def _add_one(key: str, delta: int, timeout: int) -> None:
    try:
        cache.incr(key, delta)
    except CacheUnavailable:
        raise
    except ValueError:  # missing: create it (or add to it if another request just did)
        if not cache.add(key, delta, timeout):
            cache.incr(key, delta)


def take(keys: list[str]) -> dict[str, int]:
    """Read counters and subtract what was read, atomically per key (DECRBY), so a bump that
    lands between the read and the reset is kept for next time: never lost, never twice.
    Returns what was taken (only keys with a positive count)."""
    taken: dict[str, int] = {}
    for key, value in cache.get_many(keys).items():
        count = int(value or 0)
        if count <= 0:
            continue
        try:
            cache.decr(key, count)
        except ValueError:  # expired in between, or the cache went away: not taken
            continue
        taken[key] = count
    return taken
