"""Add the buffered listing views to Listing.view_count; run_worker: every minute."""

from django.core.management.base import BaseCommand

from marketplace.services import listing_views_flush


class Command(BaseCommand):
    help = "Move the listing views counted in the cache into the database."

    def handle(self, *args, **options) -> None:
        added = listing_views_flush()
        self.stdout.write(f"Listing views flushed: {added}.")
