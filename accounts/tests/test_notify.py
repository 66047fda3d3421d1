"""Notification emails: per-kind opt-out, signed unsubscribe links that work without login."""

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from accounts.models import EmailKind, EmailOptOut
from accounts.services import (
    email_allowed,
    member_email_send,
    unsubscribe_token_read,
    unsubscribe_url,
)
from accounts.services.notify import unsubscribe_token
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOCMEM_TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "OPTIONS": {
            "loaders": [
                (
                    "django.template.loaders.locmem.Loader",
                    {
                        "email/hello.txt": "Hi {{ recipient.username }} {{ unsubscribe_url }}",
                        "email/hello.html": "<p>Hi {{ recipient.username }}</p>",
                    },
                )
            ]
        },
    }
]


@override_settings(TEMPLATES=LOCMEM_TEMPLATES)
def test_member_email_carries_one_click_unsubscribe_headers():
    """A notification names its unsubscribe link in the body and the List-Unsubscribe headers."""
    user = UserFactory()
    assert member_email_send(user=user, kind=EmailKind.OFFERS, subject="Hi", template="hello")
    (message,) = mail.outbox
    link = unsubscribe_url(user=user, kind=EmailKind.OFFERS)
    assert link in message.body
    assert message.extra_headers["List-Unsubscribe"] == f"<{link}>"
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@override_settings(TEMPLATES=LOCMEM_TEMPLATES)
def test_member_email_not_sent_after_opt_out_or_to_banned_member():
    """An opted-out kind, a banned member and a member without an address get nothing."""
    opted_out = UserFactory()
    EmailOptOut.objects.create(user=opted_out, kind=EmailKind.OFFERS)
    banned = UserFactory(is_banned=True)
    for user in (opted_out, banned):
        assert not member_email_send(
            user=user, kind=EmailKind.OFFERS, subject="Hi", template="hello"
        )
    assert mail.outbox == []
    # Another kind still reaches the opted-out member.
    assert email_allowed(user=opted_out, kind=EmailKind.REVIEWS)


def test_unsubscribe_get_shows_confirmation_and_changes_nothing(client):
    """A link prefetcher's GET must not unsubscribe anyone."""
    user = UserFactory()
    response = client.get(unsubscribe_url(user=user, kind=EmailKind.PRICE_DROPS))
    assert response.status_code == 200
    assert b"Unsubscribe" in response.content
    assert email_allowed(user=user, kind=EmailKind.PRICE_DROPS)


def test_unsubscribe_post_without_login_turns_one_kind_off_and_back_on(client):
    """The button or a one-click POST turns off that kind only; resubscribe undoes it."""
    user = UserFactory()
    url = unsubscribe_url(user=user, kind=EmailKind.PRICE_DROPS)
    response = client.post(url, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert not email_allowed(user=user, kind=EmailKind.PRICE_DROPS)
    assert email_allowed(user=user, kind=EmailKind.MESSAGES)
    client.post(url, {"List-Unsubscribe": "One-Click"})  # twice is fine
    assert EmailOptOut.objects.filter(user=user).count() == 1
    client.post(url, {"action": "resubscribe"})
    assert email_allowed(user=user, kind=EmailKind.PRICE_DROPS)


@pytest.mark.parametrize("token", ["nonsense", "a" * 300, "e30:1abc:xyz"])
def test_unsubscribe_forged_token_is_a_clear_404(client, token):
    """A damaged or forged token changes nothing and says so."""
    response = client.post(reverse("accounts:unsubscribe", args=[token]))
    assert response.status_code == 404
    assert b"link doesn" in response.content
    assert not EmailOptOut.objects.exists()


def test_unsubscribe_token_for_unknown_kind_is_refused():
    """A validly signed token must still name a known kind."""
    user = UserFactory()
    assert unsubscribe_token_read(unsubscribe_token(user=user, kind="bogus")) is None
    assert unsubscribe_token_read(unsubscribe_token(user=user, kind="offers")) == (
        user.pk,
        "offers",
    )
