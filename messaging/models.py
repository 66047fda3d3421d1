"""Conversations between a buyer and a seller about one listing, their messages, blocks
between members and members' reports about a conversation.

Read and email markers are message ids, per participant: a message is unread for a member
when its id is above their `*_read_id` and someone else (or Threadly) sent it; it was emailed
about when its id is at most their `*_notified_id`. Ids only grow, so the markers only move
forward (`UPDATE ... WHERE marker < new`).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.db import TimeStampedModel

MESSAGE_MAX_LENGTH = 2000


class ClosedReason(models.TextChoices):
    NONE = "", _("Open")
    BLOCKED = "blocked", _("A member blocked the other")
    STAFF = "staff", _("Closed by Threadly")


class Conversation(TimeStampedModel):
    """One thread per buyer and listing, between that buyer and the listing's seller."""

    ClosedReason = ClosedReason

    listing = models.ForeignKey(
        "marketplace.Listing", on_delete=models.CASCADE, related_name="conversations"
    )
    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buyer_conversations"
    )
    seller = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="seller_conversations"
    )
    last_message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_message_at = models.DateTimeField(null=True, blank=True)
    buyer_read_id = models.PositiveBigIntegerField(default=0)
    seller_read_id = models.PositiveBigIntegerField(default=0)
    buyer_notified_id = models.PositiveBigIntegerField(default=0)
    seller_notified_id = models.PositiveBigIntegerField(default=0)
    is_closed = models.BooleanField(default=False)
    closed_reason = models.CharField(
        max_length=10, choices=ClosedReason.choices, blank=True, default=""
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        indexes = [
            models.Index(fields=["buyer", "-last_message_at"], name="conversation_buyer_recent"),
            models.Index(fields=["seller", "-last_message_at"], name="conversation_seller_recent"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["listing", "buyer"], name="conversation_one_per_buyer"),
            models.CheckConstraint(condition=~Q(buyer=F("seller")), name="conversation_not_self"),
            models.CheckConstraint(
                condition=Q(closed_reason__in=ClosedReason.values),
                name="conversation_closed_reason_known",
            ),
            models.CheckConstraint(
                condition=Q(is_closed=False, closed_reason="")
                | Q(is_closed=True) & ~Q(closed_reason=""),
                name="conversation_closed_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Conversation {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("messaging:conversation", kwargs={"pk": self.pk})

    def other_id(self, user_id: int) -> int:
        """The other participant's id (the seller's for the buyer and vice versa)."""
        return self.seller_id if user_id == self.buyer_id else self.buyer_id

    def read_id_of(self, user_id: int) -> int:
        """The last message id `user_id` has read (0 for a non-participant)."""
        if user_id == self.buyer_id:
            return self.buyer_read_id
        if user_id == self.seller_id:
            return self.seller_read_id
        return 0


class MessageKind(models.TextChoices):
    TEXT = "text", _("Message")
    SYSTEM = "system", _("Threadly")


class Message(models.Model):
    """A line in a conversation: a member's text, or a system line (sender empty) such as
    "Order #12 was paid." from core.events.listing_thread_event."""

    Kind = MessageKind

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="messages_sent",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.TEXT)
    # For system lines: what happened ("order_paid", "order_shipped", ...).
    event = models.CharField(max_length=40, blank=True, default="")
    body = models.TextField(max_length=MESSAGE_MAX_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["conversation", "id"], name="message_conversation_id")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind=MessageKind.TEXT, sender__isnull=False)
                | Q(kind=MessageKind.SYSTEM, sender__isnull=True),
                name="message_system_has_no_sender",
            ),
            models.CheckConstraint(
                condition=Q(
                    GreaterThanOrEqual(Length("body"), 1),
                    LessThanOrEqual(Length("body"), MESSAGE_MAX_LENGTH),
                ),
                name="message_body_length",
            ),
        ]

    def __str__(self) -> str:
        return f"Message {self.pk} in {self.conversation_id}"

    @property
    def is_system(self) -> bool:
        return self.kind == MessageKind.SYSTEM


class Block(models.Model):
    """`blocker` doesn't want to hear from `blocked`: no new conversations either way, and
    their existing ones are closed (messaging.services.member_block)."""

    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="block_once"),
            models.CheckConstraint(condition=~Q(blocker=F("blocked")), name="block_not_self"),
        ]
        indexes = [models.Index(fields=["blocked", "blocker"], name="block_blocked")]

    def __str__(self) -> str:
        return f"{self.blocker_id} blocked {self.blocked_id}"


class ConversationReport(models.Model):
    """A participant's report about the other member in a conversation, worked by staff in
    the admin queue (messaging/admin.py)."""

    class Reason(models.TextChoices):
        SPAM = "spam", _("Spam")
        SCAM = "scam", _("Scam or fraud (e.g. paying outside Threadly)")
        HARASSMENT = "harassment", _("Harassment or abuse")
        OFFENSIVE = "offensive", _("Offensive content")
        OTHER = "other", _("Something else")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")
        DISMISSED = "dismissed", _("Dismissed")

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="conversation_reports_made",
    )
    reported_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="conversation_reports_received",
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    details = models.TextField(max_length=2000, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["open", "resolved", "dismissed"]),
                name="conversation_report_status_known",
            ),
            models.CheckConstraint(
                condition=Q(reason__in=["spam", "scam", "harassment", "offensive", "other"]),
                name="conversation_report_reason_known",
            ),
            # One open report per member and conversation: a second click adds nothing.
            models.UniqueConstraint(
                fields=["reporter", "conversation"],
                condition=Q(status="open"),
                name="conversation_report_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: conversation {self.conversation_id}"
