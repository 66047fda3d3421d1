"""Read side of reviews: rows come with the reviewer's profile and the order joined."""

from django.db.models import QuerySet
from django.http import Http404

from accounts.models import User
from orders.models import Review

SELLER_PAGE_REVIEWS = 3


def reviews_of_seller(*, seller: User) -> QuerySet[Review]:
    """The seller's visible reviews, newest first, with each reviewer's profile (one query;
    paginate it for the full list)."""
    return (
        Review.objects.visible()
        .filter(seller=seller)
        .select_related("buyer__profile")
        .order_by("-created_at", "-id")
    )


def reviews_latest(*, seller: User, limit: int = SELLER_PAGE_REVIEWS) -> list[Review]:
    """The seller's newest `limit` visible reviews (one query)."""
    return list(reviews_of_seller(seller=seller)[:limit])


def access_review_for_author(*, user: User, review_id: int) -> Review:
    """A review written by `user`, with its order; Http404 for anyone else's."""
    review = Review.objects.select_related("order").filter(pk=review_id, buyer=user).first()
    if review is None:
        raise Http404("No such review.")
    return review


def review_visible_get(*, review_id: int) -> Review:
    """A visible review (for reply and report); Http404 if hidden or missing."""
    review = Review.objects.visible().select_related("seller").filter(pk=review_id).first()
    if review is None:
        raise Http404("No such review.")
    return review
