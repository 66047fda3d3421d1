from django.core.management.base import BaseCommand

from orders.services.transitions import orders_auto_complete


class Command(BaseCommand):
    help = "Complete orders shipped ORDER_AUTO_COMPLETE_DAYS ago without a dispute and pay sellers."

    def handle(self, *args, **options) -> None:
        count = orders_auto_complete()
        self.stdout.write(f"Completed {count} order(s).")
