"""Retention of the catalog's data: purging long-deleted listings and knowing which uploaded
files the catalog still uses (for the operator's db_clean_old and storage_clean commands)."""

from datetime import datetime

from django.db import transaction

from core.audit import audit_log
from marketplace.models import Listing, ListingImage
from marketplace.search.sync import listings_changed
from marketplace.services.images import _delete_unreferenced_files, image_file_names


def listings_deleted_before(*, cutoff: datetime) -> list[int]:
    """Ids of soft-deleted listings whose deletion is older than `cutoff`, oldest id first."""
    return list(
        Listing.objects.filter(deleted_at__lt=cutoff).order_by("pk").values_list("pk", flat=True)
    )


def listing_images_count(*, listing_ids: list[int]) -> int:
    return ListingImage.objects.filter(listing_id__in=listing_ids).count()


def listing_purge(*, listing_id: int) -> None:
    """Delete a soft-deleted listing for good, audited; its photo files go after commit
    (unless another row still uses them, as demo photos do). Locks the listing row.

    Raises django.db.models.ProtectedError when an order line still references the listing:
    then nothing is deleted.
    """
    with transaction.atomic():
        listing = Listing.objects.select_for_update().get(pk=listing_id, deleted_at__isnull=False)
        files = [image_file_names(image) for image in listing.images.all()]
        audit_log(action="listing.purged", target=listing, deleted_at=str(listing.deleted_at))
        listing.delete()
        listings_changed([listing_id])  # normally gone from search since its soft delete
        for names in files:
            transaction.on_commit(lambda names=names: _delete_unreferenced_files(names))


def listing_file_names() -> set[str]:
    """Every stored file a listing photo uses (main images and renditions)."""
    names: set[str] = set()
    for image, variants in ListingImage.objects.values_list("image", "variants").iterator():
        names.add(image)
        names.update(v["name"] for v in variants or [])
    return names
