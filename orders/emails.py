"""Emails about orders: HTML + plain text from templates, sent after commit."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from orders.models import Order

logger = logging.getLogger(__name__)

SUBJECTS = {
    "order_confirmed": "Your order #{id} is confirmed",
    "new_sale": "You sold something! Order #{id}",
    "order_shipped": "Your order #{id} is on its way",
    "order_delivered": "Order #{id} was delivered",
    "order_refunded": "Order #{id} was refunded",
    "order_taken_down": "Order #{id} was cancelled; your payment is being refunded",
}


def send_order_email(*, template: str, order_id: int, to_buyer: bool) -> None:
    """Render templates/email/orders/<template>.{txt,html} for the order and send it now."""
    order = (
        Order.objects.select_related("buyer", "seller").prefetch_related("items").get(pk=order_id)
    )
    recipient = order.buyer if to_buyer else order.seller
    context = {"order": order, "recipient": recipient, "site_url": settings.SITE_URL}
    message = EmailMultiAlternatives(
        subject=SUBJECTS[template].format(id=order.pk),
        body=render_to_string(f"email/orders/{template}.txt", context),
        to=[recipient.email],
    )
    message.attach_alternative(
        render_to_string(f"email/orders/{template}.html", context), "text/html"
    )
    message.send()


def queue_order_email(*, template: str, order_id: int, to_buyer: bool) -> None:
    """Send after the surrounding transaction commits; a mail failure never undoes the order."""

    def send() -> None:
        try:
            send_order_email(template=template, order_id=order_id, to_buyer=to_buyer)
        except Exception:
            logger.exception("order email %s for order %s failed", template, order_id)

    transaction.on_commit(send)
