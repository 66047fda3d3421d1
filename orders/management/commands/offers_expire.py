from django.core.management.base import BaseCommand

from orders.services.offer_holds import offers_expire, offers_remind_expiring


class Command(BaseCommand):
    help = (
        "Close offers and counter-offers nobody answered within 48 hours, and remind whoever "
        "must answer the ones about to lapse (safe to rerun)."
    )

    def handle(self, *args, **options) -> None:
        count = offers_expire()
        reminded = offers_remind_expiring()
        self.stdout.write(f"Expired {count} unanswered offer(s); reminded {reminded}.")
