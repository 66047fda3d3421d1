"""Disputes: opened and closed by signed webhooks or resolved by staff; no payout while open."""

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.exceptions import IllegalTransition, IntegrationError, NotAllowed
from orders.models import Order, Payout, Refund
from orders.payments.local import LocalGateway
from orders.services import transitions as t
from orders.services.disputes import DisputeOutcome, order_resolve_dispute
from orders.tests.factories import UserFactory
from orders.tests.helpers import paid_order
from orders.tests.stripe_support import WEBHOOK_SECRET, deliver_dispute

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


def ship(order):
    t.order_mark_shipped(order_id=order.pk, actor=order.seller, carrier="DHL", tracking_number="1")


def delivered_unpaid_order(monkeypatch) -> Order:
    """A delivered order whose payout failed (it stays delivered for the retry)."""
    order = paid_order()
    ship(order)

    def fail(self, **kwargs):
        raise IntegrationError("down")

    with monkeypatch.context() as patch:
        patch.setattr(LocalGateway, "transfer", fail)
        t.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
    order.refresh_from_db()
    assert order.status == S.DELIVERED
    return order


def transfers(gateway_log: list[dict]) -> list[dict]:
    return [e for e in gateway_log if e["op"] == "transfer"]


def test_dispute_won_restores_previous_state(client):
    """charge.dispute.closed with status won puts a shipped order back to shipped."""
    order = paid_order()
    ship(order)
    deliver_dispute(client, "evt_1", "charge.dispute.created", order, status="needs_response")
    assert order.status == S.DISPUTED
    deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="won")
    assert order.status == S.SHIPPED
    assert order.events.last().note == "Dispute dp_1 won"


def test_dispute_won_on_delivered_order_completes_after_commit(
    client, monkeypatch, django_capture_on_commit_callbacks, gateway_log
):
    """A won dispute on a delivered order pays the seller once, after the webhook commits."""
    order = delivered_unpaid_order(monkeypatch)
    deliver_dispute(client, "evt_1", "charge.dispute.created", order)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="won")
        assert order.status == S.DELIVERED
        assert transfers(gateway_log) == []
    assert callbacks
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert len(transfers(gateway_log)) == 1
    assert order.payout.amount == order.seller_amount


def test_dispute_lost_ends_refunded_without_payout(
    client, django_capture_on_commit_callbacks, gateway_log
):
    """A lost dispute refunds the order (recorded, no refund call) and nothing is paid out;
    the replayed event changes nothing."""
    order = paid_order()
    ship(order)
    deliver_dispute(client, "evt_1", "charge.dispute.created", order)
    with django_capture_on_commit_callbacks(execute=True):
        deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="lost")
        replay = deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="lost")
    assert replay.json()["replay"] is True
    assert order.status == S.REFUNDED
    refund = order.refunds.get()
    assert (refund.status, refund.amount, refund.reason) == (
        Refund.Status.SUCCEEDED,
        order.total,
        "Dispute dp_1 lost",
    )
    assert not [e for e in gateway_log if e["op"] in ("refund", "transfer")]
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - timedelta(days=60))
    t.orders_auto_complete()
    assert not Payout.objects.exists()


def test_dispute_closed_with_open_status_is_ignored(client):
    """A closed event with a status we don't know leaves the order disputed."""
    order = paid_order()
    deliver_dispute(client, "evt_1", "charge.dispute.created", order)
    deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="under_review")
    assert order.status == S.DISPUTED


def test_auto_complete_never_completes_disputed_delivered_order(monkeypatch, gateway_log):
    """A delivered order whose payout is being retried is not completed once disputed."""
    order = delivered_unpaid_order(monkeypatch)
    t.order_open_dispute(order_id=order.pk)
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - timedelta(days=60))
    assert t.orders_auto_complete() == 0
    order.refresh_from_db()
    assert order.status == S.DISPUTED
    assert transfers(gateway_log) == []
    assert not Payout.objects.exists()


def test_staff_resolves_dispute_by_hand():
    """Staff can resolve a dispute as won (back to paid) with an admin event."""
    order = paid_order()
    t.order_open_dispute(order_id=order.pk)
    staff = UserFactory(is_staff=True)
    order_resolve_dispute(order_id=order.pk, outcome=DisputeOutcome.WON, actor=staff)
    order.refresh_from_db()
    assert order.status == S.PAID
    assert (order.events.last().role, order.events.last().actor) == ("admin", staff)


@pytest.mark.parametrize("who", ["buyer", "seller", "stranger"])
def test_only_staff_resolve_disputes(who):
    """Buyer, seller and strangers can't resolve a dispute; nothing changes."""
    order = paid_order()
    t.order_open_dispute(order_id=order.pk)
    actor = {"buyer": order.buyer, "seller": order.seller, "stranger": UserFactory()}[who]
    with pytest.raises(NotAllowed):
        order_resolve_dispute(order_id=order.pk, outcome=DisputeOutcome.LOST, actor=actor)
    order.refresh_from_db()
    assert order.status == S.DISPUTED
    assert not order.refunds.exists()


def test_resolving_an_undisputed_order_is_illegal():
    """Only a disputed order can be resolved."""
    order = paid_order()
    with pytest.raises(IllegalTransition):
        order_resolve_dispute(
            order_id=order.pk, outcome=DisputeOutcome.LOST, actor=UserFactory(is_staff=True)
        )
    order.refresh_from_db()
    assert order.status == S.PAID


def test_admin_actions_resolve_disputes(client):
    """The admin's dispute actions resolve each selected disputed order."""
    from django.contrib.messages import get_messages
    from django.urls import reverse

    won, lost = paid_order(), paid_order()
    for order in (won, lost):
        t.order_open_dispute(order_id=order.pk)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    url = reverse("admin:orders_order_changelist")
    client.post(url, {"action": "resolve_dispute_won", "_selected_action": [won.pk]})
    response = client.post(url, {"action": "resolve_dispute_lost", "_selected_action": [lost.pk]})
    won.refresh_from_db()
    lost.refresh_from_db()
    assert (won.status, lost.status) == (S.PAID, S.REFUNDED)
    assert [m.level_tag for m in get_messages(response.wsgi_request)] == ["success", "success"]


def test_dispute_after_completion_lost_reverses_payout(
    client, django_capture_on_commit_callbacks, gateway_log
):
    """A chargeback on a completed order: while open nothing moves; lost, the seller's
    transfer is reversed after commit, once, with the order's reversal key."""
    order = paid_order()
    ship(order)
    t.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
    deliver_dispute(client, "evt_1", "charge.dispute.created", order)
    assert order.status == S.DISPUTED
    with django_capture_on_commit_callbacks(execute=True):
        deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="lost")
        assert not [e for e in gateway_log if e["op"] == "reversal"]
    assert order.status == S.REFUNDED
    reversals = [e for e in gateway_log if e["op"] == "reversal"]
    assert [e["key"] for e in reversals] == [f"order-{order.pk}-transfer-reversal"]
    payout = Payout.objects.get(order=order)
    assert (payout.status, payout.reversal_ref) == (
        Payout.Status.REVERSED,
        f"local_trr_order-{order.pk}-transfer-reversal",
    )
    from django.core.management import call_command

    call_command("retry_refunds")
    assert len([e for e in gateway_log if e["op"] == "reversal"]) == 1


def test_dispute_after_completion_won_returns_to_completed(client, gateway_log):
    """A won chargeback on a completed order puts it back to completed; no second transfer."""
    order = paid_order()
    ship(order)
    t.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
    deliver_dispute(client, "evt_1", "charge.dispute.created", order)
    deliver_dispute(client, "evt_2", "charge.dispute.closed", order, status="won")
    assert order.status == S.COMPLETED
    assert len(transfers(gateway_log)) == 1


def test_failed_reversal_is_retried_by_command(client, monkeypatch):
    """If the reversal fails after a lost dispute, retry_refunds reverses the payout later."""
    from django.core.management import call_command

    order = paid_order()
    ship(order)
    t.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
    t.order_open_dispute(order_id=order.pk)

    def down(self, **kwargs):
        raise IntegrationError("down")

    with monkeypatch.context() as patch:
        patch.setattr(LocalGateway, "reverse_transfer", down)
        order_resolve_dispute(
            order_id=order.pk, outcome=DisputeOutcome.LOST, actor=UserFactory(is_staff=True)
        )
    assert Payout.objects.get(order=order).status == Payout.Status.PAID
    call_command("retry_refunds")
    assert Payout.objects.get(order=order).status == Payout.Status.REVERSED


def test_payout_recorded_when_dispute_lands_during_transfer(monkeypatch, gateway_log):
    """A dispute opened while the seller's transfer is in flight: the transfer is recorded,
    the order stays disputed, and a later completion attempt never transfers again."""
    order = delivered_unpaid_order(monkeypatch)
    real_transfer = LocalGateway.transfer

    def transfer_then_dispute(self, **kwargs):
        result = real_transfer(self, **kwargs)
        t.order_open_dispute(order_id=order.pk)
        return result

    monkeypatch.setattr(LocalGateway, "transfer", transfer_then_dispute)
    with pytest.raises(IllegalTransition):
        t.order_complete(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == S.DISPUTED
    assert Payout.objects.get(order=order).amount == order.seller_amount
    monkeypatch.setattr(LocalGateway, "transfer", real_transfer)
    order_resolve_dispute(
        order_id=order.pk, outcome=DisputeOutcome.WON, actor=UserFactory(is_staff=True)
    )
    t.order_complete(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert len(transfers(gateway_log)) == 1
