from django.core.management.base import BaseCommand

from orders.services.offer_holds import offers_expire


class Command(BaseCommand):
    help = "Close offers and counter-offers nobody answered within 48 hours (safe to rerun)."

    def handle(self, *args, **options) -> None:
        count = offers_expire()
        self.stdout.write(f"Expired {count} unanswered offer(s).")
