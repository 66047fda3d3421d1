"""The staff side: the conversation with its read-only thread, and the report queue's
actions (resolve, dismiss, close the conversation, ban the reported member), audited."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from core.models import AuditLog
from messaging.models import ConversationReport
from messaging.services import conversation_report, message_send

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def report(buyer, conversation):
    message_send(sender=conversation.seller, conversation_id=conversation.pk, body="pay by wire")
    return conversation_report(reporter=buyer, conversation=conversation, reason="scam")


def _act(staff_client, action: str, report) -> None:
    url = reverse("admin:messaging_conversationreport_changelist")
    response = staff_client.post(url, {"action": action, "_selected_action": [report.pk]})
    assert response.status_code == 302


def test_staff_read_the_reported_thread_and_find_it_by_participant(
    staff_client, seller, conversation, report
):
    change = reverse("admin:messaging_conversation_change", args=[conversation.pk])
    page = staff_client.get(change).content.decode()
    assert "pay by wire" in page
    assert 'name="messages-0-body"' not in page  # read-only inline
    listing = reverse("admin:messaging_conversation_changelist")
    found = staff_client.get(listing, {"q": seller.username}).content.decode()
    assert f"/admin/messaging/conversation/{conversation.pk}/change/" in found
    queue = staff_client.get(reverse("admin:messaging_conversationreport_changelist"))
    assert "Scam or fraud" in queue.content.decode()


def test_close_conversation_action_closes_it_and_resolves_the_report(
    staff_client, conversation, report
):
    _act(staff_client, "close_conversation", report)
    conversation.refresh_from_db()
    report.refresh_from_db()
    assert (conversation.is_closed, conversation.closed_reason) == (True, "staff")
    assert report.status == ConversationReport.Status.RESOLVED
    assert AuditLog.objects.filter(action="conversation.closed").exists()


def test_ban_action_bans_the_reported_member_and_resolves(staff_client, seller, report):
    _act(staff_client, "ban_reported_member", report)
    seller.refresh_from_db()
    report.refresh_from_db()
    assert seller.is_banned
    assert report.status == ConversationReport.Status.RESOLVED
    assert AuditLog.objects.filter(action="user.banned").exists()


@pytest.mark.parametrize(("action", "status"), [("resolve", "resolved"), ("dismiss", "dismissed")])
def test_resolve_and_dismiss_close_the_report(staff_client, report, action, status):
    _act(staff_client, action, report)
    report.refresh_from_db()
    assert report.status == status
    assert report.resolved_at is not None
