"""Encryption at rest for personal fields (addresses), with Fernet keys from settings.

ENCRYPTION_KEY is the current key (new values are written with it); ENCRYPTION_KEYS_OLD are
older keys still accepted for reading. Rotation: put the new key in ENCRYPTION_KEY, move the old
one to ENCRYPTION_KEYS_OLD, run `manage.py reencrypt_addresses`, then drop the old key
(docs/payments.md). With no ENCRYPTION_KEY in DEBUG or tests a development key is derived from
SECRET_KEY — never in production, where a missing key is an error.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

GENERATE_KEY_HINT = (
    "Generate one with python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'."
)


def key_problem(key: str) -> str | None:
    """Why `key` is not a Fernet key (32 bytes, url-safe base64: 44 characters), or None.

    A 64-character hex string is 32 bytes too, but Fernet can't use it as written."""
    try:
        Fernet(key.encode())
    except (ValueError, TypeError):
        if len(key) == 64 and all(c in "0123456789abcdefABCDEF" for c in key):
            return "is 64 hex characters; Fernet needs the 32 bytes as url-safe base64"
        return f"is not a Fernet key ({len(key)} characters; it needs 44 of url-safe base64)"
    return None


def _dev_key() -> bytes:
    digest = hashlib.sha256(f"threadly-dev-encryption:{settings.SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


def get_fernet() -> MultiFernet:
    """The MultiFernet for the configured keys (current first), read at call time."""
    current = settings.ENCRYPTION_KEY
    if not current:
        if not (settings.DEBUG or getattr(settings, "RUNNING_TESTS", False)):
            raise ImproperlyConfigured(f"ENCRYPTION_KEY is not set. {GENERATE_KEY_HINT}")
        current = _dev_key().decode()
    keys = [current, *settings.ENCRYPTION_KEYS_OLD]
    if problems := encryption_key_problems():
        name, problem = problems[0]
        raise ImproperlyConfigured(f"{name} {problem}. {GENERATE_KEY_HINT}")
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


def _old_keys() -> list[tuple[str, str]]:
    return [
        (f"ENCRYPTION_KEYS_OLD[{index}]", key)
        for index, key in enumerate(settings.ENCRYPTION_KEYS_OLD)
    ]


def encryption_key_problems() -> list[tuple[str, str]]:
    """(variable, what is wrong) for each configured key that Fernet can't use."""
    keys = [("ENCRYPTION_KEY", settings.ENCRYPTION_KEY), *_old_keys()]
    return [(name, problem) for name, key in keys if key and (problem := key_problem(key))]


def encrypt(value: str) -> str:
    return get_fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return get_fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "An encrypted value could not be read with ENCRYPTION_KEY or ENCRYPTION_KEYS_OLD."
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt a token with the current key (MultiFernet.rotate)."""
    return get_fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column stored as a Fernet token; Python code sees the plain text.

    Not searchable or sortable in SQL, by design.
    """

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
