from django.core.management.base import BaseCommand

from orders.services.refunds import refunds_retry


class Command(BaseCommand):
    help = (
        "Retry refunds and payout reversals that never reached the payment provider (e.g. a "
        "late payment's refund whose after-commit call failed). Run every few minutes; safe to "
        "run repeatedly because each retry reuses its idempotency key."
    )

    def handle(self, *args, **options) -> None:
        confirmed, reversed_ = refunds_retry()
        self.stdout.write(f"Confirmed {confirmed} refund(s), reversed {reversed_} payout(s).")
