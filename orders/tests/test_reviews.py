"""Review rules: only the buyer of a completed order, once; edits for 48 hours; one reply by
the seller; reports; hiding; and the seller's rating kept equal to the visible reviews."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import EmailKind, Profile
from accounts.services import email_opt_out, profile_rating_set
from core.models import AuditLog
from orders.exceptions import ReviewError
from orders.models import Order, Review, ReviewReport
from orders.services import reviews as r
from orders.tests.factories import UserFactory
from orders.tests.helpers import paid_order
from orders.tests.review_support import completed_order, reviewed, ship

pytestmark = pytest.mark.django_db


def rating_of(user) -> tuple[int, Decimal | None]:
    profile = Profile.objects.get(user=user)
    return profile.rating_count, profile.rating_average


def staff():
    return UserFactory(is_staff=True)


# --- Who may review ---------------------------------------------------------------------------
@pytest.mark.parametrize("stage", ["paid", "shipped"])
def test_review_refused_until_the_order_is_completed(stage):
    """A paid or shipped (not completed) order can't be reviewed; nothing is written."""
    order = paid_order()
    if stage == "shipped":
        ship(order)
    with pytest.raises(ReviewError, match="once it is completed"):
        r.review_create(order_id=order.pk, author=order.buyer, rating=5, text="Nice")
    assert not Review.objects.exists()


def test_seller_cannot_review_own_sale():
    """The seller of a completed order is refused, with a message saying why."""
    order = completed_order()
    with pytest.raises(ReviewError, match="your own sale"):
        r.review_create(order_id=order.pk, author=order.seller, rating=5, text="Me!")
    assert not Review.objects.exists()


def test_stranger_cannot_review_someone_elses_order():
    """Only the buyer may review the order."""
    order = completed_order()
    with pytest.raises(ReviewError, match="Only the buyer"):
        r.review_create(order_id=order.pk, author=UserFactory(), rating=1, text="Bad")


def test_one_review_per_order():
    """A second review of the same order is refused; the first stays."""
    order = completed_order()
    reviewed(order, rating=4)
    with pytest.raises(ReviewError, match="already reviewed"):
        r.review_create(order_id=order.pk, author=order.buyer, rating=1, text="Again")
    assert Review.objects.get().rating == 4


def test_database_holds_one_review_per_order_and_ratings_1_to_5():
    """The constraints refuse a second row for an order and a rating outside 1..5 even when
    the service is bypassed."""
    order = completed_order()
    review = reviewed(order)
    fields = {"buyer": order.buyer, "seller": order.seller, "text": "x"}
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.create(order=order, rating=3, **fields)
    other = completed_order()
    for bad in (0, 6):
        with pytest.raises(IntegrityError), transaction.atomic():
            Review.objects.create(
                order=other, buyer=other.buyer, seller=other.seller, rating=bad, text="x"
            )
    with pytest.raises(IntegrityError), transaction.atomic():
        Review.objects.filter(pk=review.pk).update(buyer=order.seller)


@pytest.mark.parametrize(("rating", "text"), [(0, "ok"), (6, "ok"), (5, "   "), (5, "x" * 2001)])
def test_review_needs_1_to_5_stars_and_a_text_up_to_2000(rating, text):
    """Bad stars, an empty text or one over 2,000 characters are refused."""
    order = completed_order()
    with pytest.raises(ReviewError):
        r.review_create(order_id=order.pk, author=order.buyer, rating=rating, text=text)
    assert not Review.objects.exists()


def test_review_of_2000_characters_is_accepted():
    """Exactly 2,000 characters fit."""
    order = completed_order()
    assert len(reviewed(order, text="y" * 2000).text) == 2000


# --- Rating on the profile ------------------------------------------------------------------
def test_rating_follows_create_edit_hide_and_restore():
    """Count and average on the seller's profile equal the visible reviews after every change."""
    seller = UserFactory(is_seller=True)
    first = reviewed(completed_order(seller=seller), rating=5)
    assert rating_of(seller) == (1, Decimal("5.00"))
    second = reviewed(completed_order(seller=seller), rating=4)
    third = reviewed(completed_order(seller=seller), rating=4)
    assert rating_of(seller) == (3, Decimal("4.33"))
    r.review_edit(review_id=second.pk, author=second.buyer, rating=2, text="Changed my mind")
    assert rating_of(seller) == (3, Decimal("3.67"))
    moderator = staff()
    r.review_hide(review_id=first.pk, actor=moderator)
    assert rating_of(seller) == (2, Decimal("3.00"))
    r.review_hide(review_id=second.pk, actor=moderator)
    r.review_hide(review_id=third.pk, actor=moderator)
    assert rating_of(seller) == (0, None)
    r.review_restore(review_id=first.pk, actor=moderator)
    assert rating_of(seller) == (1, Decimal("5.00"))


def test_rating_refresh_repairs_a_stale_profile():
    """seller_rating_refresh recomputes from the reviews, whatever the profile said."""
    seller = UserFactory(is_seller=True)
    reviewed(completed_order(seller=seller), rating=3)
    profile_rating_set(user=seller, count=9, average=Decimal("1.5"))
    r.seller_rating_refresh(seller=seller)
    assert rating_of(seller) == (1, Decimal("3.00"))


@pytest.mark.parametrize(
    ("count", "average"), [(0, Decimal("4")), (2, None), (1, Decimal("5.5")), (-1, None)]
)
def test_profile_rating_set_refuses_impossible_figures(count, average):
    """A count without an average (or the reverse) or an average outside 1..5 is refused."""
    user = UserFactory()
    with pytest.raises(ValueError, match="rating"):
        profile_rating_set(user=user, count=count, average=average)


# --- Edit window ------------------------------------------------------------------------------
def test_author_edits_within_48_hours(monkeypatch):
    """47 hours after posting the author may still change the review; it is marked edited."""
    review = reviewed(completed_order(), rating=2)
    later = review.created_at + timedelta(hours=47)
    monkeypatch.setattr(timezone, "now", lambda: later)
    assert "edit" in r.review_actions(review, review.buyer)
    r.review_edit(review_id=review.pk, author=review.buyer, rating=5, text="Sorted out")
    review.refresh_from_db()
    assert (review.rating, review.text, review.edited_at) == (5, "Sorted out", later)


def test_edit_refused_after_48_hours(monkeypatch):
    """At 48 hours and one second the review is final."""
    review = reviewed(completed_order(), rating=2, text="Meh")
    monkeypatch.setattr(timezone, "now", lambda: review.created_at + timedelta(hours=48, seconds=1))
    assert "edit" not in r.review_actions(review, review.buyer)
    with pytest.raises(ReviewError, match="48 hours"):
        r.review_edit(review_id=review.pk, author=review.buyer, rating=5, text="Changed")
    review.refresh_from_db()
    assert (review.rating, review.text) == (2, "Meh")


def test_only_the_author_edits():
    """The seller or a stranger can't edit the buyer's review."""
    review = reviewed(completed_order())
    for other in (review.seller, UserFactory()):
        with pytest.raises(ReviewError):
            r.review_edit(review_id=review.pk, author=other, rating=1, text="Hacked")
    assert Review.objects.get().text == "Great, thanks!"


# --- Reply ------------------------------------------------------------------------------------
def test_seller_replies_once():
    """The seller answers once; a second reply is refused and the first kept."""
    review = reviewed(completed_order())
    r.review_reply(review_id=review.pk, author=review.seller, text="Thank you!")
    review.refresh_from_db()
    assert review.reply == "Thank you!"
    assert review.replied_at is not None
    assert "reply" not in r.review_actions(review, review.seller)
    with pytest.raises(ReviewError, match="already replied"):
        r.review_reply(review_id=review.pk, author=review.seller, text="Second")
    review.refresh_from_db()
    assert review.reply == "Thank you!"


@pytest.mark.parametrize("who", ["buyer", "stranger"])
def test_only_the_seller_replies(who):
    """The author or a stranger can't post the seller's reply."""
    review = reviewed(completed_order())
    author = review.buyer if who == "buyer" else UserFactory()
    with pytest.raises(ReviewError, match="Only the seller"):
        r.review_reply(review_id=review.pk, author=author, text="Hi")
    assert Review.objects.get().reply == ""


def test_review_actions_per_member():
    """Author: edit; seller: reply and report; others: report; anonymous and hidden: nothing."""
    from django.contrib.auth.models import AnonymousUser

    review = reviewed(completed_order())
    stranger = UserFactory()
    assert r.review_actions(review, review.buyer) == {"edit"}
    assert r.review_actions(review, review.seller) == {"reply", "report"}
    assert r.review_actions(review, stranger) == {"report"}
    assert r.review_actions(review, AnonymousUser()) == frozenset()
    review.is_hidden = True
    assert r.review_actions(review, review.seller) == frozenset()


# --- Reports and moderation -------------------------------------------------------------------
def test_report_lands_in_the_queue_once_per_member():
    """A member's report is stored once however often they click; the author can't report."""
    review = reviewed(completed_order())
    reporter = UserFactory()
    r.review_report(review_id=review.pk, reporter=reporter, reason="Rude")
    r.review_report(review_id=review.pk, reporter=reporter, reason="Again")
    assert list(ReviewReport.objects.values_list("reason", "status")) == [("Rude", "open")]
    with pytest.raises(ReviewError):
        r.review_report(review_id=review.pk, reporter=review.buyer)


def test_hide_resolves_reports_audits_and_is_staff_only():
    """Hiding: staff only, reports resolved, audited; restore audited too."""
    review = reviewed(completed_order())
    r.review_report(review_id=review.pk, reporter=UserFactory())
    with pytest.raises(ReviewError, match="staff"):
        r.review_hide(review_id=review.pk, actor=review.seller)
    moderator = staff()
    r.review_hide(review_id=review.pk, actor=moderator, reason="abusive")
    r.review_hide(review_id=review.pk, actor=moderator)  # idempotent
    review.refresh_from_db()
    assert review.is_hidden
    assert ReviewReport.objects.get().status == ReviewReport.Status.RESOLVED
    assert AuditLog.objects.filter(action="review.hidden", target_id=str(review.pk)).count() == 1
    r.review_restore(review_id=review.pk, actor=moderator)
    assert AuditLog.objects.filter(action="review.restored", actor=moderator).exists()


def test_dismissing_reports_keeps_the_review():
    """Dismissed reports close; the review stays visible and counted."""
    review = reviewed(completed_order(), rating=3)
    r.review_report(review_id=review.pk, reporter=UserFactory())
    assert r.review_reports_dismiss(review_id=review.pk, actor=staff()) == 1
    assert ReviewReport.objects.get().status == ReviewReport.Status.DISMISSED
    assert rating_of(review.seller) == (1, Decimal("3.00"))


# --- Email ------------------------------------------------------------------------------------
def test_seller_is_emailed_after_commit(django_capture_on_commit_callbacks):
    """ "You got a review" goes to the seller after commit, with stars, text and unsubscribe."""
    order = completed_order()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reviewed(order, rating=4, text="Fast shipping")
    (message,) = mail.outbox
    assert message.to == [order.seller.email]
    assert message.subject == "You got a review"
    assert "4 out of 5" in message.body
    assert "Fast shipping" in message.body
    assert "/unsubscribe/" in message.body
    assert "List-Unsubscribe" in message.extra_headers


def test_seller_who_opted_out_gets_no_review_email(django_capture_on_commit_callbacks):
    """No email for a seller who turned review emails off; the review is still saved."""
    order = completed_order()
    email_opt_out(user=order.seller, kind=EmailKind.REVIEWS)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        reviewed(order)
    assert mail.outbox == []
    assert Review.objects.filter(order=order).exists()


def test_order_status_is_completed_only_after_confirmation():
    """Sanity: the helper's order really is completed (the state reviews wait for)."""
    assert completed_order().status == Order.Status.COMPLETED
