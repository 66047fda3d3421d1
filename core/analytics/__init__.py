"""Product analytics: one adapter, PostHog when POSTHOG_KEY is set, a local recorder otherwise.

Call `capture_on_commit(user, "event_name", key=value, ...)` from services, inside their
transaction, without wrapping it in `transaction.on_commit` yourself: the function defers the
event to after the surrounding transaction commits (never sent for rolled-back work; at once
outside a transaction) as the task core.tasks.analytics_capture, so with a task queue the
request only enqueues it (and without one the PostHog SDK still sends from its own thread).
"""

import json
import logging
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from core.analytics.base import Event  # noqa: F401 (the event type callers may build)

# Sending lives in its own module, which the task imports: no circle through this package.
from core.analytics.sending import _local, capture, flush, get_backend  # noqa: F401

logger = logging.getLogger(__name__)


def distinct_id_for(user: Any) -> str:
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return "anonymous"


def capture_on_commit(user: Any, name: str, **properties: Any) -> None:
    """Record `name` for `user` (or anonymous) once the current transaction commits.

    The deferral is built in (the one convention for every caller): don't wrap this in
    `transaction.on_commit`. Outside a transaction the event is recorded at once. Properties
    are sent as JSON (a Decimal becomes a string, a datetime ISO 8601): task arguments are.
    """
    distinct_id = distinct_id_for(user)
    properties = json.loads(json.dumps(properties, cls=DjangoJSONEncoder))

    def send() -> None:
        from core.tasks import analytics_capture  # the task calls sending.capture()

        try:
            analytics_capture.enqueue(distinct_id, name, properties)
        except Exception:  # analytics must never break the request that triggered it
            logger.exception("analytics capture failed for %s", name)

    transaction.on_commit(send)


# The marketplace funnel's server-side events, by stage. Services call capture_on_commit() with
# these names; PostHog dashboards and the admin funnel are built on them. Add new names here.
FUNNEL_EVENTS: dict[str, tuple[str, ...]] = {
    "acquisition": ("signup", "login", "logout", "email_verified", "social_login"),
    "discovery": (
        "search_performed",
        "category_viewed",
        "listing_viewed",
        "seller_viewed",
        "filter_applied",
    ),
    "intent": (
        "item_favourited",
        "listing_favourited",
        "item_unfavourited",
        "seller_followed",
        "message_sent",
        "offer_made",
        "offer_accepted",
        "offer_declined",
    ),
    "purchase": (
        "added_to_cart",
        "removed_from_cart",
        "checkout_started",
        "checkout_failed",
        "order_paid",
    ),
    "fulfilment": (
        "order_shipped",
        "order_delivered",
        "order_completed",
        "order_cancelled",
        "order_refunded",
        "dispute_opened",
        "review_left",
    ),
    "supply": (
        "seller_onboarded",
        "listing_created",
        "listing_published",
        "listing_edited",
        "listing_marked_sold",
        "listing_deleted",
        "payout_sent",
    ),
}
KNOWN_EVENTS = frozenset(name for names in FUNNEL_EVENTS.values() for name in names)
