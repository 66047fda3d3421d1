"""Clearing the application's caches while keeping operational state (rate limits, lock-outs,
metrics, switches, sessions)."""

from collections.abc import Iterator

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

# Keys (as the app names them) that are state, not cache: clearing them would lift lock-outs,
# reset rate limits and lose metrics.
PRESERVED_PREFIXES = (
    "rl:",
    "lockout:",
    "metrics:",
    "ops:",
    "alert:",
    "django.contrib.sessions",
)


def _unprefix(raw: str) -> str:
    # Django builds keys as "<KEY_PREFIX>:<version>:<key>".
    parts = raw.split(":", 2)
    return parts[2] if len(parts) == 3 else raw


def raw_keys() -> Iterator[str]:
    """Every key in the default cache, as stored (Redis and local-memory caches)."""
    cache = caches["default"]
    backend = type(cache).__name__
    if isinstance(cache, RedisCache):  # core.cache.ResilientRedisCache too
        client = cache._cache.get_client(write=False)
        prefix = cache.make_key("")  # "<prefix>:<version>:"
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            yield key.decode() if isinstance(key, bytes) else key
    elif backend == "LocMemCache":
        yield from list(cache._cache.keys())
    else:
        raise NotImplementedError(f"cache_clear does not know how to list keys of {backend}")


def app_cache_keys() -> list[str]:
    return [k for k in raw_keys() if not _unprefix(k).startswith(PRESERVED_PREFIXES)]


def clear_app_caches(*, dry_run: bool = False) -> int:
    """Delete page, fragment and data caches; keep operational state. Returns the count."""
    cache = caches["default"]
    keys = app_cache_keys()
    if dry_run or not keys:
        return len(keys)
    if isinstance(cache, RedisCache):
        client = cache._cache.get_client(write=True)
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
    else:
        with cache._lock:
            for key in keys:
                cache._cache.pop(key, None)
                cache._expire_info.pop(key, None)
    return len(keys)
