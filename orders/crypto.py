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


def _dev_key() -> bytes:
    digest = hashlib.sha256(f"threadly-dev-encryption:{settings.SECRET_KEY}".encode()).digest()
    return base64.urlsafe_b64encode(digest)


def get_fernet() -> MultiFernet:
    """The MultiFernet for the configured keys (current first), read at call time."""
    current = settings.ENCRYPTION_KEY
    if not current:
        if not (settings.DEBUG or getattr(settings, "RUNNING_TESTS", False)):
            raise ImproperlyConfigured(
                "ENCRYPTION_KEY is not set. Generate one with python -c 'from "
                "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'."
            )
        current = _dev_key().decode()
    keys = [current, *settings.ENCRYPTION_KEYS_OLD]
    return MultiFernet([Fernet(key.encode() if isinstance(key, str) else key) for key in keys])


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
