"""Listings: create, edit and move through their life (draft -> active -> sold / deleted)."""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from core import analytics
from core.audit import audit_log
from marketplace.exceptions import ListingNotPublishable, ListingStateError
from marketplace.models import Category, Listing, ListingImage, listing_slug
from marketplace.search.sync import listings_changed
from marketplace.selectors import category_path_names
from marketplace.services.access import access_listing_for_seller, may_manage_listing
from marketplace.services.images import files_removed_on_error, images_process, images_store
from marketplace.tasks import listing_price_dropped

__all__ = [
    "ListingDetails",
    "access_listing_for_seller",
    "listing_actions",
    "listing_create",
    "listing_delete",
    "listing_mark_sold",
    "listing_publish",
    "listing_unpublish",
    "listing_update",
]


@dataclass(frozen=True)
class ListingDetails:
    """What the seller describes about an item: the fields listing_create and listing_update
    write, the form fills (ListingForm.details) and the edit page shows. A new field of the
    listing form is one more field here (and on the model and the form), nothing else."""

    title: str
    category: Category
    condition: str
    price: Decimal
    description: str = ""
    brand: str = ""
    size: str = ""
    colour: str = ""
    shipping_price: Decimal = Decimal("0.00")
    quantity: int = 1

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def of(cls, listing: Listing) -> "ListingDetails":
        """The details `listing` has now."""
        return cls(**{name: getattr(listing, name) for name in cls.names()})

    def values(self) -> dict[str, Any]:
        """Field name -> value to store, text stripped of surrounding spaces."""
        values = {}
        for name in self.names():
            value = getattr(self, name)
            values[name] = value.strip() if isinstance(value, str) else value
        return values


S = Listing.Status
EDITABLE_STATUSES = (S.DRAFT, S.ACTIVE, S.REMOVED)
PUBLISHABLE_STATUSES = (S.DRAFT, S.REMOVED)  # removed: staff only
SELLABLE_STATUSES = (S.ACTIVE, S.RESERVED)


def listing_actions(listing: Listing, user: User) -> frozenset[str]:
    """What `user` may do to `listing` now ("edit", "publish", "unpublish", "mark_sold",
    "delete"), by the rules the services below enforce: pages draw only buttons that work.

    Preconditions on the listing's content are left to the service and its message (publishing
    needs a photo and a quantity; an edit needs valid details and may not change a held
    quantity). Nothing for anyone but the seller or staff, nor for a deleted listing.
    """
    if not may_manage_listing(user, listing):
        return frozenset()
    status = listing.status
    actions = set()
    if status in EDITABLE_STATUSES:
        actions.add("edit")
    if status == S.DRAFT or (status == S.REMOVED and user.is_staff):
        actions.add("publish")
    if status == S.ACTIVE:
        actions.add("unpublish")
    if status in SELLABLE_STATUSES:
        actions.add("mark_sold")
    if status != S.RESERVED:
        actions.add("delete")
    return frozenset(actions)


def listing_create(
    *,
    seller: User,
    details: ListingDetails,
    images: Sequence = (),
    publish: bool = False,
) -> Listing:
    """Create a draft listing with its photos in one transaction; publish it if asked.

    `images` are uploaded files or ProcessedImage (already validated by the form). The
    currency is settings.CURRENCY. If anything fails, the files written so far are deleted.
    A draft is not searchable: listing_publish indexes it.
    Raises ListingImageError, ListingNotPublishable, ValidationError (unusable file).
    """
    processed = images_process(images)
    with files_removed_on_error() as written, transaction.atomic():
        listing = Listing.objects.create(
            seller=seller,
            slug=listing_slug(details.title),
            currency=settings.CURRENCY,
            category_names=category_path_names(details.category.pk),
            **details.values(),
        )
        images_store(listing=listing, images=processed, written=written)
        if not seller.is_seller:
            seller.is_seller = True
            seller.save(update_fields=["is_seller"])
        audit_log(action="listing.created", actor=seller, target=listing)
        analytics.capture_on_commit(seller, "listing_created", listing_id=listing.pk)
        if publish:
            listing = listing_publish(user=seller, listing_id=listing.pk)
    return listing


@transaction.atomic
def listing_update(*, user: User, listing_id: int, details: ListingDetails) -> Listing:
    """Change the details of a listing that is not reserved or sold. Locks the listing row.

    A lower price on an item for sale tells the members who saved it, after commit (the
    task marketplace.tasks.listing_price_dropped).

    `details.quantity` is the number of units on sale. It can't change while units are held
    by a checkout not yet paid (`held_quantity`): their release gives them back, so stock would
    end above what the seller set. Raises ListingNotFound (not the user's), ListingStateError.
    """
    listing = access_listing_for_seller(user=user, listing_id=listing_id, lock=True)
    if listing.status == Listing.Status.RESERVED:
        raise ListingStateError(
            _(
                "Someone is buying this item right now. You can edit it again if their "
                "payment doesn't go through."
            )
        )
    if listing.status not in EDITABLE_STATUSES:
        raise ListingStateError(
            _("This item is %(status)s and can no longer be edited.")
            % {"status": listing.get_status_display().lower()}
        )
    if details.quantity != listing.quantity and listing.held_quantity:
        raise ListingStateError(held_quantity_message(listing.held_quantity))
    old_price = listing.price
    values = details.values()
    for name, value in values.items():
        setattr(listing, name, value)
    listing.slug = listing_slug(details.title)
    listing.category_names = category_path_names(details.category.pk)
    listing.save(update_fields=[*values, "slug", "category_names", "updated_at"])
    audit_log(action="listing.updated", actor=user, target=listing)
    listings_changed([listing.pk])
    if listing.status == Listing.Status.ACTIVE and listing.price < old_price:
        transaction.on_commit(
            partial(
                listing_price_dropped.enqueue,
                listing.pk,
                str(old_price),
                str(listing.price),
            ),
            robust=True,  # an unreachable queue is logged, never a 500 after the edit
        )
    return listing


def held_quantity_message(held: int) -> str:
    return ngettext(
        "%(held)d unit is in a buyer's checkout right now, so the quantity can't be changed "
        "until that purchase is paid or released.",
        "%(held)d units are in buyers' checkouts right now, so the quantity can't be changed "
        "until those purchases are paid or released.",
        held,
    ) % {"held": held}


@transaction.atomic
def listing_publish(*, user: User, listing_id: int) -> Listing:
    """Put a draft on sale. It needs at least one photo. Locks the listing row.

    The first publication sets `published_at` ("New in" order); re-publishing keeps it.
    Raises ListingNotFound, ListingStateError, ListingNotPublishable.
    """
    listing = access_listing_for_seller(user=user, listing_id=listing_id, lock=True)
    if listing.status == Listing.Status.ACTIVE:
        return listing
    if listing.status not in PUBLISHABLE_STATUSES:
        raise ListingStateError(_("Only drafts can be published."))
    if listing.status == Listing.Status.REMOVED and not user.is_staff:
        raise ListingStateError(_("This listing was removed by our team and can't be published."))
    if not ListingImage.objects.filter(listing=listing).exists():
        raise ListingNotPublishable(_("Add at least one photo before you publish."))
    if listing.quantity < 1:
        raise ListingNotPublishable(_("Set a quantity of at least 1 before you publish."))
    listing.status = Listing.Status.ACTIVE
    listing.published_at = listing.published_at or timezone.now()
    listing.save(update_fields=["status", "published_at", "updated_at"])
    audit_log(action="listing.published", actor=user, target=listing)
    listings_changed([listing.pk])
    seller = listing.seller
    analytics.capture_on_commit(seller, "listing_published", listing_id=listing.pk)
    return listing


@transaction.atomic
def listing_unpublish(*, user: User, listing_id: int) -> Listing:
    """Take an active listing off sale, back to draft. Locks the listing row.

    Raises ListingNotFound, ListingStateError (reserved or sold items stay as they are).
    """
    listing = access_listing_for_seller(user=user, listing_id=listing_id, lock=True)
    if listing.status == Listing.Status.DRAFT:
        return listing
    if listing.status != Listing.Status.ACTIVE:
        raise ListingStateError(_("Only items on sale can be taken back to draft."))
    listing.status = Listing.Status.DRAFT
    listing.save(update_fields=["status", "updated_at"])
    audit_log(action="listing.unpublished", actor=user, target=listing)
    listings_changed([listing.pk])
    return listing


@transaction.atomic
def listing_mark_sold(*, user: User, listing_id: int) -> Listing:
    """Mark an active or reserved listing as sold (e.g. sold elsewhere). Locks the row.

    Raises ListingNotFound, ListingStateError.
    """
    listing = access_listing_for_seller(user=user, listing_id=listing_id, lock=True)
    if listing.status == Listing.Status.SOLD:
        return listing
    if listing.status not in SELLABLE_STATUSES:
        raise ListingStateError(_("Only items on sale can be marked as sold."))
    listing.status = Listing.Status.SOLD
    listing.save(update_fields=["status", "updated_at"])
    audit_log(action="listing.sold", actor=user, target=listing)
    listings_changed([listing.pk])
    seller = listing.seller
    analytics.capture_on_commit(seller, "listing_marked_sold", listing_id=listing.pk)
    return listing


@transaction.atomic
def listing_delete(*, user: User, listing_id: int) -> Listing:
    """Soft-delete a listing (deleted_at); it disappears everywhere, rows and photos stay for
    order history. A reserved item (a purchase in progress) can't be deleted. Locks the row.

    Raises ListingNotFound, ListingStateError.
    """
    listing = access_listing_for_seller(user=user, listing_id=listing_id, lock=True)
    if listing.status == Listing.Status.RESERVED:
        raise ListingStateError(_("Someone is buying this item right now; it can't be deleted."))
    listing.deleted_at = timezone.now()
    listing.save(update_fields=["deleted_at", "updated_at"])
    audit_log(action="listing.deleted", actor=user, target=listing)
    listings_changed([listing.pk])
    return listing
