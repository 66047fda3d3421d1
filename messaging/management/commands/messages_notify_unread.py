from django.core.management.base import BaseCommand

from messaging.services import messages_notify_unread


class Command(BaseCommand):
    help = (
        "Email members about messages unread for MESSAGING_EMAIL_DELAY_MINUTES: one email per "
        "member for all their threads, never twice for the same messages (run every few minutes)."
    )

    def handle(self, *args, **options) -> None:
        count = messages_notify_unread()
        self.stdout.write(f"Emailed {count} member(s) about unread messages.")
