"""Review pages: the review form of an order, the seller's reply, reports and a seller's full
list of reviews. Thin: a form, one service or selector, render or redirect."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from core.http import safe_next_url
from marketplace.selectors import seller_get
from orders import selectors, selectors_reviews
from orders.exceptions import ReviewError
from orders.forms_reviews import ReplyForm, ReportForm, ReviewForm
from orders.models import Review
from orders.services import reviews as review_services

REVIEWS_PER_PAGE = 20


@login_required
def order_review(request: HttpRequest, pk: int) -> HttpResponse:
    """Leave (or, within 48 hours, change) the review of a completed order: its buyer only."""
    order = selectors.access_order(user=request.user, order_id=pk)
    review = Review.objects.filter(order=order).first()
    if review is not None:
        if "edit" not in review_services.review_actions(review, request.user):
            messages.info(request, "Reviews can be changed for 48 hours after posting.")
            return redirect(order.get_absolute_url())
    else:
        refusal = review_services.order_review_refusal(order, request.user, has_review=False)
        if refusal:
            messages.error(request, refusal)
            return redirect(order.get_absolute_url())
    initial = {"rating": review.rating, "text": review.text} if review else None
    form = ReviewForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_bound and form.is_valid():
        try:
            if review is None:
                review_services.review_create(
                    order_id=order.pk, author=request.user, **form.cleaned_data
                )
                messages.success(request, "Thanks! Your review is on the seller's page.")
            else:
                review_services.review_edit(
                    review_id=review.pk, author=request.user, **form.cleaned_data
                )
                messages.success(request, "Your review is updated.")
        except ReviewError as error:
            form.add_error(None, error.message)
        else:
            return redirect(order.get_absolute_url())
    return render(
        request, "orders/review_form.html", {"order": order, "review": review, "form": form}
    )


def _back(request: HttpRequest, review: Review) -> str:
    default = reverse("orders:seller_reviews", kwargs={"username": review.seller.username})
    return safe_next_url(request, default)


@login_required
@require_POST
def review_reply(request: HttpRequest, pk: int) -> HttpResponse:
    """The seller's one reply to a review of their sale."""
    review = selectors_reviews.review_visible_get(review_id=pk)
    form = ReplyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write your reply (up to 2,000 characters).")
        return redirect(_back(request, review))
    try:
        review_services.review_reply(
            review_id=review.pk, author=request.user, text=form.cleaned_data["text"]
        )
    except ReviewError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your reply is posted.")
    return redirect(_back(request, review))


@login_required
@require_POST
def review_report(request: HttpRequest, pk: int) -> HttpResponse:
    """Flag a review for Threadly's team (any signed-in member but its author)."""
    review = selectors_reviews.review_visible_get(review_id=pk)
    form = ReportForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        review_services.review_report(review_id=review.pk, reporter=request.user, reason=reason)
    except ReviewError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Thanks for telling us. Our team will look at this review.")
    return redirect(_back(request, review))


@require_safe
def seller_reviews(request: HttpRequest, username: str) -> HttpResponse:
    """Every visible review of a seller, newest first, 20 a page (constant queries)."""
    member = seller_get(username=username)
    paginator = Paginator(selectors_reviews.reviews_of_seller(seller=member), REVIEWS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    rows = [(review, review_services.review_actions(review, request.user)) for review in page]
    return render(
        request,
        "orders/seller_reviews.html",
        {"member": member, "page": page, "rows": rows},
    )
