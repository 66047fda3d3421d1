"""The identity provider's (Clerk-style) user events, applied to local members.

The auth-provider adapter (accounts/auth_provider/) verifies a delivery and maps it to our
events; this module applies a verified event exactly once.
"""

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.auth_provider.base import AuthEvent, ProviderUser, UserChanged, UserDeleted
from accounts.exceptions import WebhookPayloadError
from accounts.models import AuthWebhookEvent, Profile, User
from accounts.selectors import profile_for
from accounts.services.users import user_deactivate
from core.audit import audit_log
from core.webhooks import record_once

USERNAME_MAX = 30
SYNCED_FIELDS = (
    "external_id",
    "email",
    "username",
    "first_name",
    "last_name",
    "is_staff",
    "is_seller",
)
_NOT_HANDLE = re.compile(r"[^a-zA-Z0-9_.-]+")
_HANDLE = re.compile(r"^[a-zA-Z0-9_.-]{3,30}$")


def _username_free(username: str, *, exclude_pk: int | None) -> bool:
    users = User.objects.filter(username__iexact=username)
    if exclude_pk is not None:
        users = users.exclude(pk=exclude_pk)
    return not users.exists()


def _unique_username(candidates: list[str], *, exclude_pk: int | None = None) -> str:
    """The first candidate that makes a valid handle, with a number added if it is taken."""
    base = "member"
    for candidate in candidates:
        handle = _NOT_HANDLE.sub("", candidate or "")[:USERNAME_MAX]
        if len(handle) >= 3:
            base = handle
            break
    if _username_free(base, exclude_pk=exclude_pk):
        return base
    stem = base[: USERNAME_MAX - 5]
    for n in range(2, 100_000):
        if _username_free(f"{stem}{n}", exclude_pk=exclude_pk):
            return f"{stem}{n}"
    raise WebhookPayloadError(_("Could not derive a free username."))


def _role_flags(provider_user: ProviderUser) -> dict[str, bool]:
    return {"is_staff": provider_user.role == "admin", "is_seller": provider_user.role == "seller"}


def _check_values(provider_user: ProviderUser) -> None:
    """Refuse values that do not fit our columns or are not email addresses (422, not a 500
    that the provider would retry forever)."""
    if len(provider_user.external_id) > User._meta.get_field("external_id").max_length:
        raise WebhookPayloadError("data.id is too long.")
    for address in provider_user.emails:
        try:
            validate_email(address)
        except ValidationError:
            raise WebhookPayloadError("An email address is not valid.") from None
        if len(address) > User._meta.get_field("email").max_length:
            raise WebhookPayloadError("An email address is too long.")


def _user_upsert(provider_user: ProviderUser) -> User:
    _check_values(provider_user)
    external_id = provider_user.external_id
    if not external_id:
        raise WebhookPayloadError("The event has no user id (data.id).")
    email = (
        User.objects.normalize_email(provider_user.primary_email)
        if provider_user.primary_email
        else ""
    )
    email_verified = provider_user.primary_email_verified
    user = User.objects.select_for_update().filter(external_id=external_id).first()
    if user is None and email:
        # Link a local account with the same address only when the provider verified it,
        # otherwise anyone could claim an account by signing up there with its email.
        local = User.objects.select_for_update().filter(email__iexact=email).first()
        if local is not None:
            if local.external_id or not email_verified:
                raise WebhookPayloadError("The email belongs to another local account.")
            user = local
            user.external_id = external_id
    creating = user is None
    if creating:
        if not email:
            raise WebhookPayloadError("The event has no email address for a new user.")
        user = User(external_id=external_id, email=email)
        user.set_unusable_password()
    elif email and email.lower() != user.email.lower():
        if User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
            raise WebhookPayloadError("The new email belongs to another local account.")
        user.email = email

    wanted = provider_user.username
    exclude_pk = None if creating else user.pk
    if wanted and _HANDLE.match(wanted) and _username_free(wanted, exclude_pk=exclude_pk):
        user.username = wanted
    elif creating:
        user.username = _unique_username([wanted, email.split("@")[0], provider_user.first_name])
    user.first_name = provider_user.first_name[:150]
    user.last_name = provider_user.last_name[:150]

    old_roles = {"is_staff": user.is_staff, "is_seller": user.is_seller}
    new_roles = _role_flags(provider_user)
    user.is_staff = new_roles["is_staff"]
    user.is_seller = new_roles["is_seller"]
    if creating:
        user.save()
    else:
        user.save(update_fields=[*SYNCED_FIELDS])
    if creating:
        display_name = f"{user.first_name} {user.last_name}".strip()[:60]
        Profile.objects.create(user=user, display_name=display_name)
    else:
        profile_for(user)
    if old_roles != new_roles:
        audit_log(
            action="user.role_changed",
            target=user,
            source="auth_webhook",
            old=old_roles,
            new=new_roles,
        )
    return user


def _on_user_changed(event: UserChanged) -> None:
    _user_upsert(event.user)


def _on_user_deleted(event: UserDeleted) -> None:
    user = User.objects.filter(external_id=event.external_id).first() if event.external_id else None
    if user is not None:
        user_deactivate(user=user, reason="deleted at the identity provider")


# Event classes not listed here (Ignored) are neither applied nor stored.
HANDLERS: dict[type[AuthEvent], Callable[[Any], None]] = {
    UserChanged: _on_user_changed,
    UserDeleted: _on_user_deleted,
}


@transaction.atomic
def auth_webhook_event_apply(*, event: AuthEvent) -> bool:
    """Apply one verified event, once. Returns False for a duplicate or an unhandled type.

    The event id is stored in the same transaction as the change, so a failure rolls both
    back and the provider's retry applies it again. Raises WebhookPayloadError for a payload
    that cannot be applied; any other exception rolls everything back too.
    """
    handler = HANDLERS.get(type(event))
    if handler is None:
        return False
    if not record_once(AuthWebhookEvent, event_id=event.event_id, event_type=event.event_type):
        return False
    handler(event)
    return True
