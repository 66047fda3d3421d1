"""Correctly signed but malformed identity-provider events are refused, not a 500."""

import json
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse
from svix.webhooks import Webhook

from accounts.models import User
from tests.robustness.world import CLERK_WEBHOOK_SECRET, XSS, assert_no_crash

pytestmark = pytest.mark.django_db


# --- Correctly signed but malformed identity-provider events -------------------------------
WEBHOOK_SECRET = CLERK_WEBHOOK_SECRET


def _clerk_user(**overrides) -> dict:
    data = {
        "id": "user_scanner",
        "username": "scanned",
        "first_name": "Scan",
        "last_name": "Ner",
        "primary_email_address_id": "idn_1",
        "email_addresses": [
            {
                "id": "idn_1",
                "email_address": "scanned@example.test",
                "verification": {"status": "verified"},
            }
        ],
        "public_metadata": {},
    }
    data.update(overrides)
    return data


MALFORMED_EVENTS = {
    "data is a list": {"type": "user.created", "data": [1, 2]},
    "data is a string": {"type": "user.created", "data": "x"},
    "type is a dict": {"type": {"a": 1}, "data": {}},
    "metadata is a string": {"type": "user.created", "data": _clerk_user(public_metadata="x")},
    "role is a number": {"type": "user.created", "data": _clerk_user(public_metadata={"role": 1})},
    "first name is a number": {"type": "user.created", "data": _clerk_user(first_name=7)},
    "username is markup": {"type": "user.created", "data": _clerk_user(username=XSS)},
    "username has NUL": {"type": "user.created", "data": _clerk_user(username="a\x00b")},
    "id is 500 chars": {"type": "user.created", "data": _clerk_user(id="u" * 500)},
    "id is a dict": {"type": "user.created", "data": _clerk_user(id={"x": 1})},
    "email is 300 chars": {
        "type": "user.created",
        "data": _clerk_user(
            email_addresses=[
                {
                    "id": "idn_1",
                    "email_address": "e" * 300 + "@example.test",
                    "verification": {"status": "verified"},
                }
            ]
        ),
    },
    "emails is a string": {"type": "user.created", "data": _clerk_user(email_addresses="x")},
    "email entry is null": {"type": "user.created", "data": _clerk_user(email_addresses=[None])},
    "deleted without id": {"type": "user.deleted", "data": {}},
}


@pytest.mark.parametrize("case", list(MALFORMED_EVENTS))
def test_signed_but_malformed_auth_events_are_refused_not_500(world, settings, case):
    """A correctly signed event with wrong types or oversized values is a 4xx (or ignored with
    2xx), never a 500 that makes the provider retry forever; no staff account appears."""
    settings.CLERK_WEBHOOK_SECRET = WEBHOOK_SECRET
    body = json.dumps(MALFORMED_EVENTS[case])
    when = datetime.now(tz=UTC)
    msg_id = "msg_" + "".join(c for c in case if c.isalnum())
    headers = {
        "svix-id": msg_id,
        "svix-timestamp": str(int(when.timestamp())),
        "svix-signature": Webhook(WEBHOOK_SECRET).sign(msg_id, when, body),
    }
    staff_before = User.objects.filter(is_staff=True).count()
    response = Client(raise_request_exception=False).post(
        reverse("accounts:auth_webhook"), body, content_type="application/json", headers=headers
    )
    assert_no_crash(response, case)
    assert User.objects.filter(is_staff=True).count() == staff_before
    for user in User.objects.exclude(pk__in=[world.owner.pk, world.buyer.pk]):
        assert "<" not in user.username
        assert "\x00" not in user.username
