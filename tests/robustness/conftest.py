"""Fixtures for the scanner-style tests: the world, and the rate limiter off (a scanner is
exactly what the limiter stops)."""

import pytest

from tests.robustness.world import World, build_world


@pytest.fixture(autouse=True)
def _scanner_settings(settings):
    settings.RATELIMIT_ENABLED = False


@pytest.fixture
def world(db) -> World:
    return build_world()
