"""Members keeping themselves safe (blocks, reports) and staff working the report queue.

A block closes every conversation between the two members, both ways; lifting it reopens
the ones it closed (not those staff closed) unless the other member blocked back. Staff
actions are audited in the same transaction.
"""

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services import user_set_banned
from core.audit import audit_log
from messaging.exceptions import MessagingError, NotParticipant, ReportError
from messaging.models import Block, Conversation, ConversationReport
from messaging.selectors import conversations_between

ClosedReason = Conversation.ClosedReason


def _close(conversations, *, reason: str) -> int:
    return conversations.filter(is_closed=False).update(
        is_closed=True, closed_reason=reason, closed_at=timezone.now(), updated_at=timezone.now()
    )


def _reopen(conversations, *, reason: str) -> int:
    return conversations.filter(is_closed=True, closed_reason=reason).update(
        is_closed=False, closed_reason="", closed_at=None, updated_at=timezone.now()
    )


@transaction.atomic
def member_block(*, blocker: User, blocked_id: int) -> Block:
    """`blocker` blocks member `blocked_id`: no new conversation either way, and every
    conversation between them is closed. Idempotent. Raises MessagingError for oneself."""
    if blocker.pk == blocked_id:
        raise MessagingError("You can't block yourself.")
    try:
        with transaction.atomic():
            block, _created = Block.objects.get_or_create(blocker=blocker, blocked_id=blocked_id)
    except IntegrityError:  # a double click won the race
        block = Block.objects.get(blocker=blocker, blocked_id=blocked_id)
    _close(
        conversations_between(user_id=blocker.pk, other_id=blocked_id), reason=ClosedReason.BLOCKED
    )
    return block


@transaction.atomic
def member_unblock(*, blocker: User, blocked_id: int) -> bool:
    """Lift `blocker`'s block of `blocked_id` (idempotent; returns whether there was one).
    The conversations the block closed reopen, unless `blocked_id` blocked `blocker` too."""
    deleted, _ = Block.objects.filter(blocker=blocker, blocked_id=blocked_id).delete()
    still_blocked = Block.objects.filter(blocker_id=blocked_id, blocked=blocker).exists()
    if deleted and not still_blocked:
        _reopen(
            conversations_between(user_id=blocker.pk, other_id=blocked_id),
            reason=ClosedReason.BLOCKED,
        )
    return bool(deleted)


def conversation_report(
    *, reporter: User, conversation: Conversation, reason: str, details: str = ""
) -> ConversationReport:
    """`reporter`, a participant, reports the other member of `conversation` to staff. A
    second report while the first is open returns the first. Raises NotParticipant for
    anyone else, ReportError for an unknown reason."""
    if reporter.pk not in (conversation.buyer_id, conversation.seller_id):
        raise NotParticipant()
    if reason not in ConversationReport.Reason.values:
        raise ReportError("Choose a reason for the report.")
    open_report = ConversationReport.objects.filter(
        reporter=reporter, conversation=conversation, status=ConversationReport.Status.OPEN
    ).first()
    if open_report is not None:
        return open_report
    try:
        with transaction.atomic():
            return ConversationReport.objects.create(
                conversation=conversation,
                reporter=reporter,
                reported_user_id=conversation.other_id(reporter.pk),
                reason=reason,
                details=(details or "").strip()[:2000],
            )
    except IntegrityError:
        return ConversationReport.objects.get(
            reporter=reporter, conversation=conversation, status=ConversationReport.Status.OPEN
        )


# --- Staff ---------------------------------------------------------------------------------------
@transaction.atomic
def conversation_close(*, conversation_id: int, actor: Any, note: str = "") -> Conversation:
    """Staff close a conversation: nobody can write in it any more (system lines still
    arrive). Locks the row; audited; a closed one is left as it is."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    if not conversation.is_closed:
        conversation.is_closed = True
        conversation.closed_reason = ClosedReason.STAFF
        conversation.closed_at = timezone.now()
        conversation.save(update_fields=["is_closed", "closed_reason", "closed_at", "updated_at"])
        audit_log(action="conversation.closed", actor=actor, target=conversation, note=note)
    return conversation


@transaction.atomic
def conversation_reopen(*, conversation_id: int, actor: Any) -> Conversation:
    """Staff reopen a conversation they closed (one a block closed stays closed)."""
    conversation = Conversation.objects.select_for_update().get(pk=conversation_id)
    if conversation.is_closed and conversation.closed_reason == ClosedReason.STAFF:
        conversation.is_closed = False
        conversation.closed_reason = ""
        conversation.closed_at = None
        conversation.save(update_fields=["is_closed", "closed_reason", "closed_at", "updated_at"])
        audit_log(action="conversation.reopened", actor=actor, target=conversation)
    return conversation


@transaction.atomic
def conversation_report_close(
    *, report_id: int, status: str, actor: Any, note: str = ""
) -> ConversationReport:
    """Resolve or dismiss an open report (a closed one is left as it is). Locks the report;
    audited. Raises ReportError for another status."""
    if status not in (ConversationReport.Status.RESOLVED, ConversationReport.Status.DISMISSED):
        raise ReportError(f"A report can be closed as resolved or dismissed, not {status}.")
    report = ConversationReport.objects.select_for_update().get(pk=report_id)
    if report.status != ConversationReport.Status.OPEN:
        return report
    report.status = status
    report.resolved_by = actor
    report.resolved_at = timezone.now()
    report.save(update_fields=["status", "resolved_by", "resolved_at", "updated_at"])
    audit_log(action=f"conversation_report.{status}", actor=actor, target=report, note=note)
    return report


@transaction.atomic
def conversation_report_close_conversation(*, report_id: int, actor: Any) -> ConversationReport:
    """Close the reported conversation, then resolve the report."""
    report = ConversationReport.objects.get(pk=report_id)
    conversation_close(
        conversation_id=report.conversation_id, actor=actor, note=f"report #{report.pk}"
    )
    return conversation_report_close(
        report_id=report.pk, status=ConversationReport.Status.RESOLVED, actor=actor
    )


@transaction.atomic
def conversation_report_ban(*, report_id: int, actor: Any) -> ConversationReport:
    """Ban the reported member (accounts.services.user_set_banned: they can't sign in and
    can't be messaged), then resolve the report. Raises BanNotAllowed for staff."""
    report = ConversationReport.objects.get(pk=report_id)
    user_set_banned(
        user_id=report.reported_user_id,
        banned=True,
        actor=actor,
        reason=f"conversation report #{report.pk}: {report.get_reason_display()}",
    )
    return conversation_report_close(
        report_id=report.pk, status=ConversationReport.Status.RESOLVED, actor=actor
    )
