"""Review pages: the order page's "Leave a review", the form, reply and report, the seller
page and the full list (constant queries), and the admin moderation queue."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Profile
from orders.models import Review, ReviewReport
from orders.services import reviews as r
from orders.tests.factories import UserFactory
from orders.tests.helpers import paid_order
from orders.tests.review_support import completed_order, reviewed

pytestmark = pytest.mark.django_db


def review_url(order) -> str:
    return reverse("orders:order_review", args=[order.pk])


def reviews_url(user) -> str:
    return reverse("orders:seller_reviews", kwargs={"username": user.username})


def test_order_page_offers_a_review_to_the_buyer_of_a_completed_order_only(client):
    """The buyer sees "Leave a review" on a completed order, not on a paid one; the seller
    never does."""
    done, paid = completed_order(), paid_order()
    client.force_login(done.buyer)
    assert "Leave a review" in client.get(done.get_absolute_url()).text
    client.force_login(paid.buyer)
    assert "Leave a review" not in client.get(paid.get_absolute_url()).text
    client.force_login(done.seller)
    assert "Leave a review" not in client.get(done.get_absolute_url()).text


def test_buyer_posts_a_review_through_the_form(client):
    """The form creates the review and goes back to the order page, which shows it."""
    order = completed_order()
    client.force_login(order.buyer)
    assert client.get(review_url(order)).status_code == 200
    response = client.post(review_url(order), {"rating": "4", "text": "Lovely coat"})
    assert response.status_code == 302
    assert response["Location"] == order.get_absolute_url()
    assert Review.objects.get(order=order).rating == 4
    page = client.get(order.get_absolute_url()).text
    assert "Lovely coat" in page
    assert "Edit your review" in page


def test_review_form_shows_errors_for_bad_input(client):
    """No stars and no text: the form again with both errors, nothing saved."""
    order = completed_order()
    client.force_login(order.buyer)
    response = client.post(review_url(order), {"rating": "9", "text": ""})
    assert response.status_code == 200
    assert "Write a few words" in response.text
    assert not Review.objects.exists()


def test_review_form_refuses_the_seller_and_unfinished_orders(client):
    """The seller, and the buyer of a paid order, are sent back to the order with a reason."""
    order = completed_order()
    client.force_login(order.seller)
    response = client.post(review_url(order), {"rating": "5", "text": "Self"})
    assert response.status_code == 302
    assert "your own sale" in str(list(get_messages(response.wsgi_request))[0])
    paid = paid_order()
    client.force_login(paid.buyer)
    assert client.get(review_url(paid)).status_code == 302
    assert not Review.objects.exists()


def test_review_form_is_404_for_strangers(client):
    """Someone else's order: 404, whatever the method."""
    order = completed_order()
    client.force_login(UserFactory())
    assert client.get(review_url(order)).status_code == 404
    assert client.post(review_url(order), {"rating": "1", "text": "x"}).status_code == 404


def test_buyer_edits_through_the_same_form(client):
    """Within 48 hours the form edits the review; the seller's average follows."""
    order = completed_order()
    reviewed(order, rating=5)
    client.force_login(order.buyer)
    assert 'value="5"' in client.get(review_url(order)).text
    client.post(review_url(order), {"rating": "3", "text": "Actually average"})
    assert Review.objects.get().rating == 3
    assert Profile.objects.get(user=order.seller).rating_average == Decimal("3.00")


def test_seller_replies_from_the_reviews_page(client):
    """The seller's reply form posts once and the reply shows under the review."""
    review = reviewed(completed_order())
    client.force_login(review.seller)
    page = client.get(reviews_url(review.seller)).text
    assert "Reply to this review" in page
    url = reverse("orders:review_reply", args=[review.pk])
    response = client.post(url, {"text": "Thanks a lot!", "next": "https://evil.example/"})
    assert response["Location"] == reviews_url(review.seller)  # never off-site
    page = client.get(reviews_url(review.seller)).text
    assert "Thanks a lot!" in page
    assert "Reply to this review" not in page
    client.force_login(review.buyer)
    client.post(url, {"text": "Pretending to be the seller"})
    assert Review.objects.get().reply == "Thanks a lot!"


def test_report_from_the_page_lands_in_the_admin_queue_and_hiding_removes_it(client, admin_user):
    """A member reports; staff find it under "reported", hide it; it leaves the seller page
    and the average."""
    seller = UserFactory(is_seller=True)
    kept = reviewed(completed_order(seller=seller), rating=5, text="Kept review")
    bad = reviewed(completed_order(seller=seller), rating=1, text="Abusive words")
    client.force_login(UserFactory())
    client.post(reverse("orders:review_report", args=[bad.pk]), {"reason": "insults"})
    assert ReviewReport.objects.get().review == bad

    client.force_login(admin_user)
    queue = client.get(reverse("admin:orders_review_changelist") + "?reported=open")
    assert queue.status_code == 200
    rows = list(queue.context["cl"].result_list)
    assert rows == [bad]
    client.post(
        reverse("admin:orders_review_changelist"),
        {"action": "hide_reviews", "_selected_action": [bad.pk]},
    )
    bad.refresh_from_db()
    assert bad.is_hidden
    assert Profile.objects.get(user=seller).rating_count == 1
    page = client.get(reverse("marketplace:seller", args=[seller.username])).text
    assert "Kept review" in page
    assert "Abusive words" not in page
    assert kept.pk != bad.pk
    client.post(
        reverse("admin:orders_review_changelist"),
        {"action": "restore_reviews", "_selected_action": [bad.pk]},
    )
    assert Profile.objects.get(user=seller).rating_count == 2


def test_author_cannot_report_and_hidden_reviews_are_404(client):
    """Reporting your own review changes nothing; a hidden review can't be replied to."""
    review = reviewed(completed_order())
    client.force_login(review.buyer)
    client.post(reverse("orders:review_report", args=[review.pk]))
    assert not ReviewReport.objects.exists()
    r.review_hide(review_id=review.pk, actor=UserFactory(is_staff=True))
    client.force_login(review.seller)
    url = reverse("orders:review_reply", args=[review.pk])
    assert client.post(url, {"text": "hi"}).status_code == 404


def test_seller_page_shows_average_count_and_latest_reviews_newest_first(client):
    """The shop shows "★ 4.5 (2)" and the reviews, newest first, with a link to all."""
    seller = UserFactory(is_seller=True)
    reviewed(completed_order(seller=seller), rating=5, text="First review")
    reviewed(completed_order(seller=seller), rating=4, text="Second review")
    page = client.get(reverse("marketplace:seller", args=[seller.username])).text
    assert "★ 4.5 (2)" in page
    assert page.index("Second review") < page.index("First review")
    assert reviews_url(seller) in page


def _queries(client, url: str) -> int:
    cache.clear()  # new orders add categories, which drops the cached menu
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("page", ["seller", "reviews"])
def test_review_pages_run_constant_queries(client, page):
    """The seller page and the reviews list cost the same queries for 2 and for 12 reviews."""
    seller = UserFactory(is_seller=True, username="rated.shop")
    for _ in range(2):
        reviewed(completed_order(seller=seller))
    url = (
        reverse("marketplace:seller", args=[seller.username])
        if page == "seller"
        else reviews_url(seller)
    )
    client.force_login(UserFactory())
    client.get(url)
    few = _queries(client, url)
    for _ in range(10):
        reviewed(completed_order(seller=seller))
    assert _queries(client, url) == few


def test_reviews_list_is_paginated(client):
    """20 a page, newest first; page 2 holds the rest."""
    seller = UserFactory(is_seller=True)
    for n in range(21):
        reviewed(completed_order(seller=seller), text=f"Review number {n:02d}")
    first = client.get(reviews_url(seller)).text
    assert "Review number 20" in first
    assert "Review number 00" not in first
    assert "Review number 00" in client.get(reviews_url(seller) + "?page=2").text
