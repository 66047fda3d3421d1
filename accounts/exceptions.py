"""Errors raised by account services; their messages are safe to show to the member."""


class AccountError(Exception):
    """Base class for account rule violations."""


class UsernameTaken(AccountError):
    pass


class EmailTaken(AccountError):
    pass


class LoginNotAllowed(AccountError):
    """A banned or deactivated member tried to sign in."""


class WebhookPayloadError(AccountError):
    """A verified webhook event whose payload we cannot apply."""


class BanNotAllowed(AccountError):
    """Staff can't be banned (remove the staff role first)."""
