"""Clerk's user event payloads mapped to our events (accounts/auth_provider/base.py).

Only the shape is checked here: a signed event whose fields have the wrong JSON types raises
WebhookPayloadError (422: a retry would fail the same way). Whether the values fit our rules
and columns is the service's business.
"""

from typing import Any

from accounts.auth_provider.base import AuthEvent, Ignored, ProviderUser, UserChanged, UserDeleted
from accounts.exceptions import MalformedWebhook, WebhookPayloadError

USER_CHANGED = ("user.created", "user.updated")
USER_DELETED = "user.deleted"


def event_from_payload(*, event_id: str, payload: Any) -> AuthEvent:
    """A verified Clerk event as our event. Raises MalformedWebhook when it is not an event
    object with a type, WebhookPayloadError when a handled event has fields of wrong types."""
    try:
        event_type = str(payload["type"])
        data = payload.get("data") or {}
    except (KeyError, TypeError, AttributeError) as exc:
        raise MalformedWebhook("Malformed event.") from exc
    if event_type not in (*USER_CHANGED, USER_DELETED):
        return Ignored(event_id=event_id, event_type=event_type)
    if not isinstance(data, dict):
        raise WebhookPayloadError("The event's data is not an object.")
    if event_type == USER_DELETED:
        return UserDeleted(
            event_id=event_id, event_type=event_type, external_id=str(data.get("id") or "").strip()
        )
    return UserChanged(event_id=event_id, event_type=event_type, user=_provider_user(data))


def _optional(value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if value is not None and not isinstance(value, kind):
        raise WebhookPayloadError(f"{what} has the wrong type.")


def _check_types(data: dict[str, Any]) -> None:
    _optional(data.get("id"), (str, int), "data.id")
    for field in ("username", "first_name", "last_name", "primary_email_address_id"):
        _optional(data.get(field), str, f"data.{field}")
    _optional(data.get("public_metadata"), dict, "data.public_metadata")
    _optional((data.get("public_metadata") or {}).get("role"), str, "public_metadata.role")
    _optional(data.get("email_addresses"), list, "data.email_addresses")
    for entry in data.get("email_addresses") or []:
        _optional(entry, dict, "an email_addresses entry")
        if entry is None:
            raise WebhookPayloadError("An email_addresses entry is empty.")
        _optional(entry.get("email_address"), str, "email_address")
        _optional(entry.get("verification"), dict, "verification")


def _provider_user(data: dict[str, Any]) -> ProviderUser:
    _check_types(data)
    addresses = [a for a in data.get("email_addresses") or [] if a.get("email_address")]
    primary_id = data.get("primary_email_address_id")
    chosen = next((a for a in addresses if a.get("id") == primary_id), None)
    chosen = chosen or (addresses[0] if addresses else None)
    return ProviderUser(
        external_id=str(data.get("id") or "").strip(),
        primary_email=chosen["email_address"].strip() if chosen else "",
        primary_email_verified=bool(
            chosen and (chosen.get("verification") or {}).get("status") == "verified"
        ),
        emails=tuple(a["email_address"].strip() for a in addresses),
        username=(data.get("username") or "").strip(),
        first_name=data.get("first_name") or "",
        last_name=data.get("last_name") or "",
        role=((data.get("public_metadata") or {}).get("role") or "").strip().lower(),
    )
