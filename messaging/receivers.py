"""Receivers: the buyer-seller conversation hears about its listing's orders (and offers)
through core.events.listing_thread_event, without orders importing messaging."""

import logging

from django.dispatch import receiver

from core.events import listing_thread_event
from messaging.services import system_line_post

logger = logging.getLogger(__name__)


@receiver(listing_thread_event, dispatch_uid="messaging_system_line")
def post_system_line(
    sender,
    *,
    listing_id: int,
    buyer_id: int,
    seller_id: int,
    kind: str,
    text: str,
    actor_id: int | None = None,
    **kwargs,
) -> None:
    """Add the event as a system line. Never raises (the sender's work is already done)."""
    try:
        system_line_post(
            listing_id=listing_id, buyer_id=buyer_id, seller_id=seller_id, kind=kind, text=text
        )
    except Exception:
        logger.exception("system line %r for listing %s failed", kind, listing_id)
