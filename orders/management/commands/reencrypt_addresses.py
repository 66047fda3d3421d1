from django.core.management.base import BaseCommand

from orders.models import Address, Checkout


class Command(BaseCommand):
    help = "Re-encrypt addresses with the current ENCRYPTION_KEY (key rotation, docs/payments.md)."

    def handle(self, *args, **options) -> None:
        count = 0
        for address in Address.objects.iterator():
            # Reading decrypts with any configured key; saving encrypts with the current one.
            address.save(update_fields=["full_name", "line1", "line2", "city", "postcode", "phone"])
            count += 1
        for checkout in Checkout.objects.iterator():
            checkout.save(update_fields=["shipping_address"])
            count += 1
        self.stdout.write(f"Re-encrypted {count} row(s).")
