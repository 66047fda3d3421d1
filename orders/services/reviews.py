"""Reviews of completed orders: who may do what (order_review_refusal, review_actions), the
writes (create, edit, reply, report), moderation (hide, restore, dismiss reports) and the
seller's rating on their profile kept in step by one service, seller_rating_refresh.

Lock order, everywhere: the order or review row first, the seller's profile row last.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import Profile, User
from accounts.services import profile_lock, profile_rating_set
from core.audit import audit_log
from orders.exceptions import ReviewError
from orders.models import REVIEW_TEXT_MAX, Order, Review, ReviewReport
from orders.tasks import review_received_email

logger = logging.getLogger(__name__)

REVIEW_EDIT_WINDOW = timedelta(hours=48)
RATINGS = range(1, 6)


# --- Who may do what --------------------------------------------------------------------------
def order_review_refusal(order: Order, user, *, has_review: bool) -> str | None:
    """Why `user` can't review `order` now, or None when they may: only its buyer, only once
    it is completed, only once. The order page's link, the form and review_create ask this."""
    if user is None or not user.is_authenticated:
        return "Log in to review your order."
    if user.pk == order.seller_id:
        return "You can't review your own sale."
    if user.pk != order.buyer_id:
        return "Only the buyer of this order can review it."
    if order.status != Order.Status.COMPLETED:
        return "You can review this order once it is completed."
    if has_review:
        return "You already reviewed this order."
    return None


def review_edit_deadline(review: Review) -> datetime:
    return review.created_at + REVIEW_EDIT_WINDOW


def review_actions(review: Review, user, *, now: datetime | None = None) -> frozenset[str]:
    """What `user` may do with `review` now: "edit" (its author, within 48 hours of posting),
    "reply" (the seller, once), "report" (any other signed-in member). Hidden reviews take
    none. Uses only the row's own fields: no query."""
    if user is None or not user.is_authenticated or review.is_hidden:
        return frozenset()
    actions = set()
    if user.pk == review.buyer_id:
        if (now or timezone.now()) < review_edit_deadline(review):
            actions.add("edit")
        return frozenset(actions)
    actions.add("report")
    if user.pk == review.seller_id and not review.reply:
        actions.add("reply")
    return frozenset(actions)


def _require(action: str, review: Review, user, message: str) -> None:
    if action not in review_actions(review, user):
        raise ReviewError(message)


def _clean_text(text: str, *, what: str = "review") -> str:
    text = (text or "").strip()
    if not text:
        raise ReviewError(f"Write a few words for your {what}.")
    if len(text) > REVIEW_TEXT_MAX:
        raise ReviewError(f"Keep your {what} under {REVIEW_TEXT_MAX:,} characters.")
    return text


def _clean_rating(rating: int) -> int:
    if rating not in RATINGS:
        raise ReviewError("Choose from 1 to 5 stars.")
    return rating


# --- The seller's rating ----------------------------------------------------------------------
def seller_rating_refresh(*, seller: User) -> Profile:
    """Recompute `seller`'s rating from their visible reviews (one aggregate query) under
    their profile's row lock, and store it through accounts.services.profile_rating_set.

    The one home of the rating: every change to a review that could move it calls this in
    the same transaction, so count and average always match the visible reviews.
    """
    with transaction.atomic():
        profile_lock(user=seller)
        figures = (
            Review.objects.visible()
            .filter(seller_id=seller.pk)
            .aggregate(count=Count("pk"), total=Sum("rating"))
        )
        count = figures["count"] or 0
        average = Decimal(figures["total"]) / count if count else None
        return profile_rating_set(user=seller, count=count, average=average)


# --- Writes -----------------------------------------------------------------------------------
def review_create(*, order_id: int, author: User, rating: int, text: str) -> Review:
    """The buyer reviews their completed order: 1-5 stars and a text of up to 2,000 characters.

    Locks the order row; refuses (ReviewError, message for the member) anything
    order_review_refusal refuses, a bad rating or text. The database's one-review-per-order
    constraint backs the check against a double submit. Emails the seller ("You got a
    review", kind REVIEWS) after commit.
    """
    rating, text = _clean_rating(rating), _clean_text(text)
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",)).select_related("seller").get(pk=order_id)
        )
        has_review = Review.objects.filter(order_id=order.pk).exists()
        refusal = order_review_refusal(order, author, has_review=has_review)
        if refusal:
            raise ReviewError(refusal)
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    order=order, buyer=author, seller=order.seller, rating=rating, text=text
                )
        except IntegrityError as error:
            raise ReviewError("You already reviewed this order.") from error
        seller_rating_refresh(seller=order.seller)
        # robust: an unreachable queue is logged, never a 500 after the review is saved.
        transaction.on_commit(partial(review_received_email.enqueue, review.pk), robust=True)
    return review


def _review_lock(review_id: int) -> Review:
    review = Review.objects.select_for_update().filter(pk=review_id).first()
    if review is None:
        raise ReviewError("This review no longer exists.")
    return review


def review_edit(*, review_id: int, author: User, rating: int, text: str) -> Review:
    """The author changes their stars and text, within 48 hours of posting (review_actions).
    Locks the review; the seller's rating follows. Raises ReviewError."""
    rating, text = _clean_rating(rating), _clean_text(text)
    with transaction.atomic():
        review = _review_lock(review_id)
        _require("edit", review, author, "Reviews can be changed for 48 hours after posting.")
        review.rating, review.text, review.edited_at = rating, text, timezone.now()
        review.save(update_fields=["rating", "text", "edited_at", "updated_at"])
        seller_rating_refresh(seller=User.objects.get(pk=review.seller_id))
    return review


def review_reply(*, review_id: int, author: User, text: str) -> Review:
    """The seller answers a review of their sale, once (review_actions). Locks the review."""
    text = _clean_text(text, what="reply")
    with transaction.atomic():
        review = _review_lock(review_id)
        if author.pk != review.seller_id:
            raise ReviewError("Only the seller can reply to this review.")
        _require("reply", review, author, "You already replied to this review.")
        review.reply, review.replied_at = text, timezone.now()
        review.save(update_fields=["reply", "replied_at", "updated_at"])
    return review


def review_report(*, review_id: int, reporter: User, reason: str = "") -> ReviewReport:
    """A signed-in member (not the author) flags a review for staff. Reporting twice keeps
    one report. Raises ReviewError for the author or a hidden review."""
    reason = (reason or "").strip()[:500]
    review = Review.objects.filter(pk=review_id).first()
    if review is None:
        raise ReviewError("This review no longer exists.")
    _require("report", review, reporter, "You can't report this review.")
    try:
        with transaction.atomic():
            report, _ = ReviewReport.objects.get_or_create(
                review=review,
                reporter=reporter,
                defaults={"reason": reason},
            )
    except IntegrityError:  # a double click raced us
        report = ReviewReport.objects.get(review=review, reporter=reporter)
    return report


# --- Moderation (staff, from the admin) -------------------------------------------------------
def _require_staff(actor) -> None:
    if actor is None or not getattr(actor, "is_staff", False):
        raise ReviewError("Only Threadly staff can moderate reviews.")


def review_hide(*, review_id: int, actor: User, reason: str = "") -> Review:
    """Staff hide a review: not shown, not counted in the seller's rating; its open reports
    are resolved. Idempotent; audited as "review.hidden". Locks the review, then the profile."""
    _require_staff(actor)
    with transaction.atomic():
        review = _review_lock(review_id)
        now = timezone.now()
        if not review.is_hidden:
            review.is_hidden, review.hidden_at = True, now
            review.save(update_fields=["is_hidden", "hidden_at", "updated_at"])
            audit_log(action="review.hidden", actor=actor, target=review, reason=reason)
            seller_rating_refresh(seller=User.objects.get(pk=review.seller_id))
        review.reports.filter(status=ReviewReport.Status.OPEN).update(
            status=ReviewReport.Status.RESOLVED, closed_at=now
        )
    return review


def review_restore(*, review_id: int, actor: User, reason: str = "") -> Review:
    """Staff show a hidden review again; it counts again. Idempotent; audited."""
    _require_staff(actor)
    with transaction.atomic():
        review = _review_lock(review_id)
        if review.is_hidden:
            review.is_hidden, review.hidden_at = False, None
            review.save(update_fields=["is_hidden", "hidden_at", "updated_at"])
            audit_log(action="review.restored", actor=actor, target=review, reason=reason)
            seller_rating_refresh(seller=User.objects.get(pk=review.seller_id))
    return review


def review_reports_dismiss(*, review_id: int, actor: User) -> int:
    """Staff keep a reported review: its open reports are closed as dismissed. Audited."""
    _require_staff(actor)
    with transaction.atomic():
        review = _review_lock(review_id)
        closed = review.reports.filter(status=ReviewReport.Status.OPEN).update(
            status=ReviewReport.Status.DISMISSED, closed_at=timezone.now()
        )
        if closed:
            audit_log(action="review.reports_dismissed", actor=actor, target=review, count=closed)
    return closed
