"""Writes for messaging, split by sub-domain; import from here
(`from messaging.services import message_send`)."""

from messaging.services.conversations import (
    conversation_mark_read,
    conversation_start,
    message_body_clean,
    message_send,
    system_line_post,
)
from messaging.services.delivery import message_deliver, unread_deliver
from messaging.services.notify import messages_notify_unread
from messaging.services.safety import (
    conversation_close,
    conversation_reopen,
    conversation_report,
    conversation_report_ban,
    conversation_report_close,
    conversation_report_close_conversation,
    member_block,
    member_unblock,
)

__all__ = [
    "conversation_close",
    "conversation_mark_read",
    "conversation_reopen",
    "conversation_report",
    "conversation_report_ban",
    "conversation_report_close",
    "conversation_report_close_conversation",
    "conversation_start",
    "member_block",
    "member_unblock",
    "message_body_clean",
    "message_deliver",
    "message_send",
    "messages_notify_unread",
    "system_line_post",
    "unread_deliver",
]
