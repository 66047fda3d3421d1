"""Threadly's hooks into allauth's sign-up and login flows."""

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.services import user_save_new

BANNED_MESSAGE = _(
    "This account has been suspended for breaking Threadly's rules, so you can't sign in. "
    "If you think this is a mistake, contact support."
)
INACTIVE_MESSAGE = _(
    "This account has been deactivated, so you can't sign in. Contact support to reopen it."
)


class AccountAdapter(DefaultAccountAdapter):
    """Threadly's hooks into allauth's sign-up and login flows."""

    def save_user(self, request: HttpRequest, user: User, form: Any, commit: bool = True) -> User:
        """Every member made by the sign-up form gets a Profile, in the same transaction."""
        user = super().save_user(request, user, form, commit=False)
        if commit:
            user_save_new(user=user)
        return user

    def authenticate(self, request: HttpRequest, **credentials: Any) -> User | None:
        """Refuse banned and deactivated members with a clear message.

        The reason is only revealed to someone who knows the password, so it does not tell
        strangers which addresses have accounts.
        """
        user = super().authenticate(request, **credentials)
        if user is None:
            user = self._inactive_user_with_password(**credentials)
        if user is not None and (user.is_banned or not user.is_active):
            reason = "banned" if user.is_banned else "inactive"
            self._refuse(request, user, reason)
            message = BANNED_MESSAGE if user.is_banned else INACTIVE_MESSAGE
            raise ValidationError(message, code=reason)
        return user

    def _refuse(self, request: HttpRequest, user: User, reason: str) -> None:
        from accounts.services import login_refusal_record

        login_refusal_record(user=user, request=request, reason=reason)

    @staticmethod
    def _inactive_user_with_password(**credentials: Any) -> User | None:
        email, password = credentials.get("email"), credentials.get("password")
        if not email or not password:
            return None
        user = User.objects.filter(email__iexact=email, is_active=False).first()
        if user is not None and user.check_password(password):
            return user
        return None
