"""Fixtures shared by the cross-app tests."""

import socket
from collections.abc import Iterator

import pytest

from core import cache as cache_module
from core import ratelimit
from ops import health


@pytest.fixture
def dead_redis(settings) -> Iterator[None]:
    """The default cache is core.cache's backend pointed at a port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        settings.CACHES = {
            "default": {
                "BACKEND": "core.cache.ResilientRedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
            }
        }
        yield
    cache_module._outages.clear()
    ratelimit._local_counts.clear()
    health._last_checks = None
