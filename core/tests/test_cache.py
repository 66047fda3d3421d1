"""core.cache.ResilientRedisCache: a dead or stopped Redis answers like a miss, logs once per
interval, is retried after a pause, and keys written during the outage are dropped on return."""

import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from core import cache as cache_module
from core.cache import CacheUnavailable, ResilientRedisCache


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port bound but not listening: connecting is refused, and nobody else can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def make_cache(port: int) -> ResilientRedisCache:
    return ResilientRedisCache(
        f"redis://127.0.0.1:{port}/0",
        {"KEY_PREFIX": "t", "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}},
    )


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """core.cache's clock, moved by hand: clock[0] is "now"."""
    now = [1000.0]
    monkeypatch.setattr(cache_module, "_clock", lambda: now[0])
    return now


@pytest.fixture(autouse=True)
def _forget_outages() -> Iterator[None]:
    yield
    cache_module._outages.clear()


def test_dead_redis_answers_every_operation_like_a_miss(dead_port):
    """get -> default, get_many -> {}, add/has_key/delete/touch -> False, set_many -> all keys
    failed, incr -> CacheUnavailable (a ValueError, as for a missing key); nothing raises."""
    cache = make_cache(dead_port)
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("k", 1) is False
    assert cache.set("k", 1) is None
    assert cache.has_key("k") is False
    assert cache.delete("k") is False
    assert cache.touch("k") is False
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]
    assert cache.delete_many(["a", "b"]) is None
    assert cache.get_or_set("k", lambda: "computed") == "computed"
    with pytest.raises(CacheUnavailable):
        cache.incr("k")
    with pytest.raises(ValueError, match="not counted"):
        cache.decr("k")
    assert cache.available is False
    assert "Connection refused" in cache.last_error


def test_dead_redis_is_not_retried_until_the_pause_is_over(dead_port, clock, monkeypatch):
    """After a failure no call touches Redis for RETRY_SECONDS; then one call tries again."""
    cache = make_cache(dead_port)
    cache.get("k")
    attempts = []
    original = cache._cache.get_client
    monkeypatch.setattr(
        cache._cache, "get_client", lambda *a, **k: attempts.append(1) or original(*a, **k)
    )
    for _ in range(100):
        cache.get("k")
        cache.set("k", 1)
    assert attempts == []
    clock[0] += cache_module.RETRY_SECONDS
    cache.get("k")
    assert len(attempts) == 1


def test_dead_redis_costs_milliseconds_not_seconds(dead_port):
    """A thousand cache calls against a dead Redis finish in well under a second."""
    cache = make_cache(dead_port)
    started = time.perf_counter()
    for _ in range(1000):
        cache.get("k")
    assert time.perf_counter() - started < 1.0


def test_outage_is_logged_once_per_interval_not_once_per_call(dead_port, clock, caplog):
    """Many failing calls log one warning; the next interval logs one more with the count."""
    cache = make_cache(dead_port)
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        for _ in range(5):
            for _ in range(50):
                cache.get("k")
            clock[0] += cache_module.RETRY_SECONDS  # each pause over: Redis is really tried
        assert len(caplog.records) == 1
        assert "cache unreachable" in caplog.records[0].getMessage()
        clock[0] += cache_module.LOG_INTERVAL_SECONDS
        cache.get("k")
    assert len(caplog.records) == 2
    assert "still unreachable" in caplog.records[1].getMessage()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_stopped_redis_then_restarted_serves_again_without_stale_keys(tmp_path, clock, caplog):
    """A private Redis is stopped: calls answer like misses. Restarted with its old data, the
    keys changed during the outage are deleted before anything is read from it again."""
    port = free_port()
    command = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(tmp_path),
        "--save",
        "",
        "--appendonly",
        "no",
    ]

    def start() -> subprocess.Popen:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return process
            except OSError:
                time.sleep(0.02)
        process.kill()
        pytest.fail("redis-server did not start")

    def stop(process: subprocess.Popen) -> None:
        # Save first so the restarted Redis holds the old values, as after a persisted restart.
        subprocess.run(["redis-cli", "-p", str(port), "save"], capture_output=True, timeout=5)
        process.terminate()
        process.wait(timeout=5)

    server = start()
    try:
        cache = make_cache(port)
        cache.set("session", "signed-in")
        cache.set("menu", "old")
        stop(server)

        assert cache.get("session") is None
        cache.delete("session")  # a logout during the outage
        cache.set("menu", "new")  # not stored
        assert cache.available is False

        server = start()  # loads the dump saved at stop: the old values are back
        assert cache.get("session") is None  # still inside the retry pause: no Redis call
        clock[0] += cache_module.RETRY_SECONDS
        with caplog.at_level(logging.WARNING, logger="core.cache"):
            assert cache.get("session") is None
            assert cache.get("menu") is None
        assert cache.available is True
        assert "reachable again" in caplog.text
        cache.set("menu", "new")
        assert cache.get("menu") == "new"
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=5)
