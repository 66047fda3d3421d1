"""Background tasks of orders (Django's tasks framework): each takes ids and plain values, loads
the rows and sends one email (orders.emails); services enqueue them after commit (the queue_*
helpers below, or on_commit). Sending twice sends a second copy, which is the lesser harm than
losing the mail, so a failure is logged and re-raised (the task is marked failed) but never
retried blindly."""

import logging

from django.db import transaction
from django.tasks import task

from orders import emails

logger = logging.getLogger(__name__)


@task()
def order_email(template: str, order_id: int, to_buyer: bool) -> None:
    """Send templates/email/orders/<template> about the order to its buyer or seller."""
    try:
        emails.send_order_email(template=template, order_id=order_id, to_buyer=to_buyer)
    except Exception:
        logger.exception("order email %s for order %s failed", template, order_id)
        raise


@task()
def offer_email(offer_id: int, template: str, to_buyer: bool, outcome: str = "") -> bool:
    """Email the buyer or the seller of an offer about it (unless they turned offers off)."""
    try:
        return emails.send_offer_email(
            offer_id=offer_id, template=template, to_buyer=to_buyer, outcome=outcome
        )
    except Exception:
        logger.exception("offer email %s for offer %s failed", template, offer_id)
        raise


@task()
def review_received_email(review_id: int) -> bool:
    """Tell the seller about a new review (orders.emails; it logs its failures)."""
    return emails.review_received_email_send(review_id=review_id)


# --- Enqueue after commit (what services call) ---------------------------------------------
def queue_order_email(*, template: str, order_id: int, to_buyer: bool) -> None:
    """Send after the surrounding transaction commits, as the task orders.tasks.order_email."""
    _enqueue_after_commit(
        order_email,
        template,
        order_id,
        to_buyer,
        what=f"order email {template} for order {order_id}",
    )


def queue_offer_email(*, offer_id: int, template: str, to_buyer: bool, outcome: str = "") -> None:
    """Send after the surrounding transaction commits, as the task orders.tasks.offer_email."""
    _enqueue_after_commit(
        offer_email,
        offer_id,
        template,
        to_buyer,
        outcome,
        what=f"offer email {template} for offer {offer_id}",
    )


def _enqueue_after_commit(email_task, *args, what: str) -> None:
    """Enqueue `email_task` once the transaction commits; a mail failure (or an unreachable
    queue) is logged and never undoes the order or offer."""

    def enqueue() -> None:
        try:
            email_task.enqueue(*args)
        except Exception:
            logger.exception("%s failed", what)

    transaction.on_commit(enqueue)
