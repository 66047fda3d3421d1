"""Fixtures every test gets (isolated media files and a clean cache; Django's test set-up
already keeps email in memory: mail.outbox), and the few shared by several apps' tests."""

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache, caches

from accounts.tests.factories import UserFactory
from core import maintenance, metrics
from marketplace.services import view_counts
from messaging.tests.pusher_server import pusher_server  # noqa: F401 (a fixture)
from messaging.tests.realtime_support import participant_check  # noqa: F401 (a fixture)
from orders.tests.gateway_support import gateway_log  # noqa: F401 (a fixture)
from orders.tests.stripe_support import WEBHOOK_SECRET, FakeStripe


def pytest_configure(config) -> None:
    """Parallel workers (pytest-xdist) each get their own Redis database, since every test
    empties the cache. (pytest-django already gives each worker its own test database.)"""
    worker = getattr(config, "workerinput", {}).get("workerid", "")
    location = django_settings.CACHES["default"].get("LOCATION", "")
    if not worker.startswith("gw") or not str(location).startswith("redis"):
        return
    base, _, db = location.rpartition("/")
    number = (int(db) if db.isdigit() else 0) + 1 + int(worker[2:])
    django_settings.CACHES["default"]["LOCATION"] = f"{base}/{number % 16}"
    caches.__dict__.pop("settings", None)  # built lazily; make sure it reads the new location


@pytest.fixture(autouse=True)
def _isolated_media_and_cache(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MAINTENANCE_FLAG_FILE = tmp_path / "maintenance.flag"
    # Factories hash a password per user; the default hasher would be the slowest step.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    cache.clear()
    # Tests see the cache as it is on each request: the maintenance state is read every time
    # and request metrics and listing views are sent at once (the tests of the per-process
    # second and of the buffers set their own intervals); nothing a process remembers leaks
    # between tests.
    monkeypatch.setattr(maintenance, "RECHECK_SECONDS", 0.0)
    monkeypatch.setattr(metrics, "FLUSH_SECONDS", 0.0)
    monkeypatch.setattr(view_counts, "FLUSH_SECONDS", 0.0)
    maintenance.forget()
    metrics.discard_pending()
    view_counts.discard_pending()
    yield
    cache.clear()


@pytest.fixture
def fake_stripe(settings):
    """The Stripe path switched on, with the SDK pointed at a local fake Stripe API."""
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_threadly"
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        yield fake


# The members most tests need, defined once for every app's tests.
@pytest.fixture
def seller(db):
    return UserFactory(is_seller=True)


@pytest.fixture
def buyer(db):
    return UserFactory()


@pytest.fixture
def stranger(db):
    """A member with no relation to the objects under test."""
    return UserFactory()
