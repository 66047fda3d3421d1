"""Entry points from auth signals into account services (no rules live here)."""

from typing import Any

from allauth.account.signals import password_reset, user_signed_up
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from accounts import services


@receiver(user_signed_up, dispatch_uid="accounts.signup")
def on_signed_up(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    sociallogin = kwargs.get("sociallogin")
    method = sociallogin.account.provider if sociallogin is not None else "email"
    services.signup_record(user=user, method=method)


@receiver(user_logged_in, dispatch_uid="accounts.login")
def on_logged_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    services.login_record(user=user, ip_address=services.request_ip(request))


@receiver(user_login_failed, dispatch_uid="accounts.login_failed")
def on_login_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    identifier = str(
        credentials.get("email") or credentials.get("login") or credentials.get("username") or ""
    )
    services.login_failure_record(identifier=identifier, ip_address=services.request_ip(request))


@receiver(password_reset, dispatch_uid="accounts.password_reset")
def on_password_reset(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """The emailed reset link is the owner's way in: it lifts every lock on the account."""
    from core import lockout

    for identifier in {user.get_username(), user.email}:
        if identifier:
            lockout.reset(identifier=identifier)
