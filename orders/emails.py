"""Emails about orders, offers and reviews: HTML + plain text from templates, sent after commit
by a task (orders.tasks, which also holds the helpers that enqueue them), so a request never
waits for the mail provider. This module only sends: it never imports the tasks."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import EmailKind
from accounts.services import member_email_send
from marketplace.templatetags.catalog import money
from orders.models import Offer, Order, Review

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


# --- Reviews (notification emails: the member may turn "Reviews" off) -------------------------
def review_received_email_send(*, review_id: int) -> bool:
    """Tell the seller about a new review (kind REVIEWS; skipped if they opted out). Runs
    after commit; a mail failure is logged and never undoes the review."""
    try:
        review = (
            Review.objects.select_related("seller", "buyer__profile", "order")
            .filter(pk=review_id)
            .first()
        )
        if review is None or review.is_hidden:
            return False
        path = reverse("orders:seller_reviews", kwargs={"username": review.seller.username})
        return member_email_send(
            user=review.seller,
            kind=EmailKind.REVIEWS,
            subject="You got a review",
            template="review_received",
            context={
                "review": review,
                "reviews_url": f"{settings.SITE_URL.rstrip('/')}{path}",
            },
        )
    except Exception:
        logger.exception("review email for review %s failed", review_id)
        return False
