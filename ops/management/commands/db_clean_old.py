from datetime import timedelta

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from marketplace.models import Listing, ListingImage
from ops.audit import audit_log


class Command(BaseCommand):
    help = "Purge soft-deleted listings older than --days (default 30), with their image files."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--dry-run", action="store_true", help="Only report what would go.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, days: int, dry_run: bool, no_progress: bool, **options) -> None:
        cutoff = timezone.now() - timedelta(days=days)
        # Listings referenced by orders are protected by the orders app's foreign keys;
        # those fail to delete and are reported, never half-deleted.
        ids = list(
            Listing.objects.filter(deleted_at__lt=cutoff)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if dry_run:
            images = ListingImage.objects.filter(listing_id__in=ids).count()
            self.stdout.write(
                f"Dry run: would purge {len(ids)} listings deleted before {cutoff:%Y-%m-%d} "
                f"and {images} images."
            )
            return
        purged, kept, files = 0, 0, 0
        for pk in tqdm(ids, desc="Purging", disable=no_progress, unit="listing"):
            names = []
            for image in ListingImage.objects.filter(listing_id=pk):
                names += [image.image.name, *(v["name"] for v in image.variants or [])]
            try:
                with transaction.atomic():
                    listing = Listing.objects.select_for_update().get(pk=pk)
                    audit_log(
                        action="listing.purged", target=listing, deleted_at=str(listing.deleted_at)
                    )
                    listing.delete()
            except Exception as exc:  # e.g. ProtectedError from an order line
                kept += 1
                self.stderr.write(f"Kept listing {pk}: {type(exc).__name__}")
                continue
            purged += 1
            for name in names:
                if name and default_storage.exists(name):
                    default_storage.delete(name)
                    files += 1
        self.stdout.write(
            self.style.SUCCESS(f"Purged {purged} listings and {files} files; kept {kept}.")
        )
