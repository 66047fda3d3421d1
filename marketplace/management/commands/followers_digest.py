from django.core.management.base import BaseCommand

from marketplace.services import followers_digest_send


class Command(BaseCommand):
    help = (
        "Email sellers who got new followers since their last digest (at most one email per "
        "seller per day; safe to run again)."
    )

    def handle(self, *args, **options) -> None:
        sent = followers_digest_send()
        self.stdout.write(f"Sent {sent} followers digest(s).")
