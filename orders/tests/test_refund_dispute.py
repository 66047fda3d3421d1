"""A refund and a dispute on the same order never pay the buyer back twice."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from core.models import AuditLog
from orders.exceptions import IllegalTransition
from orders.models import Checkout, Order, Refund
from orders.services.disputes import DisputeOutcome, order_resolve_dispute
from orders.services.refunds import order_refund
from orders.services.transitions import order_open_dispute
from orders.tests.helpers import paid_order
from orders.tests.stripe_support import WEBHOOK_SECRET, deliver_dispute, event, post_event, sign

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


def refunds_sent(gateway_log: list[dict]) -> list[dict]:
    return [e for e in gateway_log if e["op"] == "refund"]


def deliver(client, event_id: str, event_type: str, obj: dict) -> None:
    payload = event(event_id, event_type, obj)
    assert post_event(client, payload, HTTP_STRIPE_SIGNATURE=sign(payload)).status_code == 200


def queued_refund(order: Order, gateway_ref: str = "") -> Refund:
    """A refund recorded but not yet confirmed (unsent and queued for retry_refunds, or sent
    and still pending at the provider when `gateway_ref` is set)."""
    return Refund.objects.create(
        order=order, amount=order.total, currency=order.currency, gateway_ref=gateway_ref
    )


def test_lost_dispute_supersedes_queued_refund_so_retry_never_sends_it(
    client, django_capture_on_commit_callbacks, gateway_log
):
    """A refund queued for retry is never sent once the dispute is lost; it is superseded and
    audited, and the order keeps exactly one succeeded refund (the bank's)."""
    order = paid_order()
    refund = queued_refund(order)
    deliver_dispute(client, "evt_1", "charge.dispute.created", order, status="needs_response")
    with django_capture_on_commit_callbacks(execute=True):
        deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="lost")
        call_command("retry_refunds")
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUPERSEDED
    assert order.status == S.REFUNDED
    assert refunds_sent(gateway_log) == []
    assert order.refunds.filter(status=Refund.Status.SUCCEEDED).count() == 1
    assert AuditLog.objects.filter(action="order.refund_superseded").count() == 1


def test_queued_refund_is_held_while_the_dispute_is_open(
    client, django_capture_on_commit_callbacks, gateway_log
):
    """retry_refunds does not send a pending refund while the order's dispute is open, so a
    lost dispute afterwards is still applied (and pays the buyer only once)."""
    order = paid_order()
    refund = queued_refund(order)
    order_open_dispute(order_id=order.pk, note="Dispute dp_1")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("retry_refunds")
    refund.refresh_from_db()
    assert (refund.status, refunds_sent(gateway_log)) == (Refund.Status.PENDING, [])
    order_resolve_dispute(order_id=order.pk, outcome=DisputeOutcome.LOST)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("retry_refunds")
    refund.refresh_from_db()
    order.refresh_from_db()
    assert (order.status, refund.status) == (S.REFUNDED, Refund.Status.SUPERSEDED)
    assert refunds_sent(gateway_log) == []


def test_queued_refund_is_sent_after_a_won_dispute(
    client, django_capture_on_commit_callbacks, gateway_log
):
    """A held refund goes out once the dispute is won (the buyer still has their money owed)."""
    order = paid_order()
    refund = queued_refund(order)
    order_open_dispute(order_id=order.pk)
    order_resolve_dispute(order_id=order.pk, outcome=DisputeOutcome.WON)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("retry_refunds")
    refund.refresh_from_db()
    order.refresh_from_db()
    assert (order.status, refund.status) == (S.REFUNDED, Refund.Status.SUCCEEDED)
    assert len(refunds_sent(gateway_log)) == 1


def test_provider_confirmation_of_superseded_refund_is_ignored(client):
    """charge.refunded for a refund superseded by a lost dispute changes nothing, and is
    audited for staff."""
    order = paid_order()
    refund = queued_refund(order, gateway_ref="re_pending")
    deliver_dispute(client, "evt_1", "charge.dispute.created", order)
    deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="lost")
    intent = Checkout.objects.get(pk=order.checkout_id).payment_intent_ref
    deliver(
        client,
        "evt_3",
        "charge.refunded",
        {
            "id": "ch_1",
            "object": "charge",
            "payment_intent": intent,
            "refunded": True,
            "refunds": {
                "data": [
                    {"id": "re_pending", "status": "succeeded", "metadata": {"refund": refund.pk}}
                ]
            },
        },
    )
    refund.refresh_from_db()
    order.refresh_from_db()
    assert refund.status == Refund.Status.SUPERSEDED
    assert order.status == S.REFUNDED
    assert order.refunds.filter(status=Refund.Status.SUCCEEDED).count() == 1
    assert AuditLog.objects.filter(action="order.refund_confirmation_ignored").exists()


def test_refund_cannot_start_while_a_dispute_is_open(gateway_log):
    """Seller or staff can't start a refund on a disputed order; nothing is recorded or sent."""
    order = paid_order()
    order_open_dispute(order_id=order.pk)
    with pytest.raises(IllegalTransition, match="open dispute"):
        order_refund(order_id=order.pk, actor=order.seller, reason="Changed my mind")
    assert not order.refunds.exists()
    assert refunds_sent(gateway_log) == []


def test_order_page_offers_no_refund_while_disputed(client):
    """The seller's order page hides Refund while the dispute is open."""
    order = paid_order()
    order_open_dispute(order_id=order.pk)
    client.force_login(order.seller)
    response = client.get(reverse("orders:order_detail", args=[order.pk]))
    assert response.status_code == 200
    assert "refund" not in response.context["actions"]
    assert "Refund buyer" not in response.text


def test_refund_confirmed_then_dispute_lost_keeps_one_refund(client, gateway_log):
    """Refund first, dispute lost later: the order stays refunded with one Refund record."""
    order = paid_order()
    refund = order_refund(order_id=order.pk, actor=order.seller, reason="Damaged")
    assert refund.status == Refund.Status.SUCCEEDED
    deliver_dispute(client, "evt_1", "charge.dispute.created", order)
    deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="lost")
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert list(order.refunds.values_list("pk", flat=True)) == [refund.pk]
    assert len(refunds_sent(gateway_log)) == 1
    assert not order.events.filter(to_status=S.DISPUTED).exists()
