"""Emails about orders and offers: HTML + plain text from templates, sent after commit by a
task (orders.tasks), so a request never waits for the mail provider."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from accounts.models import EmailKind
from accounts.services import member_email_send
from marketplace.templatetags.catalog import money
from orders.models import Offer, Order

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
    """Send after the surrounding transaction commits, as the task orders.tasks.order_email;
    a mail failure (or an unreachable queue) is logged and never undoes the order."""

    def enqueue() -> None:
        from orders.tasks import order_email  # the task calls send_order_email

        try:
            order_email.enqueue(template, order_id, to_buyer)
        except Exception:
            logger.exception("order email %s for order %s failed", template, order_id)

    transaction.on_commit(enqueue)


# --- Offers (notification emails: the member may turn "Offers" off) --------------------------
OFFER_SUBJECTS = {
    "offer_received": "{who} offered {amount} for “{title}”",
    "offer_from_seller": "{who} offers you “{title}” for {amount}",
    "offer_answered": "Your offer on “{title}”: {outcome}",
    "offer_expiring": "Answer soon: the offer on “{title}” ({amount}) expires in a few hours",
}
OFFER_OUTCOMES = {
    "accepted": "accepted",
    "declined": "declined",
    "countered": "a counter-offer",
}


def send_offer_email(*, offer_id: int, template: str, to_buyer: bool, outcome: str = "") -> bool:
    """Email the buyer or the seller of an offer about it now (templates/email/<template>),
    unless they turned offer emails off. Returns whether it was sent."""
    offer = Offer.objects.select_related("listing", "buyer", "seller").get(pk=offer_id)
    recipient, other = (offer.buyer, offer.seller) if to_buyer else (offer.seller, offer.buyer)
    amount = money(offer.amount, offer.currency)
    subject = OFFER_SUBJECTS[template].format(
        who=other.username,
        amount=amount,
        title=offer.listing.title,
        outcome=OFFER_OUTCOMES.get(outcome, outcome),
    )
    return member_email_send(
        user=recipient,
        kind=EmailKind.OFFERS,
        subject=subject,
        template=template,
        context={"offer": offer, "other": other, "amount": amount, "outcome": outcome},
    )


def queue_offer_email(*, offer_id: int, template: str, to_buyer: bool, outcome: str = "") -> None:
    """Send after the surrounding transaction commits, as the task orders.tasks.offer_email;
    a mail failure (or an unreachable queue) is logged and never undoes the offer."""

    def enqueue() -> None:
        from orders.tasks import offer_email  # the task calls send_offer_email

        try:
            offer_email.enqueue(offer_id, template, to_buyer, outcome)
        except Exception:
            logger.exception("offer email %s for offer %s failed", template, offer_id)

    transaction.on_commit(enqueue)
