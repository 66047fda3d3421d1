from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.forms import ProfileForm
from accounts.selectors import profile_for
from accounts.services import profile_update


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
