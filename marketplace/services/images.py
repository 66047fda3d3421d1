"""Listing photos: store re-encoded files, keep positions dense (0 = cover), clean up files."""

import contextlib
from collections.abc import Iterator, Sequence

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from core.images import ProcessedImage, check_request_budget, process_image
from marketplace.exceptions import ListingImageError
from marketplace.models import Listing, ListingImage
from marketplace.search.sync import listings_changed
from marketplace.services.access import access_listing_for_seller

LISTING_IMAGE_DIR = "listings"


def _delete_files(names: Sequence[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def _delete_unreferenced_files(names: Sequence[str]) -> None:
    """Delete a removed photo's files unless another row still uses them: the demo data
    (seed_demo) points many rows at one shared pool of files under listings/demo/."""
    if not names or names[0].startswith(f"{LISTING_IMAGE_DIR}/demo/"):
        return
    if ListingImage.objects.filter(image=names[0]).exists():
        return
    _delete_files(names)


def image_file_names(image: ListingImage) -> list[str]:
    """Every stored file of one photo: the main image and its renditions."""
    return [image.image.name, *(v["name"] for v in image.variants or [])]


@contextlib.contextmanager
def files_removed_on_error() -> Iterator[list[str]]:
    """Collect names of files written inside the block; delete them if the block raises.

    Files are written before the rows that point at them are committed; when the
    transaction fails, nothing may be left behind on the storage.
    """
    written: list[str] = []
    try:
        yield written
    except BaseException:
        _delete_files(written)
        raise


def _store(processed: ProcessedImage, written: list[str]) -> tuple[str, list[dict]]:
    name = default_storage.save(
        f"{LISTING_IMAGE_DIR}/{processed.main.file.name}", processed.main.file
    )
    written.append(name)
    variants = []
    for rendition in processed.variants:
        variant_name = default_storage.save(
            f"{LISTING_IMAGE_DIR}/{rendition.file.name}", rendition.file
        )
        written.append(variant_name)
        variants.append(
            {"width": rendition.width, "height": rendition.height, "name": variant_name}
        )
    return name, variants


def images_check_count(*, existing: int, adding: int) -> None:
    """The photo limit, for the form (before re-encoding anything) and the service (under the
    listing lock): at most settings.LISTING_IMAGES_MAX per listing. Raises ListingImageError."""
    maximum = settings.LISTING_IMAGES_MAX
    if existing + adding > maximum:
        raise ListingImageError(
            ngettext(
                "You can add at most %(max)d photo per listing (%(left)d more for this one).",
                "You can add at most %(max)d photos per listing (%(left)d more for this one).",
                maximum,
            )
            % {"max": maximum, "left": max(0, maximum - existing)}
        )


def images_store(
    *, listing: Listing, images: Sequence[ProcessedImage], written: list[str]
) -> list[ListingImage]:
    """Write `images` to storage and add them after the listing's existing photos.

    Low-level: the caller holds the transaction and the listing lock, and deletes `written`
    files if it fails (see files_removed_on_error).
    """
    start = ListingImage.objects.filter(listing=listing).count()
    images_check_count(existing=start, adding=len(images))
    rows = []
    for offset, processed in enumerate(images):
        name, variants = _store(processed, written)
        rows.append(
            ListingImage(
                listing=listing,
                image=name,
                width=processed.main.width,
                height=processed.main.height,
                position=start + offset,
                variants=variants,
            )
        )
    return ListingImage.objects.bulk_create(rows)


def images_process(images: Sequence) -> list[ProcessedImage]:
    """Re-encode the uploaded files among `images` (ProcessedImage ones pass through), one
    at a time, after checking the request's pixel budget from their headers.

    Raises ValidationError for an unusable file or a request over the budget.
    """
    check_request_budget([img for img in images if not isinstance(img, ProcessedImage)])
    return [img if isinstance(img, ProcessedImage) else process_image(img) for img in images]


def listing_images_add(*, user: User, listing_id: int, images: Sequence) -> list[ListingImage]:
    """Add photos (uploaded files, or ProcessedImage from a form that validated them) after
    the existing ones. At most settings.LISTING_IMAGES_MAX per listing.

    Locks the listing row. Raises ListingNotFound, ListingImageError, or ValidationError for an
    unusable file. Files written before a failure are deleted; nothing is half-saved.
    """
    processed = images_process(images)
    with files_removed_on_error() as written, transaction.atomic():
        listing = access_listing_for_seller(user=user, listing_id=listing_id, lock=True)
        stored = images_store(listing=listing, images=processed, written=written)
        listings_changed([listing.pk])  # the cover is the search result's thumbnail
        return stored


@transaction.atomic
def listing_images_reorder(*, user: User, listing_id: int, image_ids: Sequence[int]) -> None:
    """Put the listing's photos in the order of `image_ids` (the first becomes the cover).

    `image_ids` must name every photo of the listing exactly once. Locks the listing row.
    Raises ListingNotFound, ListingImageError.
    """
    listing = access_listing_for_seller(user=user, listing_id=listing_id, lock=True)
    images = {image.pk: image for image in ListingImage.objects.filter(listing=listing)}
    ids = [int(pk) for pk in image_ids]
    if len(ids) != len(set(ids)) or set(ids) != set(images):
        raise ListingImageError(_("The photos changed meanwhile; please try again."))
    for position, pk in enumerate(ids):
        images[pk].position = position
    ListingImage.objects.bulk_update(images.values(), ["position"])
    listings_changed([listing.pk])  # the cover may have changed


@transaction.atomic
def listing_image_remove(*, user: User, listing_id: int, image_id: int) -> None:
    """Remove one photo; the others close ranks. Its files are deleted after commit.

    A listing on sale keeps at least one photo. Locks the listing row.
    Raises ListingNotFound, ListingImageError.
    """
    listing = access_listing_for_seller(user=user, listing_id=listing_id, lock=True)
    images = list(ListingImage.objects.filter(listing=listing).order_by("position", "id"))
    image = next((img for img in images if img.pk == int(image_id)), None)
    if image is None:
        raise ListingImageError(_("That photo was already removed."))
    if len(images) == 1 and listing.status != Listing.Status.DRAFT:
        raise ListingImageError(
            _("A listing that is published needs at least one photo. Add another one first.")
        )
    names = image_file_names(image)
    image.delete()
    remaining = [img for img in images if img.pk != image.pk]
    for position, img in enumerate(remaining):
        img.position = position
    ListingImage.objects.bulk_update(remaining, ["position"])
    listings_changed([listing.pk])  # the cover may have changed
    transaction.on_commit(lambda: _delete_unreferenced_files(names))
