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


class AuthProviderNotConfigured(AccountError):
    """No identity provider is configured (or its secret is unusable): answer 503."""


class WebhookSignatureError(AccountError):
    """An identity-provider delivery that is unsigned, forged or too old: answer 400."""


class MalformedWebhook(AccountError):
    """A correctly signed delivery that is not an event we can read (its id is too long to
    store, or the body is not an event object): answer 400 with the message."""
