from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from core.models import AuditLog
from marketplace.models import Listing
from orders.exceptions import IllegalTransition, NotAllowed
from orders.models import Order, Payout, Refund
from orders.payments.local import LocalGateway
from orders.services import payment, refunds
from orders.services import transitions as t
from orders.tests.factories import UserFactory
from orders.tests.helpers import paid_order, start_checkout

pytestmark = pytest.mark.django_db
S = Order.Status


def ship(order):
    return t.order_mark_shipped(
        order_id=order.pk, actor=order.seller, carrier="DHL", tracking_number="JD0001"
    )


def admin():
    return UserFactory(is_staff=True)


def test_seller_ships_paid_order(django_capture_on_commit_callbacks):
    """The seller marks a paid order shipped with tracking; event, audit and email follow."""
    order = paid_order()
    with django_capture_on_commit_callbacks(execute=True):
        ship(order)
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == (S.SHIPPED, "DHL", "JD0001")
    event = order.events.last()
    assert (event.role, event.actor, event.from_status) == ("seller", order.seller, "paid")
    assert AuditLog.objects.filter(action="order.shipped", target_id=str(order.pk)).exists()
    assert mail.outbox[-1].to == [order.buyer.email]
    assert "JD0001" in mail.outbox[-1].body


@pytest.mark.parametrize("who", ["buyer", "stranger", "admin"])
def test_only_seller_can_ship(who):
    """Buyer, stranger and admin can't mark an order shipped; nothing changes."""
    order = paid_order()
    actor = {"buyer": order.buyer, "stranger": UserFactory(), "admin": admin()}[who]
    with pytest.raises(NotAllowed):
        t.order_mark_shipped(order_id=order.pk, actor=actor, carrier="DHL", tracking_number="1")
    order.refresh_from_db()
    assert order.status == S.PAID


def test_ship_requires_tracking():
    """Shipping without a tracking number is refused."""
    order = paid_order()
    with pytest.raises(IllegalTransition, match="tracking"):
        t.order_mark_shipped(
            order_id=order.pk, actor=order.seller, carrier="DHL", tracking_number=" "
        )


def test_cannot_ship_twice():
    """Shipping a shipped order is an illegal transition and writes no event."""
    order = paid_order()
    ship(order)
    events = order.events.count()
    with pytest.raises(IllegalTransition, match="shipped"):
        ship(order)
    assert order.events.count() == events


def test_cannot_ship_unpaid_order(buyer):
    """A pending-payment order can't be shipped."""
    from orders.tests.factories import ListingFactory

    checkout = start_checkout(buyer, [ListingFactory()])
    order = checkout.orders.get()
    with pytest.raises(IllegalTransition):
        ship(order)


def test_buyer_confirms_delivery_and_seller_is_paid_share(
    django_capture_on_commit_callbacks, gateway_log
):
    """Confirming receipt completes the order and transfers item+shipping minus 5%."""
    order = paid_order(price=Decimal("19.99"), shipping_price=Decimal("3.95"))
    ship(order)
    with django_capture_on_commit_callbacks(execute=True):
        t.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
    order.refresh_from_db()
    assert order.status == S.COMPLETED
    assert order.platform_fee == Decimal("1.00")  # 0.9995 -> 1.00
    assert order.payout.amount == Decimal("22.94") == Decimal("19.99") + Decimal("3.95") - 1
    transfers = [e for e in gateway_log if e["op"] == "transfer"]
    assert [(e["amount"], e["key"]) for e in transfers] == [
        (Decimal("22.94"), f"order-{order.pk}-transfer")
    ]
    assert list(order.events.values_list("to_status", flat=True)) == [
        "pending_payment",
        "paid",
        "shipped",
        "delivered",
        "completed",
    ]
    assert any(m.to == [order.seller.email] and "delivered" in m.subject for m in mail.outbox)


@pytest.mark.parametrize("who", ["seller", "stranger"])
def test_only_buyer_confirms_delivery(who):
    """The seller or a stranger can't confirm delivery."""
    order = paid_order()
    ship(order)
    actor = order.seller if who == "seller" else UserFactory()
    with pytest.raises(NotAllowed):
        t.order_confirm_delivery(order_id=order.pk, actor=actor)
    order.refresh_from_db()
    assert order.status == S.SHIPPED


def test_confirm_delivery_before_shipping_is_illegal():
    """A paid, unshipped order can't be confirmed delivered; no payout."""
    order = paid_order()
    with pytest.raises(IllegalTransition):
        t.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
    assert not Payout.objects.exists()


def test_complete_twice_pays_once():
    """Completing an already completed order is refused and pays nothing more."""
    order = paid_order()
    ship(order)
    t.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
    with pytest.raises(IllegalTransition):
        t.order_complete(order_id=order.pk)
    assert Payout.objects.filter(order=order).count() == 1


def test_auto_complete_after_days(settings):
    """Orders shipped ORDER_AUTO_COMPLETE_DAYS ago complete automatically; newer ones wait."""
    settings.ORDER_AUTO_COMPLETE_DAYS = 7
    old, new = paid_order(), paid_order()
    ship(old)
    ship(new)
    Order.objects.filter(pk=old.pk).update(shipped_at=timezone.now() - timedelta(days=8))
    call_command("complete_orders", stdout=open("/dev/null", "w"))  # noqa: SIM115
    old.refresh_from_db()
    new.refresh_from_db()
    assert old.status == S.COMPLETED
    assert new.status == S.SHIPPED
    assert old.events.filter(role="system", to_status="delivered").exists()


def test_disputed_order_not_auto_completed(settings):
    """An order under dispute is not completed or paid out."""
    order = paid_order()
    ship(order)
    t.order_open_dispute(order_id=order.pk)
    Order.objects.filter(pk=order.pk).update(shipped_at=timezone.now() - timedelta(days=30))
    t.orders_auto_complete()
    order.refresh_from_db()
    assert order.status == S.DISPUTED
    assert not Payout.objects.exists()


def test_buyer_cancels_paid_order_refund_and_restock(gateway_log):
    """Cancelling before shipping refunds through the gateway and puts the item back."""
    order = paid_order()
    payment.order_cancel(order_id=order.pk, actor=order.buyer)
    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert order.refunds.get().status == Refund.Status.SUCCEEDED
    listing = Listing.objects.get(pk=order.items.get().listing_id)
    assert (listing.status, listing.quantity) == (Listing.Status.ACTIVE, 1)
    assert [e["op"] for e in gateway_log].count("refund") == 1


def test_buyer_cancels_pending_order_releases_checkout(buyer):
    """Cancelling while waiting for payment abandons the checkout and frees the stock."""
    from orders.tests.factories import ListingFactory

    listing = ListingFactory()
    order = start_checkout(buyer, [listing]).orders.get()
    payment.order_cancel(order_id=order.pk, actor=buyer)
    order.refresh_from_db()
    listing.refresh_from_db()
    assert order.status == S.CANCELLED
    assert listing.status == Listing.Status.ACTIVE


def test_cannot_cancel_shipped_order():
    """After shipping, cancel is illegal (refund is the way)."""
    order = paid_order()
    ship(order)
    with pytest.raises(IllegalTransition):
        payment.order_cancel(order_id=order.pk, actor=order.buyer)


def test_stranger_cannot_cancel():
    """Someone else's order can't be cancelled."""
    order = paid_order()
    with pytest.raises(NotAllowed):
        payment.order_cancel(order_id=order.pk, actor=UserFactory())


def test_seller_refunds_shipped_order_no_reversal(gateway_log):
    """A refund before completion refunds the buyer; no transfer to reverse."""
    order = paid_order()
    ship(order)
    refunds.order_refund(order_id=order.pk, actor=order.seller, reason="Lost in post")
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    ops = [e["op"] for e in gateway_log]
    assert "refund" in ops
    assert "reversal" not in ops


def test_admin_refunds_completed_order_reverses_transfer(gateway_log):
    """A refund after completion reverses the seller's transfer first."""
    order = paid_order()
    ship(order)
    t.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
    refunds.order_refund(order_id=order.pk, actor=admin(), reason="Counterfeit")
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert order.payout.status == Payout.Status.REVERSED
    reversal = [e for e in gateway_log if e["op"] == "reversal"]
    assert reversal[0]["amount"] == order.seller_amount


def test_buyer_cannot_refund():
    """The buyer can't refund their own order (they cancel or dispute)."""
    order = paid_order()
    with pytest.raises(NotAllowed):
        refunds.order_refund(order_id=order.pk, actor=order.buyer)


def test_refund_twice_is_illegal():
    """A refunded order can't be refunded again."""
    order = paid_order()
    refunds.order_refund(order_id=order.pk, actor=order.seller)
    with pytest.raises(IllegalTransition):
        refunds.order_refund(order_id=order.pk, actor=order.seller)
    assert Refund.objects.filter(order=order).count() == 1


def test_refund_waits_for_gateway_confirmation(monkeypatch):
    """When the gateway answers 'pending', the order only changes on confirmation."""
    from orders.payments.base import RefundResult

    monkeypatch.setattr(LocalGateway, "refund", lambda self, **kw: RefundResult("re_1", False))
    order = paid_order()
    refund = refunds.order_refund(order_id=order.pk, actor=order.seller)
    order.refresh_from_db()
    assert (order.status, refund.status) == (S.PAID, Refund.Status.PENDING)
    refunds.refund_confirm(refund_id=refund.pk, gateway_ref="re_1")
    refunds.refund_confirm(refund_id=refund.pk, gateway_ref="re_1")
    order.refresh_from_db()
    assert order.status == S.REFUNDED
    assert order.events.filter(to_status="refunded").count() == 1


def test_dispute_from_cancelled_or_refunded_is_illegal():
    """Only an order whose money is with Threadly or the seller can be disputed."""
    order = paid_order()
    payment.order_cancel(order_id=order.pk, actor=order.buyer)
    with pytest.raises(IllegalTransition):
        t.order_open_dispute(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == S.CANCELLED


def test_order_actions_match_what_the_services_allow():
    """Each role is offered exactly the actions its transition service accepts, per state."""
    order = paid_order()
    staff, stranger = UserFactory(is_staff=True), UserFactory()
    assert t.order_actions(order, order.seller) == {"ship", "cancel", "refund"}
    assert t.order_actions(order, order.buyer) == {"cancel"}
    assert t.order_actions(order, staff) == {"cancel", "refund"}
    assert t.order_actions(order, stranger) == frozenset()

    t.order_mark_shipped(order_id=order.pk, actor=order.seller, carrier="DHL", tracking_number="1")
    order.refresh_from_db()
    assert t.order_actions(order, order.buyer) == {"confirm_delivery"}
    assert t.order_actions(order, order.seller) == {"refund"}
    with pytest.raises(NotAllowed):
        t.order_confirm_delivery(order_id=order.pk, actor=order.seller)
    t.order_confirm_delivery(order_id=order.pk, actor=order.buyer)
