"""Staff refund, cancel and resolve disputes from Django admin and the order page."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from core.models import AuditLog
from orders.models import Order, Refund
from orders.payments.base import RefundResult
from orders.payments.local import LocalGateway
from orders.services import refunds
from orders.services import transitions as t
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.helpers import paid_order, start_checkout

pytestmark = pytest.mark.django_db
S = Order.Status


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


def run_action(client, action, orders):
    response = client.post(
        reverse("admin:orders_order_changelist"),
        {"action": action, "_selected_action": [o.pk for o in orders]},
    )
    assert response.status_code == 302
    return messages_of(response)


def refunds_sent(gateway_log: list[dict]) -> list[dict]:
    return [e for e in gateway_log if e["op"] == "refund"]


def test_admin_refund_action_refunds_and_reports_per_order(staff_client, staff, gateway_log):
    """The refund action refunds a paid order through the gateway (audited, staff as actor)
    and reports the domain error for an order that can't be refunded, changing nothing."""
    order = paid_order()
    pending = start_checkout(UserFactory(), [ListingFactory()]).orders.get()
    messages = run_action(staff_client, "refund_orders", [order, pending])
    order.refresh_from_db()
    pending.refresh_from_db()
    assert (order.status, pending.status) == (S.REFUNDED, S.PENDING_PAYMENT)
    assert ("success", f"Order #{order.pk}: refunded.") in messages
    assert (
        "error",
        f"Order #{pending.pk}: Order #{pending.pk} is waiting for payment; it can't be refunded.",
    ) in messages
    assert len(refunds_sent(gateway_log)) == 1
    assert order.events.last().role == "admin"
    for action in ("order.refund_requested", "order.refunded"):
        assert AuditLog.objects.filter(action=action, target_id=str(order.pk), actor=staff).exists()


def test_admin_refund_waits_for_gateway_confirmation(staff_client, monkeypatch):
    """When the gateway answers "pending", the order stays paid and the message says so."""
    monkeypatch.setattr(LocalGateway, "refund", lambda self, **kw: RefundResult("re_p", False))
    order = paid_order()
    messages = run_action(staff_client, "refund_orders", [order])
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.refunds.get().status == Refund.Status.PENDING
    assert messages[0][0] == "success"
    assert "when the payment provider confirms" in messages[0][1]


def test_admin_cancel_action_cancels_paid_and_refuses_shipped(staff_client):
    """Cancel works before shipping (refund + restock) and is refused once shipped."""
    order = paid_order()
    shipped = paid_order()
    t.order_mark_shipped(
        order_id=shipped.pk, actor=shipped.seller, carrier="DHL", tracking_number="1"
    )
    messages = run_action(staff_client, "cancel_orders", [order, shipped])
    order.refresh_from_db()
    shipped.refresh_from_db()
    assert (order.status, shipped.status) == (S.CANCELLED, S.SHIPPED)
    assert ("success", f"Order #{order.pk}: cancelled.") in messages
    assert [level for level, text in messages if text.startswith(f"Order #{shipped.pk}")] == [
        "error"
    ]


def test_change_page_shows_buttons_and_refund_button_works(staff_client):
    """The order change page offers the operations; its refund button refunds the order."""
    order = paid_order()
    page = staff_client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert b'name="operation" value="refund"' in page.content
    url = reverse("admin:orders_order_operate", args=[order.pk])
    response = staff_client.post(url, {"operation": "refund"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:orders_order_change", args=[order.pk])
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert staff_client.post(url, {"operation": "delete_everything"}).status_code == 403
    assert staff_client.get(url).status_code == 403


def test_change_page_operation_needs_staff(client):
    """A signed-in non-staff member can't use the admin operation URL; nothing changes."""
    order = paid_order()
    client.force_login(order.seller)
    response = client.post(
        reverse("admin:orders_order_operate", args=[order.pk]), {"operation": "refund"}
    )
    assert response.status_code == 302
    assert "login" in response["Location"]
    order.refresh_from_db()
    assert order.status == S.PAID


def test_staff_sees_and_uses_refund_and_cancel_on_order_page(staff_client):
    """Staff see refund and cancel on someone else's paid order and can refund from there."""
    order = paid_order()
    page = staff_client.get(order.get_absolute_url())
    assert reverse("orders:order_refund", args=[order.pk]).encode() in page.content
    assert reverse("orders:order_cancel", args=[order.pk]).encode() in page.content
    staff_client.post(reverse("orders:order_refund", args=[order.pk]), {"reason": "Fraud"})
    order.refresh_from_db()
    assert order.status == S.REFUNDED


def test_seller_sees_refund_buyer_does_not(client):
    """The refund form is shown to the seller, not to the buyer."""
    order = paid_order()
    refund_url = reverse("orders:order_refund", args=[order.pk]).encode()
    client.force_login(order.seller)
    assert refund_url in client.get(order.get_absolute_url()).content
    client.force_login(order.buyer)
    assert refund_url not in client.get(order.get_absolute_url()).content


def test_money_records_are_read_only_in_admin(staff_client):
    """Staff can view orders, checkouts, refunds and payouts but not add, edit or delete them
    by hand: money only moves through the services."""
    order = paid_order()
    refunds.order_refund(order_id=order.pk, actor=order.seller)
    refund = Refund.objects.get(order=order)
    for model in ("order", "checkout", "refund", "payout", "paymentevent", "sellerpaymentaccount"):
        assert staff_client.get(reverse(f"admin:orders_{model}_changelist")).status_code == 200
        assert staff_client.get(reverse(f"admin:orders_{model}_add")).status_code == 403
    assert (
        staff_client.post(
            reverse("admin:orders_refund_change", args=[refund.pk]), {"status": "failed"}
        ).status_code
        == 403
    )
    assert (
        staff_client.post(
            reverse("admin:orders_order_delete", args=[order.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert Order.objects.filter(pk=order.pk).exists()
