"""Orders tell the conversation what happened (core.events), and stored messages are
published to the realtime backend after commit, never lost or repeated by a failure."""

import logging

import pytest

from core.events import listing_thread_event
from messaging.models import Conversation, Message
from messaging.services import message_deliver, message_send, system_line_post
from orders.services.payment import checkout_mark_paid
from orders.services.transitions import order_confirm_delivery, order_mark_shipped
from orders.tests.factories import ListingFactory
from orders.tests.helpers import start_checkout

pytestmark = pytest.mark.django_db


def _pay(buyer, listing, capture):
    checkout = start_checkout(buyer, [listing])
    with capture(execute=True):
        checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
    return checkout.orders.get()


def test_order_paid_adds_a_system_line_to_a_new_conversation(
    buyer, seller, django_capture_on_commit_callbacks
):
    """Paying for an item opens the buyer-seller thread with "Order #N was paid."."""
    listing = ListingFactory(seller=seller)
    order = _pay(buyer, listing, django_capture_on_commit_callbacks)
    conversation = Conversation.objects.get(listing=listing, buyer=buyer)
    (line,) = conversation.messages.all()
    assert (line.kind, line.sender_id, line.event) == ("system", None, "order_paid")
    assert line.body == f"Order #{order.pk} was paid."
    assert conversation.last_message_id == line.pk


def test_order_shipped_and_delivered_add_lines_to_the_existing_conversation(
    buyer, seller, django_capture_on_commit_callbacks
):
    """Shipping and delivery land in the same conversation the buyer already had."""
    listing = ListingFactory(seller=seller)
    existing = Conversation.objects.create(listing=listing, buyer=buyer, seller=seller)
    order = _pay(buyer, listing, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_mark_shipped(order_id=order.pk, actor=seller, carrier="DHL", tracking_number="T1")
    with django_capture_on_commit_callbacks(execute=True):
        order_confirm_delivery(order_id=order.pk, actor=buyer)
    events = list(existing.messages.values_list("event", "body"))
    assert events == [
        ("order_paid", f"Order #{order.pk} was paid."),
        ("order_shipped", f"Order #{order.pk} was shipped (DHL, tracking T1)."),
        ("order_delivered", f"Order #{order.pk} was delivered."),
    ]
    assert Conversation.objects.count() == 1


def test_system_lines_count_as_unread_for_both_members(buyer, seller, listing):
    """A system line is news for the buyer and for the seller."""
    from messaging.selectors import unread_total

    system_line_post(
        listing_id=listing.pk, buyer_id=buyer.pk, seller_id=seller.pk, kind="x", text="Hi"
    )
    assert unread_total(user=buyer) == unread_total(user=seller) == 1


def test_system_line_for_a_missing_listing_or_the_same_member_is_skipped(buyer, listing):
    """Nonsense events are logged and dropped; the receiver never raises."""
    assert (
        system_line_post(listing_id=999_999, buyer_id=buyer.pk, seller_id=2, kind="k", text="t")
        is None
    )
    assert (
        system_line_post(
            listing_id=listing.pk, buyer_id=buyer.pk, seller_id=buyer.pk, kind="k", text="t"
        )
        is None
    )
    listing_thread_event.send(
        sender="test", listing_id="nope", buyer_id=None, seller_id=None, kind="k", text="t"
    )
    assert not Message.objects.exists()


def test_deliver_publishes_message_and_unread_events_after_commit(
    buyer, seller, conversation, fake_realtime, django_capture_on_commit_callbacks
):
    """After commit: "message" to the conversation and the recipient's channel (ids only,
    no text), then the recipient's unread count to their channel."""
    with django_capture_on_commit_callbacks(execute=True):
        message = message_send(sender=buyer, conversation_id=conversation.pk, body="secret text")
    assert fake_realtime.published == [
        {
            "channels": [
                f"private-conversation-{conversation.pk}",
                f"private-user-{seller.pk}",
            ],
            "event": "message",
            "data": {"conversation_id": conversation.pk, "message_id": message.pk},
        },
        {"channels": [f"private-user-{seller.pk}"], "event": "unread", "data": {"count": 1}},
    ]
    assert "secret text" not in repr(fake_realtime.published)


def test_nothing_is_published_before_commit(buyer, conversation, fake_realtime):
    """Inside the transaction nothing leaves: a rollback can't announce a ghost message."""
    message_send(sender=buyer, conversation_id=conversation.pk, body="hello")
    assert fake_realtime.published == []


def test_a_failing_publish_keeps_the_message_once_and_is_logged(
    buyer, conversation, fake_realtime, django_capture_on_commit_callbacks, caplog
):
    """The realtime service down: the message is stored once, the failure logged."""
    fake_realtime.fail = True
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        message = message_send(sender=buyer, conversation_id=conversation.pk, body="hello")
    assert Message.objects.filter(pk=message.pk).count() == 1
    assert Message.objects.count() == 1
    assert "realtime publish" in caplog.text
    assert message_deliver(message_id=message.pk) is False  # a retry is harmless too


def test_deliver_is_safe_to_run_twice_and_for_a_missing_message(buyer, conversation, fake_realtime):
    """Running the task again publishes again (pages just poll once more), writes nothing."""
    message = message_send(sender=buyer, conversation_id=conversation.pk, body="hello")
    assert message_deliver(message_id=message.pk) is True
    assert message_deliver(message_id=message.pk) is True
    assert len([p for p in fake_realtime.published if p["event"] == "message"]) == 2
    assert message_deliver(message_id=999_999) is False
    assert Message.objects.count() == 1


def test_reading_publishes_the_readers_new_unread_count(
    buyer, seller, conversation, fake_realtime, django_capture_on_commit_callbacks
):
    """The badge in the reader's other tabs drops to 0."""
    from messaging.services import conversation_mark_read

    message_send(sender=buyer, conversation_id=conversation.pk, body="hello")
    conversation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        conversation_mark_read(user=seller, conversation=conversation)
    assert fake_realtime.published[-1] == {
        "channels": [f"private-user-{seller.pk}"],
        "event": "unread",
        "data": {"count": 0},
    }
