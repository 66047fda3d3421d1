"""POST /api/webhooks/auth: Svix-signed Clerk-style user events applied to local members."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from svix.webhooks import Webhook

from accounts.models import AuthWebhookEvent, Profile, User
from accounts.tests.factories import UserFactory
from core.models import AuditLog

DATA = Path(__file__).parent / "data"
SECRET = "whsec_" + base64.b64encode(b"threadly-test-webhook-secret-32b").decode()
URL = "/api/webhooks/auth"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _webhook_secret(settings):
    settings.CLERK_WEBHOOK_SECRET = SECRET


def payload(name: str) -> str:
    return (DATA / name).read_text()


def signed_headers(body: str, *, msg_id: str, when: datetime | None = None) -> dict[str, str]:
    when = when or datetime.now(tz=UTC)
    signature = Webhook(SECRET).sign(msg_id, when, body)
    return {
        "svix-id": msg_id,
        "svix-timestamp": str(int(when.timestamp())),
        "svix-signature": signature,
    }


def post(client, body: str, headers: dict[str, str]):
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def deliver(client, name: str, msg_id: str):
    body = payload(name)
    return post(client, body, signed_headers(body, msg_id=msg_id))


def test_webhook_url_name_resolves_to_api_path():
    """The route is named accounts:auth_webhook."""
    assert reverse("accounts:auth_webhook") == URL


def test_user_created_event_creates_member_with_profile(client):
    """user.created makes a local member keyed by external id, with its primary email."""
    response = deliver(client, "user_created.json", "msg_created_1")
    assert response.status_code == 200
    user = User.objects.get(external_id="user_2pXa1Created")
    assert user.email == "Maya@example.test"  # the primary one, domain normalised
    assert user.username == "maya_vintage"
    assert (user.first_name, user.last_name) == ("Maya", "Laurent")
    assert not user.has_usable_password()
    assert not user.is_staff
    assert not user.is_seller
    assert Profile.objects.get(user=user).display_name == "Maya Laurent"
    assert AuthWebhookEvent.objects.filter(event_id="msg_created_1").exists()


def test_signature_made_with_documented_scheme_is_accepted(client):
    """A signature computed by hand (base64 HMAC-SHA256 of id.timestamp.body) verifies."""
    body = payload("user_created.json")
    timestamp = str(int(datetime.now(tz=UTC).timestamp()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"msg_manual.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    headers = {
        "svix-id": "msg_manual",
        "svix-timestamp": timestamp,
        "svix-signature": "v1," + base64.b64encode(digest).decode(),
    }
    assert post(client, body, headers).status_code == 200
    assert User.objects.filter(external_id="user_2pXa1Created").exists()


def test_forged_signature_is_rejected_and_writes_nothing(client):
    """A body signed with another secret answers 400 and creates no user or event row."""
    body = payload("user_created.json")
    headers = signed_headers(body, msg_id="msg_forged")
    other = "whsec_" + base64.b64encode(b"not-the-real-secret-at-all-12345").decode()
    headers["svix-signature"] = Webhook(other).sign("msg_forged", datetime.now(tz=UTC), body)
    assert post(client, body, headers).status_code == 400
    assert not User.objects.exists()
    assert not AuthWebhookEvent.objects.exists()


def test_tampered_body_is_rejected(client):
    """Changing the body after signing (e.g. granting a role) fails verification."""
    body = payload("user_created.json")
    headers = signed_headers(body, msg_id="msg_tampered")
    tampered = body.replace('"public_metadata": {}', '"public_metadata": {"role": "admin"}')
    assert tampered != body
    assert post(client, tampered, headers).status_code == 400
    assert not User.objects.exists()


@pytest.mark.parametrize("missing", ["svix-id", "svix-timestamp", "svix-signature"])
def test_missing_svix_header_is_rejected(client, missing):
    """Without any one of the three Svix headers the request answers 400, nothing written."""
    body = payload("user_created.json")
    headers = signed_headers(body, msg_id="msg_missing")
    del headers[missing]
    assert post(client, body, headers).status_code == 400
    assert not User.objects.exists()
    assert not AuthWebhookEvent.objects.exists()


def test_garbled_signature_header_is_rejected(client):
    """A signature header that is not "v1,<base64>" answers 400 instead of crashing."""
    body = payload("user_created.json")
    headers = signed_headers(body, msg_id="msg_garbled")
    headers["svix-signature"] = "garbage-without-comma"
    assert post(client, body, headers).status_code == 400
    assert not User.objects.exists()


def test_stale_timestamp_is_rejected_even_when_correctly_signed(client):
    """A delivery signed 10 minutes ago (a replay) answers 400 and writes nothing."""
    body = payload("user_created.json")
    headers = signed_headers(
        body, msg_id="msg_stale", when=datetime.now(tz=UTC) - timedelta(minutes=10)
    )
    assert post(client, body, headers).status_code == 400
    assert not User.objects.exists()
    assert not AuthWebhookEvent.objects.exists()


def test_missing_secret_answers_503(client, settings):
    """With CLERK_WEBHOOK_SECRET unset the endpoint says it is not configured."""
    settings.CLERK_WEBHOOK_SECRET = ""
    response = deliver(client, "user_created.json", "msg_unconfigured")
    assert response.status_code == 503
    assert not User.objects.exists()


def test_get_is_not_allowed(client):
    """Only POST is accepted."""
    assert client.get(URL).status_code == 405


def test_duplicate_event_is_applied_once(client):
    """The same svix-id delivered twice answers 2xx both times and applies once."""
    first = deliver(client, "user_created.json", "msg_dup")
    User.objects.filter(external_id="user_2pXa1Created").update(first_name="Edited locally")
    second = deliver(client, "user_created.json", "msg_dup")
    assert first.status_code == 200
    assert second.status_code == 200
    assert second.json()["applied"] is False
    assert User.objects.count() == 1
    assert User.objects.get().first_name == "Edited locally"  # not re-applied
    assert AuthWebhookEvent.objects.count() == 1


def test_user_updated_changes_email_username_names_and_role(client):
    """user.updated rewrites the member's details and maps role "seller" to is_seller."""
    deliver(client, "user_created.json", "msg_c")
    response = deliver(client, "user_updated_seller.json", "msg_u")
    assert response.status_code == 200
    user = User.objects.get(external_id="user_2pXa1Created")
    assert user.email == "maya.new@example.test"
    assert user.username == "maya_sells"
    assert user.last_name == "Laurent-Dubois"
    assert user.is_seller
    assert not user.is_staff
    entry = AuditLog.objects.get(action="user.role_changed")
    assert entry.target_id == str(user.pk)
    assert entry.data["old"] == {"is_staff": False, "is_seller": False}
    assert entry.data["new"] == {"is_staff": False, "is_seller": True}


def test_user_updated_for_unknown_user_creates_them(client):
    """An update for an id we never saw (missed create) creates the member."""
    assert deliver(client, "user_updated_seller.json", "msg_u_only").status_code == 200
    assert User.objects.get(external_id="user_2pXa1Created").is_seller


def test_role_removed_clears_flags_and_is_audited(client):
    """An update without a role takes is_seller away again, audited."""
    deliver(client, "user_updated_seller.json", "msg_seller")
    deliver(client, "user_created.json", "msg_plain")  # same user, no role
    user = User.objects.get(external_id="user_2pXa1Created")
    assert not user.is_seller
    assert AuditLog.objects.filter(action="user.role_changed").count() == 2


def test_admin_role_without_username_gets_staff_and_a_unique_handle(client):
    """Role "admin" sets is_staff; a missing username is derived from the email and deduped."""
    UserFactory(username="taken.handle", email="someone.else@example.test")
    response = deliver(client, "user_created_admin_no_username.json", "msg_admin")
    assert response.status_code == 200
    user = User.objects.get(external_id="user_2pXa2Admin")
    assert user.is_staff
    assert not user.is_seller
    assert not user.is_superuser
    assert user.username == "taken.handle2"
    assert AuditLog.objects.filter(action="user.role_changed", target_id=str(user.pk)).exists()


def test_taken_username_is_made_unique(client):
    """A wanted username already used locally gets a numeric suffix instead of failing."""
    UserFactory(username="Maya_Vintage")
    assert deliver(client, "user_created.json", "msg_taken").status_code == 200
    assert User.objects.get(external_id="user_2pXa1Created").username == "maya_vintage2"


def test_user_deleted_deactivates_and_never_deletes(client):
    """user.deleted sets is_active False; the row (and its orders) stay."""
    deliver(client, "user_created.json", "msg_c")
    response = deliver(client, "user_deleted.json", "msg_d")
    assert response.status_code == 200
    user = User.objects.get(external_id="user_2pXa1Created")
    assert not user.is_active
    assert AuditLog.objects.filter(action="user.deactivated", target_id=str(user.pk)).exists()


def test_user_deleted_for_unknown_user_is_accepted(client):
    """Deleting someone we never had answers 2xx and creates nobody."""
    assert deliver(client, "user_deleted.json", "msg_d_unknown").status_code == 200
    assert not User.objects.exists()


def test_unknown_event_type_answers_2xx_and_writes_nothing(client):
    """session.created is not ours to handle: 2xx, no user, no event row."""
    response = deliver(client, "session_created.json", "msg_session")
    assert response.status_code == 200
    assert response.json()["applied"] is False
    assert not User.objects.exists()
    assert not AuthWebhookEvent.objects.exists()


def test_handler_failure_answers_500_and_rolls_back(client, monkeypatch):
    """If applying the event crashes, the answer is 500 and neither the user nor the event id
    is kept, so the provider's retry can apply it."""
    from accounts.services import webhook

    def broken_profile_create(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(webhook.Profile.objects, "create", broken_profile_create)
    response = deliver(client, "user_created.json", "msg_fail")
    assert response.status_code == 500
    assert not User.objects.exists()
    assert not AuthWebhookEvent.objects.exists()
    monkeypatch.undo()
    assert deliver(client, "user_created.json", "msg_fail").status_code == 200
    assert User.objects.filter(external_id="user_2pXa1Created").exists()


def test_event_with_email_of_unverified_local_account_is_refused(client):
    """An unverified provider email matching a local account does not take it over."""
    local = UserFactory(email="maya@example.test")
    body = json.loads(payload("user_created.json"))
    for address in body["data"]["email_addresses"]:
        address["verification"] = {"status": "unverified"}
    text = json.dumps(body)
    response = post(client, text, signed_headers(text, msg_id="msg_takeover"))
    assert response.status_code == 422
    local.refresh_from_db()
    assert local.external_id is None
    assert not AuthWebhookEvent.objects.exists()


def test_event_with_verified_email_links_existing_local_account(client):
    """A verified provider email matching a local account links it instead of duplicating."""
    local = UserFactory(email="maya@example.test", username="maya_local")
    assert deliver(client, "user_created.json", "msg_link").status_code == 200
    local.refresh_from_db()
    assert local.external_id == "user_2pXa1Created"
    assert User.objects.count() == 1


def test_overlong_event_id_is_rejected_cleanly(client):
    """A signed delivery whose svix-id does not fit our column answers 400, not 500."""
    response = deliver(client, "user_created.json", "msg_" + "x" * 120)
    assert response.status_code == 400
    assert not User.objects.exists()


def test_malformed_json_with_valid_signature_is_rejected(client):
    """A correctly signed body that is not an event object answers 400."""
    body = "[1, 2, 3]"
    assert post(client, body, signed_headers(body, msg_id="msg_list")).status_code == 400
    assert not AuthWebhookEvent.objects.exists()
