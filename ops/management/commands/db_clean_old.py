from datetime import timedelta

from django.db.models import ProtectedError
from django.utils import timezone
from tqdm import tqdm

from core.outage import DatabaseCommand
from marketplace.services import retention


class Command(DatabaseCommand):
    help = "Purge soft-deleted listings older than --days (default 30), with their image files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true", help="Only report what would go.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, days: int, dry_run: bool, no_progress: bool, **options) -> None:
        cutoff = timezone.now() - timedelta(days=days)
        ids = retention.listings_deleted_before(cutoff=cutoff)
        if dry_run:
            images = retention.listing_images_count(listing_ids=ids)
            self.stdout.write(
                f"Dry run: would purge {len(ids)} listings deleted before {cutoff:%Y-%m-%d} "
                f"and {images} images."
            )
            return
        purged, kept = 0, 0
        for pk in tqdm(ids, desc="Purging", disable=no_progress, unit="listing"):
            try:
                retention.listing_purge(listing_id=pk)
            except ProtectedError:
                # Listings sold through orders are kept by the orders app's foreign keys.
                kept += 1
                self.stderr.write(f"Kept listing {pk}: an order references it.")
                continue
            purged += 1
        self.stdout.write(self.style.SUCCESS(f"Purged {purged} listings; kept {kept}."))
