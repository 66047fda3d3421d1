"""Fixtures every test gets (isolated media files and a clean cache; Django's test set-up
already keeps email in memory: mail.outbox), and the few shared by several apps' tests."""

import pytest
from django.core.cache import cache

from orders.tests.gateway_support import gateway_log  # noqa: F401 (a fixture)
from orders.tests.stripe_support import WEBHOOK_SECRET, FakeStripe


@pytest.fixture(autouse=True)
def _isolated_media_and_cache(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    # Factories hash a password per user; the default hasher would be the slowest step.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    cache.clear()
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
