"""Notification emails to members: one home for "may we email them about this?", the
unsubscribe link per kind and the one-click unsubscribe headers (RFC 8058).

Account and order emails are not optional and don't come through here.
"""

import logging

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from accounts.models import EmailKind, EmailOptOut, User

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "threadly.accounts.unsubscribe"


def unsubscribe_token(*, user: User, kind: str) -> str:
    """A signed, non-expiring token naming the member and the kind (no login needed). The same
    member and kind always give the same token (no timestamp), so every email carries one link."""
    return signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(
        {"u": user.pk, "k": str(kind)}, compress=True
    )


def unsubscribe_token_read(token: str) -> tuple[int, str] | None:
    """(user id, kind) from a token, or None when it is forged, damaged or names no kind."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    user_id, kind = data.get("u"), data.get("k")
    if not isinstance(user_id, int) or kind not in EmailKind.values:
        return None
    return user_id, kind


def unsubscribe_url(*, user: User, kind: str) -> str:
    path = reverse("accounts:unsubscribe", args=[unsubscribe_token(user=user, kind=kind)])
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def email_allowed(*, user: User, kind: str) -> bool:
    """May Threadly send `user` a notification of `kind`? Not to banned or inactive members,
    not without an address, not after they turned that kind off."""
    if not user.email or not user.is_active or user.is_banned:
        return False
    return not EmailOptOut.objects.filter(user=user, kind=kind).exists()


def email_opt_out(*, user: User, kind: str) -> None:
    """Turn off `kind` for `user` (idempotent)."""
    try:
        with transaction.atomic():
            EmailOptOut.objects.get_or_create(user=user, kind=kind)
    except IntegrityError:
        pass  # a concurrent click won the race: the opt-out exists either way


def email_opt_in(*, user: User, kind: str) -> None:
    """Turn `kind` back on for `user` (idempotent)."""
    EmailOptOut.objects.filter(user=user, kind=kind).delete()


def member_email_send(
    *, user: User, kind: str, subject: str, template: str, context: dict | None = None
) -> bool:
    """Send templates/email/<template>.{txt,html} to `user` now, if they allow `kind`.

    The templates get `recipient`, `site_url` and `unsubscribe_url` besides `context`; the
    message carries List-Unsubscribe headers so mail clients offer one-click unsubscribe.
    Returns whether it was sent. Call it from a task or an on_commit callback, never while
    holding row locks.
    """
    if not email_allowed(user=user, kind=kind):
        return False
    link = unsubscribe_url(user=user, kind=kind)
    full_context = {
        **(context or {}),
        "recipient": user,
        "site_url": settings.SITE_URL.rstrip("/"),
        "unsubscribe_url": link,
        "email_kind_label": EmailKind(kind).label,
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"email/{template}.txt", full_context),
        to=[user.email],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(
        render_to_string(f"email/{template}.html", full_context), "text/html"
    )
    message.send()
    return True
