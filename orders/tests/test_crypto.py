import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from orders.models import Address
from orders.tests.factories import AddressFactory

pytestmark = pytest.mark.django_db


def raw_line1(pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT line1 FROM orders_address WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def test_address_personal_fields_encrypted_at_rest(settings):
    """Address lines are stored as Fernet tokens and read back as plain text."""
    settings.ENCRYPTION_KEY = Fernet.generate_key().decode()
    address = AddressFactory(line1="12 Analytical Row")
    stored = raw_line1(address.pk)
    assert "Analytical" not in stored
    assert Fernet(settings.ENCRYPTION_KEY.encode()).decrypt(stored.encode()) == b"12 Analytical Row"
    assert Address.objects.get(pk=address.pk).line1 == "12 Analytical Row"


def test_key_rotation_with_old_keys_and_reencrypt(settings):
    """Old keys still read; reencrypt_addresses rewrites rows with the new key."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.ENCRYPTION_KEY = old
    address = AddressFactory(line1="1 Old Street")
    settings.ENCRYPTION_KEY, settings.ENCRYPTION_KEYS_OLD = new, [old]
    assert Address.objects.get(pk=address.pk).line1 == "1 Old Street"
    call_command("reencrypt_addresses", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Fernet(new.encode()).decrypt(raw_line1(address.pk).encode()) == b"1 Old Street"
    settings.ENCRYPTION_KEYS_OLD = []
    assert Address.objects.get(pk=address.pk).line1 == "1 Old Street"
