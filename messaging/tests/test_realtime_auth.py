"""POST /pusher/auth: who may listen on which channel (everything else is a 403, never a 500)."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory
from messaging.realtime import conversation_channel, user_channel
from messaging.tests.pusher_server import (
    channel_auth,
)

pytestmark = pytest.mark.django_db

SOCKET_ID = "123.456"
FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


@pytest.fixture
def url() -> str:
    return reverse("realtime:pusher_auth")


@pytest.fixture
def member_client(buyer) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(buyer)
    return client


def ask(client: Client, url: str, channel: str, socket_id: str = SOCKET_ID):
    return client.post(url, {"socket_id": socket_id, "channel_name": channel})


def test_own_user_channel_is_signed_as_pusher_checks(pusher_server, member_client, url, buyer):
    """A member may hear their own user channel; the answer is what the server verifies."""
    response = ask(member_client, url, user_channel(buyer.pk))
    assert response.status_code == 200
    assert response.json() == {
        "auth": channel_auth(
            key=pusher_server.key,
            secret=pusher_server.secret,
            socket_id=SOCKET_ID,
            channel=user_channel(buyer.pk),
        )
    }
    assert "no-cache" in response["Cache-Control"]


def test_anonymous_visitors_get_a_json_403(pusher_server, url, buyer):
    """Logged out: 403 with a JSON error (pusher-js reports it), nothing signed."""
    response = ask(Client(), url, user_channel(buyer.pk))
    assert response.status_code == 403
    assert "error" in response.json()


def test_another_members_user_channel_is_refused(pusher_server, member_client, url, stranger):
    """Nobody hears someone else's unread count."""
    response = ask(member_client, url, user_channel(stranger.pk))
    assert response.status_code == 403


def test_conversation_channel_only_for_participants(
    pusher_server, member_client, url, buyer, participant_check
):
    """The participant check decides: yes is signed, no is 403."""
    participant_check.allow(41)
    assert ask(member_client, url, conversation_channel(41)).status_code == 200
    assert ask(member_client, url, conversation_channel(42)).status_code == 403
    assert participant_check.calls == [(buyer.pk, 41), (buyer.pk, 42)]


def test_banned_member_is_refused_even_their_own_channels(
    pusher_server, member_client, url, buyer, participant_check
):
    """A member banned after logging in hears nothing more."""
    participant_check.allow(41)
    buyer.is_banned = True
    buyer.save(update_fields=["is_banned"])
    assert ask(member_client, url, user_channel(buyer.pk)).status_code == 403
    assert ask(member_client, url, conversation_channel(41)).status_code == 403


def test_refused_when_pusher_is_not_configured(settings, member_client, url, buyer):
    """The local default signs nothing: a clear 403, not a 500."""
    settings.PUSHER_APP_ID = settings.PUSHER_KEY = settings.PUSHER_SECRET = ""
    response = ask(member_client, url, user_channel(buyer.pk))
    assert response.status_code == 403
    assert response.json() == {"error": "Live updates are not available."}


@pytest.mark.parametrize(
    "channel",
    [
        "",
        "private-user-",
        "private-user-0",
        "private-user-01",
        "private-user--1",
        "private-user-1x",
        "private-user-1\n",
        " private-user-1",
        "private-user-١",
        "private-conversation-1234567890123456789",
        "private-encrypted-user-1",
        "presence-user-1",
        "public-user-1",
        "private-listing-1",
        "x" * 500,
    ],
)
def test_malformed_channel_names_are_403(
    pusher_server, member_client, url, participant_check, channel
):
    """Only the two private channel patterns, in canonical form, are considered."""
    participant_check.answer = lambda **kwargs: True
    assert ask(member_client, url, channel).status_code == 403
    assert participant_check.calls == []


@pytest.mark.parametrize(
    "socket_id",
    ["", "123", "123.", ".456", "1.2.3", "abc.def", "١٢٣.٤٥٦", "123.456\n", " 123.456",
     "-1.2", "1" * 30 + "." + "2" * 30],
)  # fmt: skip
def test_malformed_socket_ids_are_403(pusher_server, member_client, url, buyer, socket_id):
    """A socket id is two runs of ASCII digits: anything else is refused before signing."""
    assert ask(member_client, url, user_channel(buyer.pk), socket_id).status_code == 403


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("", FORM),
        ('{"socket_id": "123.456", "channel_name": "private-user-1"}', "application/json"),
        ("socket_id=1.2&socket_id=x&channel_name=private-user-1", FORM),
        ("socket_id=%ff%fe&channel_name=%00", FORM),
        ("\x00\xff garbage", "text/plain"),
        ("--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--", MULTIPART + "; boundary=b"),
        ("--nope", MULTIPART),
        ("socket_id=123.456%00&channel_name=private-user-1", FORM),
        ("socket_id=123.456&channel_name=private-user-1%00", FORM),
    ],
)  # fmt: skip
def test_odd_bodies_are_403_never_500(pusher_server, member_client, url, body, content_type):
    """Whatever the body, the answer is a JSON 403 (or the project's 400 for an unparseable
    upload or a NUL byte, core.request_guard)."""
    response = member_client.post(url, body, content_type=content_type)
    assert response.status_code in (400, 403), response.status_code
    if response.status_code == 403:
        assert "error" in json.loads(response.content)


def test_get_is_not_allowed(pusher_server, member_client, url):
    """Only pusher-js's POST is answered."""
    response = member_client.get(url)
    assert response.status_code == 405


def test_csrf_stays_on_and_the_header_token_passes(pusher_server, url):
    """Without the token: 403; with X-CSRFToken (as realtime.js sends it): signed."""
    member = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.get(reverse("account_login"))  # sets the CSRF cookie, as any page with a form
    token = client.cookies["csrftoken"].value
    client.force_login(member)
    assert ask(client, url, user_channel(member.pk)).status_code == 403
    response = client.post(
        url,
        {"socket_id": SOCKET_ID, "channel_name": user_channel(member.pk)},
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 200
    assert response.json()["auth"].startswith(pusher_server.key + ":")
