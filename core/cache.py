"""The cache backend: Django's RedisCache that keeps the site up when Redis is not. Kernel module.

Configured in settings.CACHES. While Redis is unreachable (connection refused, timeout) every
operation answers as if the key were missing, so callers need no error handling of their own:
get -> default, get_many -> {}, add/touch/has_key/delete -> False, set -> nothing stored,
set_many -> every key reported as failed, and incr/decr raise CacheUnavailable, a ValueError
like Django's "key not found" (the rate limiter catches it to count in-process instead).

After a failure the backend waits RETRY_SECONDS before it tries Redis again, so a Redis that
hangs costs one connect timeout per interval, not one per cache call. The outage is logged at
most once per LOG_INTERVAL_SECONDS. Keys written or deleted while Redis was away may hold stale
values when it comes back (a session ended during the outage, a changed category menu), so on
recovery they are deleted first, before any read is served.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
UNAVAILABLE_ERRORS = (RedisConnectionError, RedisTimeoutError)
RETRY_SECONDS = 2.0
LOG_INTERVAL_SECONDS = 60.0
# Keys remembered for deletion on recovery; beyond this the operator is asked to clear the cache.
MAX_STALE_KEYS = 10_000


class CacheUnavailable(ValueError):  # noqa: N818 - reads like Django's "key not found"
    """incr()/decr() could not reach the cache: nothing was counted."""


@dataclass
class _Outage:
    """What one process knows about one Redis location's outage (shared by its threads)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    down_since: float | None = None
    retry_at: float = 0.0
    logged_at: float | None = None
    failures: int = 0
    stale_keys: set[str] = field(default_factory=set)
    stale_overflow: bool = False
    last_error: str = ""


_outages: dict[tuple[str, ...], _Outage] = {}
_outages_lock = threading.Lock()


def _clock() -> float:
    return time.monotonic()


class _OneClientPerPool(RedisCacheClient):
    """Django's client builds a new redis.Redis for every cache call, which costs about a
    millisecond (its command tables) twice per request on the hot path. A client is a thin,
    thread-safe wrapper of its connection pool, so one per pool does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class ResilientRedisCache(RedisCache):
    """RedisCache whose operations answer like a miss (and log once) when Redis is unreachable."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _OneClientPerPool
        location = tuple(self._servers)
        with _outages_lock:
            self._outage = _outages.setdefault(location, _Outage())

    # --- what callers use --------------------------------------------------------------------
    @property
    def available(self) -> bool:
        """False while this process counts Redis as unreachable (until a retry succeeds)."""
        return self._outage.down_since is None

    @property
    def last_error(self) -> str:
        """The error that took Redis out (for health checks), or ""."""
        return self._outage.last_error if self._outage.down_since is not None else ""

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(
            "add", key, value, timeout, version, miss=False, writes=[(key, version)]
        )

    def get(self, key, default=None, version=None):
        return self._guarded("get", key, default, version, miss=default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded(
            "set", key, value, timeout, version, miss=None, writes=[(key, version)]
        )

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guarded("touch", key, timeout, version, miss=False, writes=[(key, version)])

    def delete(self, key, version=None):
        return self._guarded("delete", key, version, miss=False, writes=[(key, version)])

    def get_many(self, keys, version=None):
        return self._guarded("get_many", keys, version, miss={})

    def has_key(self, key, version=None):
        return self._guarded("has_key", key, version, miss=False)

    def incr(self, key, delta=1, version=None):
        result = self._guarded("incr", key, delta, version, miss=CacheUnavailable, writes=[])
        if result is CacheUnavailable:
            raise CacheUnavailable(f"Cache unavailable: {key!r} was not counted.")
        return result

    def incr_many(self, increments: dict[str, int], timeout: int) -> bool:
        """Add each delta to its counter (created if missing) and (re)set its timeout, in ONE
        pipelined round trip (INCRBY + EXPIRE per key, no MULTI). False: nothing counted."""
        if not self._ready():
            return False
        try:
            client = self._cache.get_client(None, write=True)
            pipe = client.pipeline(transaction=False)
            for key, delta in increments.items():
                name = self.make_and_validate_key(key)
                pipe.incrby(name, delta)
                pipe.expire(name, timeout)
            pipe.execute()
        except UNAVAILABLE_ERRORS as exc:
            self._failed(exc)
            return False
        return True

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        writes = [(key, version) for key in data]
        return self._guarded("set_many", data, timeout, version, miss=list(data), writes=writes)

    def delete_many(self, keys, version=None):
        writes = [(key, version) for key in keys]
        return self._guarded("delete_many", keys, version, miss=None, writes=writes)

    def clear(self):
        return self._guarded("clear", miss=False)

    # --- the one place that handles Redis failures ------------------------------------------
    def _guarded(self, name: str, *args: Any, miss: Any, writes: list | None = None) -> Any:
        if not self._ready():
            self._remember(writes)
            return miss
        try:
            return getattr(super(), name)(*args)
        except UNAVAILABLE_ERRORS as exc:
            self._failed(exc)
            self._remember(writes)
            return miss

    def _ready(self) -> bool:
        """True when Redis may be used: it is up, or the retry time has come and it answered."""
        outage = self._outage
        if outage.down_since is None:
            return True
        if _clock() < outage.retry_at:
            outage.failures += 1
            return False
        with outage.lock:
            keys, overflow = list(outage.stale_keys), outage.stale_overflow
        try:
            client = self._cache.get_client(None, write=True)
            if keys:
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start : start + 500])
            else:
                client.ping()
        except UNAVAILABLE_ERRORS as exc:
            self._failed(exc)
            return False
        self._recovered(len(keys), overflow)
        return True

    def _remember(self, writes: list | None) -> None:
        """Note keys whose Redis value may now be stale, to delete when Redis is back."""
        if not writes:
            return
        outage = self._outage
        with outage.lock:
            if len(outage.stale_keys) + len(writes) > MAX_STALE_KEYS:
                outage.stale_overflow = True
                return
            outage.stale_keys.update(self.make_key(key, version=v) for key, v in writes)

    def _failed(self, exc: Exception) -> None:
        outage = self._outage
        now = _clock()
        with outage.lock:
            first = outage.down_since is None
            if first:
                outage.down_since = now
            outage.retry_at = now + RETRY_SECONDS
            outage.failures += 1
            outage.last_error = f"{type(exc).__name__}: {exc}"[:300]
            due = outage.logged_at is None or now - outage.logged_at >= LOG_INTERVAL_SECONDS
            if due:
                outage.logged_at = now
                failures, outage.failures = outage.failures, 0
        if due:
            logger.warning(
                "cache %s: %s; serving uncached (%d failed cache calls since the last report, "
                "next report in %ds at the earliest)",
                "unreachable" if first else "still unreachable",
                outage.last_error,
                failures,
                LOG_INTERVAL_SECONDS,
            )

    def _recovered(self, stale_deleted: int, overflow: bool) -> None:
        outage = self._outage
        with outage.lock:
            if outage.down_since is None:
                return
            seconds = _clock() - outage.down_since
            outage.down_since = None
            outage.logged_at = None
            outage.failures = 0
            outage.stale_keys.clear()
            outage.stale_overflow = False
            outage.last_error = ""
        logger.warning(
            "cache reachable again after %.0fs; deleted %d keys written while it was away",
            seconds,
            stale_deleted,
        )
        if overflow:
            logger.error(
                "cache: more than %d keys were written during the outage and some may be stale; "
                "run `manage.py cache_flush --all` if members report odd sessions or pages",
                MAX_STALE_KEYS,
            )
