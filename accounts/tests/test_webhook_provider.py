"""The auth-provider adapter: Svix verification and Clerk payloads mapped to our events."""

import json
from pathlib import Path

import pytest

from accounts.auth_provider import get_auth_provider
from accounts.auth_provider.base import (
    EVENT_ID_MAX_LENGTH,
    Ignored,
    ProviderUser,
    UserChanged,
    UserDeleted,
)
from accounts.auth_provider.clerk import event_from_payload
from accounts.auth_provider.local import LocalAuthProvider
from accounts.auth_provider.svix import SvixAuthProvider
from accounts.exceptions import AuthProviderNotConfigured, WebhookPayloadError
from accounts.models import AuthWebhookEvent, User
from accounts.tests.test_webhook import SECRET, post, signed_headers

DATA = Path(__file__).parent / "data"


def payload(name: str) -> dict:
    return json.loads((DATA / name).read_text())


def test_user_created_maps_to_user_changed_with_primary_email():
    """user.created carries the member in our words: the primary address (as sent, stripped),
    every address for checking, the wanted handle and names."""
    event = event_from_payload(event_id="msg_1", payload=payload("user_created.json"))
    assert event == UserChanged(
        event_id="msg_1",
        event_type="user.created",
        user=ProviderUser(
            external_id="user_2pXa1Created",
            primary_email="Maya@Example.test",
            primary_email_verified=True,
            emails=("old.maya@example.test", "Maya@Example.test"),
            username="maya_vintage",
            first_name="Maya",
            last_name="Laurent",
            role="",
        ),
    )


def test_role_is_lower_cased_and_deleted_carries_only_the_id():
    """The role is read from public_metadata; user.deleted needs only the external id."""
    updated = event_from_payload(event_id="m", payload=payload("user_updated_seller.json"))
    assert isinstance(updated, UserChanged)
    assert updated.user.role == "seller"
    deleted = event_from_payload(event_id="m", payload=payload("user_deleted.json"))
    assert deleted == UserDeleted(
        event_id="m", event_type="user.deleted", external_id="user_2pXa1Created"
    )


def test_unhandled_type_is_ignored_without_reading_data():
    """session.created is Ignored, whatever its data looks like."""
    event = event_from_payload(event_id="m", payload={"type": "session.created", "data": [1]})
    assert event == Ignored(event_id="m", event_type="session.created")


@pytest.mark.parametrize(
    "data",
    [
        [1, 2],
        {"id": {"nested": True}},
        {"id": "u", "email_addresses": "maya@example.test"},
        {"id": "u", "email_addresses": [None]},
        {"id": "u", "public_metadata": {"role": 3}},
    ],
)
def test_fields_of_the_wrong_type_raise_payload_error(data):
    """A handled event whose fields have wrong JSON types is a WebhookPayloadError (422)."""
    with pytest.raises(WebhookPayloadError):
        event_from_payload(event_id="m", payload={"type": "user.created", "data": data})


def test_provider_chosen_by_settings(settings):
    """CLERK_WEBHOOK_SECRET selects the Svix provider; without it the local one."""
    settings.CLERK_WEBHOOK_SECRET = SECRET
    assert isinstance(get_auth_provider(), SvixAuthProvider)
    settings.CLERK_WEBHOOK_SECRET = ""
    assert isinstance(get_auth_provider(), LocalAuthProvider)


def test_local_provider_refuses_as_not_configured():
    """The local default has no provider to trust: every delivery is 'not configured'."""
    with pytest.raises(AuthProviderNotConfigured):
        LocalAuthProvider().parse_webhook(b"{}", {})


@pytest.mark.django_db
def test_unusable_secret_answers_503(client, settings):
    """A CLERK_WEBHOOK_SECRET that is not a Svix secret says the webhook is not configured."""
    settings.CLERK_WEBHOOK_SECRET = "whsec_x"  # one base64 character: not decodable
    body = json.dumps(payload("user_created.json"))
    response = post(client, body, signed_headers(body, msg_id="msg_bad_secret"))
    assert response.status_code == 503
    assert not AuthWebhookEvent.objects.exists()


@pytest.mark.django_db
def test_signed_event_with_wrong_types_answers_422_and_writes_nothing(client, settings):
    """A signed user.created whose email_addresses is not a list answers 422, no rows."""
    settings.CLERK_WEBHOOK_SECRET = SECRET
    body = json.dumps({"type": "user.created", "data": {"id": "u1", "email_addresses": "x"}})
    response = post(client, body, signed_headers(body, msg_id="msg_types"))
    assert response.status_code == 422
    assert not User.objects.exists()
    assert not AuthWebhookEvent.objects.exists()


@pytest.mark.django_db
def test_event_id_limit_matches_the_stored_column():
    """The adapter's id limit is AuthWebhookEvent.event_id's length."""
    assert AuthWebhookEvent._meta.get_field("event_id").max_length == EVENT_ID_MAX_LENGTH
