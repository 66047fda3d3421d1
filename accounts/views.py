from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from accounts.forms import ProfileForm
from accounts.models import EmailKind
from accounts.selectors import profile_for, user_for_unsubscribe
from accounts.services import (
    email_allowed,
    email_opt_in,
    email_opt_out,
    profile_update,
    unsubscribe_token_read,
)


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """ "My Threadly": the member's hub, linking to their listings, orders and settings."""
    return render(request, "accounts/dashboard.html", {"profile": profile_for(request.user)})


@login_required
def profile_edit(request: HttpRequest) -> HttpResponse:
    """Edit the signed-in member's own profile (there is no way to name another one)."""
    profile = profile_for(request.user)
    form = ProfileForm(request.POST or None, request.FILES or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            profile_update(
                user=request.user,
                display_name=data["display_name"],
                bio=data["bio"],
                location=data["location"],
                holiday_mode=data["holiday_mode"],
                avatar=data.get("avatar"),
                remove_avatar=data.get("remove_avatar", False),
            )
        except ValidationError as exc:
            form.add_error("avatar", exc)
        else:
            messages.success(request, _("Your profile has been saved."))
            return redirect("accounts:profile_edit")
    profile.refresh_from_db()  # a failed POST must not show unsaved values as saved
    return render(request, "accounts/profile_edit.html", {"form": form, "profile": profile})


@csrf_exempt  # the signed token is the credential; mail clients' one-click POST has no CSRF token
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """Turn off one kind of notification email without logging in.

    GET shows what the link turns off and a button (a link prefetcher must not unsubscribe
    anyone); POST does it, from that button or from a mail client's one-click request
    (RFC 8058). "Resubscribe" turns the kind back on.
    """
    found = unsubscribe_token_read(token)
    member = user_for_unsubscribe(found[0]) if found else None
    if member is None:
        return render(request, "accounts/unsubscribe.html", {"invalid": True}, status=404)
    kind = EmailKind(found[1])
    done = ""
    if request.method == "POST":
        if request.POST.get("action") == "resubscribe":
            email_opt_in(user=member, kind=kind)
            done = "resubscribed"
        else:
            email_opt_out(user=member, kind=kind)
            done = "unsubscribed"
    return render(
        request,
        "accounts/unsubscribe.html",
        {"kind": kind, "done": done, "opted_out": not email_allowed(user=member, kind=kind)},
    )
