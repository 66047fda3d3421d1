"""The unread-messages email: batched per member, never twice, opt-out respected."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.models import EmailKind
from accounts.services import email_opt_out
from marketplace.tests.factories import ListingFactory
from messaging.models import Conversation, Message
from messaging.services import (
    conversation_mark_read,
    conversation_start,
    message_send,
    messages_notify_unread,
)

pytestmark = pytest.mark.django_db


def _age(minutes: int) -> None:
    Message.objects.update(created_at=timezone.now() - timedelta(minutes=minutes))


def _notify(capture) -> int:
    with capture(execute=True):
        return messages_notify_unread()


@pytest.fixture
def two_threads(buyer, seller):
    """The seller has one unread message in each of two conversations (two buyers)."""
    other_buyer = type(buyer).objects.create_user(
        username="second", email="second@example.test", password="x"
    )
    threads = []
    for member in (buyer, other_buyer):
        conversation = conversation_start(buyer=member, listing_id=ListingFactory(seller=seller).pk)
        message_send(sender=member, conversation_id=conversation.pk, body=f"Hi from {member}")
        threads.append(conversation)
    return threads


def test_two_unread_threads_make_one_email_and_never_again(
    seller, two_threads, django_capture_on_commit_callbacks
):
    """Two messages in two threads, 10+ minutes unread: one email naming both; a second
    run sends nothing."""
    _age(11)
    assert _notify(django_capture_on_commit_callbacks) == 1
    (email,) = mail.outbox
    assert email.to == [seller.email]
    assert "2 unread messages" in email.subject
    for conversation in two_threads:
        assert conversation.get_absolute_url() in email.body
    assert "Hi from second" in email.body
    assert "List-Unsubscribe" in email.extra_headers
    assert _notify(django_capture_on_commit_callbacks) == 0
    assert len(mail.outbox) == 1


def test_a_later_message_gets_its_own_email(
    buyer, seller, two_threads, django_capture_on_commit_callbacks
):
    """After an email, only newer unread messages bring another one."""
    _age(11)
    _notify(django_capture_on_commit_callbacks)
    message_send(sender=buyer, conversation_id=two_threads[0].pk, body="Any news?")
    Message.objects.filter(body="Any news?").update(
        created_at=timezone.now() - timedelta(minutes=11)
    )
    assert _notify(django_capture_on_commit_callbacks) == 1
    assert "1 unread message " in mail.outbox[-1].subject
    assert "Any news?" in mail.outbox[-1].body
    assert "Hi from second" not in mail.outbox[-1].body


def test_messages_younger_than_the_delay_or_read_are_not_emailed(
    seller, two_threads, django_capture_on_commit_callbacks
):
    """Under 10 minutes old: wait. Read in time: nothing to say."""
    _age(5)
    assert _notify(django_capture_on_commit_callbacks) == 0
    _age(11)
    for conversation in Conversation.objects.all():
        conversation_mark_read(user=seller, conversation=conversation)
    assert _notify(django_capture_on_commit_callbacks) == 0
    assert mail.outbox == []


def test_opted_out_members_get_no_email_and_are_not_asked_again(
    seller, two_threads, django_capture_on_commit_callbacks
):
    """Unread-message emails turned off: nothing is sent, and the messages count as handled."""
    email_opt_out(user=seller, kind=EmailKind.MESSAGES)
    _age(11)
    _notify(django_capture_on_commit_callbacks)
    assert mail.outbox == []
    conversation = Conversation.objects.get(pk=two_threads[0].pk)
    assert conversation.seller_notified_id == conversation.last_message_id


def test_the_command_runs_the_batch(seller, two_threads, capsys):
    """manage.py messages_notify_unread (run_worker runs it every 5 minutes)."""
    _age(11)
    call_command("messages_notify_unread")
    assert "Emailed 1 member(s)" in capsys.readouterr().out
