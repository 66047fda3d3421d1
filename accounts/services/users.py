"""Members and their profiles."""

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.exceptions import BanNotAllowed, EmailTaken, UsernameTaken
from accounts.models import Profile, User
from accounts.selectors import profile_for
from core.audit import audit_log
from core.images import process_image

PROFILE_FIELDS = frozenset({"display_name", "bio", "location", "holiday_mode"})
AVATAR_MAX_EDGE = 512


def _check_unique(*, email: str, username: str, exclude_pk: int | None = None) -> None:
    users = User.objects.exclude(pk=exclude_pk) if exclude_pk else User.objects.all()
    if users.filter(email__iexact=email).exists():
        raise EmailTaken(_("An account with this email address already exists."))
    if users.filter(username__iexact=username).exists():
        raise UsernameTaken(_("That username is taken."))


@transaction.atomic
def user_create(
    *, email: str, username: str, password: str | None = None, **profile_fields: Any
) -> User:
    """Create a member and their Profile in one transaction.

    Without `password` the account can only sign in through a provider (unusable password).
    `profile_fields` are Profile fields (display_name, bio, location, holiday_mode).
    Raises EmailTaken / UsernameTaken (case-insensitive), ValueError for unknown fields.
    """
    unknown = set(profile_fields) - PROFILE_FIELDS
    if unknown:
        raise ValueError(f"Unknown profile fields: {', '.join(sorted(unknown))}")
    email = User.objects.normalize_email(email).strip()
    _check_unique(email=email, username=username)
    user = User(email=email, username=username)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    return user_save_new(user=user, **profile_fields)


@transaction.atomic
def user_email_mark_verified(*, user: User) -> None:
    """Record `user.email` as their verified, primary address (allauth's EmailAddress).

    For accounts whose address is known good without a code (the demo logins, trusted
    imports): with mandatory verification, login asks for a code otherwise. Idempotent.
    """
    from allauth.account.models import EmailAddress

    EmailAddress.objects.update_or_create(
        user=user,
        email__iexact=user.email,
        defaults={"email": user.email, "verified": True, "primary": True},
    )


@transaction.atomic
def user_save_new(*, user: User, **profile_fields: Any) -> User:
    """Save a new, already populated `user` (e.g. by allauth's sign-up form) and its Profile.

    Raises EmailTaken / UsernameTaken if a concurrent sign-up took the address or handle.
    """
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        _check_unique(email=user.email, username=user.username)
        raise
    Profile.objects.create(user=user, **profile_fields)
    return user


@transaction.atomic
def profile_update(
    *,
    user: User,
    display_name: str,
    bio: str,
    location: str,
    holiday_mode: bool,
    avatar: UploadedFile | None = None,
    remove_avatar: bool = False,
) -> Profile:
    """Update the member's own profile; `avatar` is re-encoded to a WebP (at most 512 px).

    Raises django.core.exceptions.ValidationError (with a message for the member) for an
    avatar that is not a usable image. The replaced avatar file is deleted after commit.
    """
    profile = Profile.objects.select_for_update().get(pk=profile_for(user).pk)
    old_avatar_name = profile.avatar.name if profile.avatar else ""
    profile.display_name = display_name.strip()
    profile.bio = bio.strip()
    profile.location = location.strip()
    profile.holiday_mode = holiday_mode
    fields = ["display_name", "bio", "location", "holiday_mode", "updated_at"]
    if avatar is not None:
        processed = process_image(avatar, max_edge=AVATAR_MAX_EDGE, variant_widths=())
        profile.avatar.save(processed.main.file.name, processed.main.file, save=False)
        fields.append("avatar")
    elif remove_avatar and old_avatar_name:
        profile.avatar = ""
        fields.append("avatar")
    profile.save(update_fields=fields)
    user.profile = profile
    if "avatar" in fields and old_avatar_name and old_avatar_name != profile.avatar.name:
        storage = profile.avatar.storage if profile.avatar else default_storage
        transaction.on_commit(lambda: storage.delete(old_avatar_name))
    return profile


def profile_lock(*, user: User) -> Profile:
    """Lock `user`'s profile row for the rest of the caller's transaction (created first if
    missing). Callers that recompute something stored on the profile take it first, so two
    recomputations can't interleave. Must run inside transaction.atomic."""
    return Profile.objects.select_for_update().get(pk=profile_for(user).pk)


RATING_PLACES = Decimal("0.01")


def profile_rating_set(*, user: User, count: int, average: Decimal | None) -> Profile:
    """Store the seller's rating: `count` visible reviews with `average` stars (None when
    there are none). The one writer of Profile.rating_*; the reviews service calls it with
    the figures it just aggregated while holding profile_lock. Raises ValueError for figures
    that can't be a rating (the database's check constraint would refuse them too)."""
    if count < 0 or (count == 0) != (average is None):
        raise ValueError("A rating needs a count and an average, or neither.")
    if average is not None:
        average = Decimal(average).quantize(RATING_PLACES, rounding=ROUND_HALF_UP)
        if not Decimal(1) <= average <= Decimal(5):
            raise ValueError("An average rating is between 1 and 5.")
    with transaction.atomic():
        profile = profile_lock(user=user)
        profile.rating_count = count
        profile.rating_average = average
        profile.save(update_fields=["rating_count", "rating_average", "updated_at"])
    user.profile = profile
    return profile


@transaction.atomic
def user_deactivate(*, user: User, actor: User | None = None, reason: str = "") -> User:
    """Deactivate a member (never delete: orders and reviews keep pointing at them).

    They can no longer sign in. Audited as "user.deactivated". Idempotent.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit_log(action="user.deactivated", actor=actor, target=user, reason=reason)
    return user


@transaction.atomic
def user_set_banned(*, user_id: int, banned: bool, actor: Any, reason: str = "") -> User:
    """Ban or unban a member. A banned member can't sign in; their listings are hidden by
    Listing.objects.visible(). Locks the user row; audited. Raises BanNotAllowed for staff."""
    user = User.objects.select_for_update().get(pk=user_id)
    if banned and (user.is_staff or user.is_superuser):
        raise BanNotAllowed(f"{user} is staff; remove their staff role before banning.")
    if user.is_banned != banned:
        user.is_banned = banned
        user.save(update_fields=["is_banned"])
        audit_log(
            action="user.banned" if banned else "user.unbanned",
            actor=actor,
            target=user,
            reason=reason,
        )
    return user
