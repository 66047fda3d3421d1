"""Reads for accounts. Every member has a Profile: `profile_for` guarantees it."""

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from accounts.models import Profile, User


def profile_for(user: User) -> Profile:
    """The member's profile, created on first access for users made outside our services
    (createsuperuser, the admin's user form, old rows)."""
    try:
        return user.profile
    except Profile.DoesNotExist:
        pass
    try:
        with transaction.atomic():
            profile, _ = Profile.objects.get_or_create(user=user)
    except IntegrityError:  # a concurrent request created it first
        profile = Profile.objects.get(user=user)
    user.profile = profile
    return profile


def user_get_by_external_id(*, external_id: str) -> User | None:
    return User.objects.select_related("profile").filter(external_id=external_id).first()


def users_with_profiles() -> QuerySet[User]:
    return User.objects.select_related("profile")


def username_is_taken(username: str, *, exclude_pk: int | None = None) -> bool:
    qs = User.objects.filter(username__iexact=username)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.exists()


def users_joined_count(*, since) -> int:
    """How many members signed up since `since` (for the staff dashboard)."""
    return User.objects.filter(date_joined__gte=since).count()


def avatar_file_names() -> set[str]:
    """Every stored avatar file (for the operator's storage_clean)."""
    return set(Profile.objects.exclude(avatar="").values_list("avatar", flat=True))


def user_for_unsubscribe(user_id: int) -> User | None:
    """The member an unsubscribe link names, whatever their state (a banned member may still
    turn emails off)."""
    return User.objects.filter(pk=user_id).first()


def user_email_is_verified(user: User) -> bool:
    """The member confirmed their current email address (allauth's EmailAddress), as needed
    before they make offers to other members."""
    from allauth.account.models import EmailAddress  # allauth's models need the app registry

    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()
