"""Request metrics recorded cheaply in the cache (Redis in production). Kernel module.

Per minute: a request count, a 5xx count and a latency histogram (fixed buckets). Each process
adds its requests up in memory and sends them at most once per FLUSH_SECONDS, in one pipelined
round trip (core.counters.Buffer), so a request costs no Redis round trip of its own.
`snapshot(minutes=...)` adds up the last minutes for ops_status.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache

from core import counters

# Upper bounds (ms) of the latency buckets; the last bucket is "slower than 5 s".
BUCKETS_MS = (25, 50, 100, 250, 500, 1000, 2000, 5000)
OVERFLOW_MS = 10_000
TTL = 2 * 3600
FLUSH_SECONDS = 1.0

_buffer = counters.Buffer(timeout=TTL)


@dataclass(frozen=True)
class Snapshot:
    minutes: int
    requests: int
    errors: int
    p95_ms: int | None

    @property
    def error_rate(self) -> float:
        """Percentage of requests that ended in a 5xx."""
        return 100 * self.errors / self.requests if self.requests else 0.0


def _bucket(duration_ms: float) -> int:
    for index, bound in enumerate(BUCKETS_MS):
        if duration_ms <= bound:
            return index
    return len(BUCKETS_MS)


def record(*, duration_ms: float, status_code: int, now: float | None = None) -> None:
    """Add one request to its minute (sent with the next flush). Never raises: metrics must not
    break requests."""
    minute = int((now or time.time()) // 60)
    increments = {f"metrics:{minute}:n": 1, f"metrics:{minute}:b{_bucket(duration_ms)}": 1}
    if status_code >= 500:
        increments[f"metrics:{minute}:e"] = 1
    _buffer.add(increments, flush_after=FLUSH_SECONDS)


def flush() -> None:
    """Send this process's pending counts now (kept for the next try when the cache is
    unreachable; a minute's counts expire with the minute's keys anyway)."""
    _buffer.flush()


def discard_pending() -> None:
    """Forget this process's unsent counts (tests start each case from an empty cache)."""
    _buffer.discard()


def snapshot(*, minutes: int = 15, now: float | None = None) -> Snapshot:
    """Totals over the last `minutes` minutes (including the current one)."""
    flush()
    current = int((now or time.time()) // 60)
    keys = []
    for minute in range(current - minutes + 1, current + 1):
        keys += [f"metrics:{minute}:n", f"metrics:{minute}:e"]
        keys += [f"metrics:{minute}:b{i}" for i in range(len(BUCKETS_MS) + 1)]
    values = cache.get_many(keys)
    requests = sum(v for k, v in values.items() if k.endswith(":n"))
    errors = sum(v for k, v in values.items() if k.endswith(":e"))
    histogram = [0] * (len(BUCKETS_MS) + 1)
    for key, value in values.items():
        if ":b" in key:
            histogram[int(key.rsplit(":b", 1)[1])] += value
    return Snapshot(minutes=minutes, requests=requests, errors=errors, p95_ms=_p95(histogram))


def _p95(histogram: list[int]) -> int | None:
    total = sum(histogram)
    if not total:
        return None
    seen = 0
    for index, count in enumerate(histogram):
        seen += count
        if seen >= 0.95 * total:
            return BUCKETS_MS[index] if index < len(BUCKETS_MS) else OVERFLOW_MS
    return OVERFLOW_MS
