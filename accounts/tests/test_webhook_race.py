"""The same webhook event delivered twice at the same moment is applied once (PostgreSQL)."""

import threading

import pytest
from django.db import connection, connections

from accounts.auth_provider.base import ProviderUser, UserChanged
from accounts.models import AuthWebhookEvent, User
from accounts.services import auth_webhook_event_apply

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

EVENT = UserChanged(
    event_id="msg_race",
    event_type="user.created",
    user=ProviderUser(
        external_id="user_race",
        username="racer",
        primary_email="racer@example.test",
        emails=("racer@example.test",),
        role="seller",
    ),
)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locking and concurrent connections")


def test_concurrent_duplicate_deliveries_apply_once():
    """Two threads applying the same svix-id: exactly one applies, the other sees a duplicate."""
    barrier = threading.Barrier(2)
    results: list[bool] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(auth_webhook_event_apply(event=EVENT))
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(results) == [False, True]
    assert User.objects.filter(external_id="user_race").count() == 1
    assert AuthWebhookEvent.objects.filter(event_id="msg_race").count() == 1
