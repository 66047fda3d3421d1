"""The identity provider's (Clerk-style) user events, applied to local members.

The view verifies the Svix signature; this module applies a verified event exactly once.
"""

import re
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.exceptions import WebhookPayloadError
from accounts.models import AuthWebhookEvent, Profile, User
from accounts.selectors import profile_for
from accounts.services.users import user_deactivate
from core.audit import audit_log

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


def _primary_email(data: dict[str, Any]) -> tuple[str, bool]:
    """The primary email address and whether the provider verified it."""
    addresses = [a for a in data.get("email_addresses") or [] if a.get("email_address")]
    primary_id = data.get("primary_email_address_id")
    chosen = next((a for a in addresses if a.get("id") == primary_id), None)
    chosen = chosen or (addresses[0] if addresses else None)
    if chosen is None:
        return "", False
    verified = (chosen.get("verification") or {}).get("status") == "verified"
    return User.objects.normalize_email(chosen["email_address"].strip()), verified


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


def _role_flags(data: dict[str, Any]) -> dict[str, bool]:
    role = ((data.get("public_metadata") or {}).get("role") or "").strip().lower()
    return {"is_staff": role == "admin", "is_seller": role == "seller"}


def _check_shape(data: dict[str, Any]) -> None:
    """Refuse a signed event whose fields have the wrong type or length (422, not a 500 that
    the provider would retry forever)."""

    def optional(value: Any, kind: type | tuple[type, ...], what: str) -> None:
        if value is not None and not isinstance(value, kind):
            raise WebhookPayloadError(f"{what} has the wrong type.")

    optional(data.get("id"), (str, int), "data.id")
    if len(str(data.get("id") or "")) > User._meta.get_field("external_id").max_length:
        raise WebhookPayloadError("data.id is too long.")
    for field in ("username", "first_name", "last_name", "primary_email_address_id"):
        optional(data.get(field), str, f"data.{field}")
    optional(data.get("public_metadata"), dict, "data.public_metadata")
    optional((data.get("public_metadata") or {}).get("role"), str, "public_metadata.role")
    optional(data.get("email_addresses"), list, "data.email_addresses")
    for entry in data.get("email_addresses") or []:
        optional(entry, dict, "an email_addresses entry")
        if entry is None:
            raise WebhookPayloadError("An email_addresses entry is empty.")
        address = entry.get("email_address")
        optional(address, str, "email_address")
        optional(entry.get("verification"), dict, "verification")
        if address:
            try:
                validate_email(address.strip())
            except ValidationError:
                raise WebhookPayloadError("An email address is not valid.") from None
            if len(address.strip()) > User._meta.get_field("email").max_length:
                raise WebhookPayloadError("An email address is too long.")


def _user_upsert(data: dict[str, Any]) -> User:
    _check_shape(data)
    external_id = str(data.get("id") or "").strip()
    if not external_id:
        raise WebhookPayloadError("The event has no user id (data.id).")
    email, email_verified = _primary_email(data)
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

    wanted = (data.get("username") or "").strip()
    exclude_pk = None if creating else user.pk
    if wanted and _HANDLE.match(wanted) and _username_free(wanted, exclude_pk=exclude_pk):
        user.username = wanted
    elif creating:
        user.username = _unique_username(
            [wanted, email.split("@")[0], data.get("first_name") or ""]
        )
    user.first_name = (data.get("first_name") or "")[:150]
    user.last_name = (data.get("last_name") or "")[:150]

    old_roles = {"is_staff": user.is_staff, "is_seller": user.is_seller}
    new_roles = _role_flags(data)
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


def _on_user_created(data: dict[str, Any]) -> None:
    _user_upsert(data)


def _on_user_updated(data: dict[str, Any]) -> None:
    _user_upsert(data)


def _on_user_deleted(data: dict[str, Any]) -> None:
    external_id = str(data.get("id") or "").strip()
    user = User.objects.filter(external_id=external_id).first() if external_id else None
    if user is not None:
        user_deactivate(user=user, reason="deleted at the identity provider")


HANDLERS: dict[str, Callable[[dict[str, Any]], None]] = {
    "user.created": _on_user_created,
    "user.updated": _on_user_updated,
    "user.deleted": _on_user_deleted,
}


@transaction.atomic
def auth_webhook_event_apply(*, event_id: str, event_type: str, data: dict[str, Any]) -> bool:
    """Apply one verified event, once. Returns False for a duplicate or an unknown type.

    The event id is stored in the same transaction as the change, so a failure rolls both
    back and the provider's retry applies it again. Raises WebhookPayloadError for a payload
    that cannot be applied; any other exception rolls everything back too.
    """
    handler = HANDLERS.get(event_type)
    if handler is None:
        return False
    try:
        with transaction.atomic():
            AuthWebhookEvent.objects.create(event_id=event_id, event_type=event_type)
    except IntegrityError:
        return False
    if not isinstance(data, dict):
        raise WebhookPayloadError("The event's data is not an object.")
    handler(data)
    return True
