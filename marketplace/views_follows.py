"""Follow pages: the follow button, a member's followers and following lists, and the
following feed. Thin: parse, call one service or a few selectors, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from core.http import safe_next_url
from marketplace import selectors, selectors_follows, services
from marketplace.exceptions import FollowError

MEMBERS_PER_PAGE = 30


@login_required
@require_POST
def follow_toggle(request: HttpRequest, username: str) -> HttpResponse:
    """Follow (follow=1) or unfollow (follow=0) a member; htmx swaps the button (and the
    follower count on the seller page), without JavaScript the form comes back to `next`."""
    member = selectors.seller_get(username=username)
    follow = request.POST.get("follow", "1") == "1"
    try:
        if follow:
            services.follow_add(follower=request.user, seller_id=member.pk)
        else:
            services.follow_remove(follower=request.user, seller_id=member.pk)
    except FollowError as error:
        if request.htmx:
            return HttpResponse(str(error), status=409)
        messages.error(request, str(error))
        return redirect(safe_next_url(request, member.get_absolute_url()))
    if request.htmx:
        context = {
            "member": member,
            "is_following": follow,
            "next_url": request.POST.get("next", ""),
            "counts": request.POST.get("counts") == "1",
        }
        if context["counts"]:
            stats = selectors_follows.seller_for_page(username=member.username, viewer=None)
            context["follower_count"] = stats.follower_count
        return render(request, "marketplace/social.html#follow_swap", context)
    return redirect(safe_next_url(request, member.get_absolute_url()))


def _member_list(request: HttpRequest, username: str, *, which: str) -> HttpResponse:
    member = selectors_follows.seller_for_page(username=username, viewer=request.user)
    members = (
        selectors_follows.followers_of(member=member)
        if which == "followers"
        else selectors_follows.following_of(member=member)
    )
    page = Paginator(members, MEMBERS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page)
    followed = selectors_follows.followed_ids(
        viewer=request.user, member_ids=[row.pk for row in rows]
    )
    return render(
        request,
        "marketplace/members.html",
        {
            "member": member,
            "which": which,
            "page": page,
            "rows": [(row, row.pk in followed) for row in rows],
        },
    )


@require_safe
def followers(request: HttpRequest, username: str) -> HttpResponse:
    return _member_list(request, username, which="followers")


@require_safe
def following_list(request: HttpRequest, username: str) -> HttpResponse:
    return _member_list(request, username, which="following")


@login_required
@require_safe
def feed(request: HttpRequest) -> HttpResponse:
    """New items for sale from the sellers you follow, newest first (keyset pages); when
    there is nothing to show, sellers worth following."""
    cursor = request.GET.get("after")
    page = selectors_follows.feed_page(
        user=request.user, cursor=cursor, size=settings.LISTINGS_PER_PAGE
    )
    suggestions = []
    if not page.listings and not cursor:
        suggestions = selectors_follows.follow_suggestions(user=request.user)
    return render(
        request,
        "marketplace/feed.html",
        {"page": page, "suggestions": suggestions, "is_later_page": bool(cursor)},
    )
