"""What orders contributes about reviews to pages it doesn't own: the catalog's seller page
(`{% load review_controls %}{% seller_reviews member %}`, since marketplace can't import
orders) and the order page's review panel (`{% order_review_panel order %}`)."""

from django import template

from accounts.models import User
from orders.models import Order, Review
from orders.selectors_reviews import SELLER_PAGE_REVIEWS, reviews_latest
from orders.services.reviews import order_review_refusal, review_actions, review_edit_deadline

register = template.Library()


@register.filter
def stars(rating: int | None) -> str:
    """4 -> "★★★★☆" (display only; give it an aria-label with the number)."""
    try:
        filled = max(0, min(5, int(rating or 0)))
    except (TypeError, ValueError):
        filled = 0
    return "★" * filled + "☆" * (5 - filled)


@register.inclusion_tag("orders/_seller_reviews.html", takes_context=True)
def seller_reviews(context: template.Context, seller: User) -> dict:
    """The seller's rating (from the profile the page already has) and their latest reviews
    (one query), each with what the viewer may do with it, and a link to all of them."""
    request = context["request"]
    latest = reviews_latest(seller=seller, limit=SELLER_PAGE_REVIEWS)
    return {
        "member": seller,
        "rows": [(review, review_actions(review, request.user)) for review in latest],
        "next_url": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }


@register.inclusion_tag("orders/_order_review.html", takes_context=True)
def order_review_panel(context: template.Context, order: Order) -> dict:
    """The review part of the order page: the review if there is one (with edit or reply for
    whoever may), else "Leave a review" for the buyer of a completed order (one query)."""
    request = context["request"]
    review = Review.objects.filter(order_id=order.pk).first()
    actions = review_actions(review, request.user) if review else frozenset()
    can_review = review is None and (
        order_review_refusal(order, request.user, has_review=False) is None
    )
    return {
        "order": order,
        "review": review,
        "actions": actions,
        "edit_until": review_edit_deadline(review) if review else None,
        "can_review": can_review,
        "next_url": request.get_full_path(),
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
