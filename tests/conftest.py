"""Fixtures shared by the cross-app tests."""

import pytest

from orders.tests.gateway_support import gateway_log  # noqa: F401 (a fixture)
from orders.tests.stripe_support import WEBHOOK_SECRET, FakeStripe


@pytest.fixture
def fake_stripe(settings):
    """The Stripe path switched on, with the SDK pointed at a local fake Stripe API."""
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = "sk_test_threadly"
        settings.STRIPE_API_BASE = fake.url
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        yield fake
