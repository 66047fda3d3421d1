"""A payment that arrives after its items were resold is refunded after the webhook commits,
never under its row locks, exactly once."""

import pytest
from django.utils import timezone

from orders.exceptions import IntegrationError
from orders.models import Checkout, Order, Refund
from orders.payments.local import LocalGateway
from orders.services.checkout import reservations_release_expired
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.gateway_support import assert_refund_retried_once_after_outage
from orders.tests.helpers import start_checkout
from orders.tests.stripe_support import WEBHOOK_SECRET, event, post_event, sign

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def late_checkout(db) -> Checkout:
    """A checkout whose reservation expired and whose item was then bought by someone else."""
    listing = ListingFactory()
    checkout = start_checkout(UserFactory(), [listing])
    Checkout.objects.filter(pk=checkout.pk).update(expires_at=timezone.now())
    reservations_release_expired()
    start_checkout(UserFactory(), [listing])
    return checkout


def success(checkout: Checkout, event_id: str) -> str:
    return event(
        event_id,
        "payment_intent.succeeded",
        {
            "id": "pi_late",
            "object": "payment_intent",
            "status": "succeeded",
            "metadata": {"checkout": str(checkout.public_id)},
        },
    )


def deliver(client, payload: str) -> None:
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200


def refunds_sent(gateway_log: list[dict]) -> list[dict]:
    return [e for e in gateway_log if e["op"] == "refund"]


def test_late_payment_refunded_after_commit_not_inside_webhook(
    client, late_checkout, django_capture_on_commit_callbacks, gateway_log
):
    """Inside the webhook's transaction only a pending Refund is recorded; the gateway is
    called after commit with the refund's idempotency key, and the refund is confirmed."""
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, success(late_checkout, "evt_late"))
        assert refunds_sent(gateway_log) == []
        refund = Refund.objects.get(order__checkout=late_checkout)
        assert refund.status == Refund.Status.PENDING
    order = late_checkout.orders.get()
    assert order.status == Order.Status.CANCELLED
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.amount == order.total
    assert [e["key"] for e in refunds_sent(gateway_log)] == [f"order-{order.pk}-refund-{refund.pk}"]


def test_late_payment_redelivered_or_doubled_refunds_once(
    client, late_checkout, django_capture_on_commit_callbacks, gateway_log
):
    """The replayed event and a second success event for the same payment refund nothing more."""
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, success(late_checkout, "evt_late"))
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, success(late_checkout, "evt_late"))
        completed = event(
            "evt_late_cs",
            "checkout.session.completed",
            {
                "id": late_checkout.gateway_ref,
                "object": "checkout.session",
                "payment_status": "paid",
                "payment_intent": "pi_late",
                "metadata": {"checkout": str(late_checkout.public_id)},
            },
        )
        deliver(client, completed)
    assert len(refunds_sent(gateway_log)) == 1
    assert Refund.objects.filter(order__checkout=late_checkout).count() == 1


def test_failed_late_refund_stays_pending_and_retry_sends_it_once(
    client, late_checkout, monkeypatch, django_capture_on_commit_callbacks, gateway_log
):
    """If the provider is down after commit the refund stays owed; the retry command sends it
    with the same key, and running it again sends nothing."""
    assert_refund_retried_once_after_outage(
        monkeypatch=monkeypatch,
        capture=django_capture_on_commit_callbacks,
        gateway_log=gateway_log,
        pay=lambda: deliver(client, success(late_checkout, "evt_late")),
        refund_of=lambda: Refund.objects.get(order__checkout=late_checkout),
    )


def test_retry_leaves_refunds_older_than_the_idempotency_window_alone(
    client, late_checkout, monkeypatch, django_capture_on_commit_callbacks, gateway_log
):
    """A refund unsent for more than 23 hours is not retried blindly (its key may have expired
    at the provider); it stays pending for staff to check."""
    from datetime import timedelta

    from orders.services.refunds import refunds_retry

    def down(self, **kwargs):
        raise IntegrationError("down")

    with monkeypatch.context() as patch:
        patch.setattr(LocalGateway, "refund", down)
        with django_capture_on_commit_callbacks(execute=True):
            deliver(client, success(late_checkout, "evt_late"))
    assert refunds_retry(now=timezone.now() + timedelta(hours=24)) == (0, 0)
    assert refunds_sent(gateway_log) == []
    assert Refund.objects.get(order__checkout=late_checkout).status == Refund.Status.PENDING
