from django.core.management.base import BaseCommand

from orders.services.checkout import reservations_release_expired
from orders.services.offer_holds import offer_holds_release_expired


class Command(BaseCommand):
    help = (
        "Release stock held by checkouts that were not paid in time and by accepted offers "
        "not paid within 24 hours (run every few minutes)."
    )

    def handle(self, *args, **options) -> None:
        count = reservations_release_expired()
        holds = offer_holds_release_expired()
        self.stdout.write(
            f"Released {count} expired checkout(s) and {holds} unpaid accepted offer(s)."
        )
