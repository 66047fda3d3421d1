"""Rules of the listing services: ownership, life cycle, photos, favourites."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict

from accounts.tests.factories import UserFactory
from core.models import AuditLog
from marketplace import services
from marketplace.exceptions import (
    FavouriteError,
    ListingImageError,
    ListingNotFound,
    ListingNotPublishable,
    ListingStateError,
)
from marketplace.forms import ImagesAddForm, ListingCreateForm, ListingForm
from marketplace.models import Favourite, Listing, ListingImage, listing_slug
from marketplace.services import ListingDetails
from marketplace.tests.conftest import jpeg_upload
from marketplace.tests.factories import ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db


def create(seller, category, *, images=None, publish=False, **overrides) -> Listing:
    details = {
        "title": "Wool coat",
        "category": category,
        "condition": Listing.Condition.LIKE_NEW,
        "price": Decimal("49.90"),
        "shipping_price": Decimal("4.50"),
        **overrides,
    }
    return services.listing_create(
        seller=seller,
        details=ListingDetails(**details),
        images=[jpeg_upload()] if images is None else images,
        publish=publish,
    )


def test_listing_create_stores_a_draft_with_webp_photos_and_renditions(seller, category, settings):
    """A new listing is a draft in the site currency, with its photo re-encoded and resized."""
    settings.CURRENCY = "GBP"
    listing = create(seller, category)
    assert listing.status == Listing.Status.DRAFT
    assert listing.currency == "GBP"
    assert listing.slug == "wool-coat"
    image = listing.images.get()
    assert image.image.name.startswith("listings/")
    assert image.image.name.endswith(".webp")
    assert (image.width, image.height) == (1100, 300)
    assert [v["width"] for v in image.variants] == [320, 640, 1024]
    for name in [image.image.name, *(v["name"] for v in image.variants)]:
        assert default_storage.exists(name)
    assert AuditLog.objects.filter(action="listing.created", target_id=str(listing.pk)).exists()


def test_listing_create_with_publish_puts_it_on_sale(seller, category):
    """publish=True creates the listing and publishes it in the same call."""
    listing = create(seller, category, publish=True)
    assert listing.status == Listing.Status.ACTIVE
    assert listing.published_at is not None
    assert Listing.objects.for_sale().filter(pk=listing.pk).exists()


def test_listing_create_with_a_bad_file_saves_nothing_and_leaves_no_files(
    seller, category, media_files
):
    """One unusable photo among good ones: no listing, no rows, no stored files."""
    bad = SimpleUploadedFile("evil.jpg", b"<html>not a photo</html>", "image/jpeg")
    with pytest.raises(ValidationError):
        create(seller, category, images=[jpeg_upload(), bad])
    assert not Listing.objects.exists()
    assert media_files() == set()


def test_listing_create_failure_after_writing_files_deletes_them(
    seller, category, media_files, monkeypatch
):
    """If the transaction fails after photos were written, the files are removed again."""

    def boom(**kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr("marketplace.services.listings.audit_log", boom)
    with pytest.raises(RuntimeError):
        create(seller, category)
    assert not Listing.objects.exists()
    assert not ListingImage.objects.exists()
    assert media_files() == set()


def test_listing_create_refuses_more_than_ten_photos(seller, category, settings):
    """At most LISTING_IMAGES_MAX photos per listing."""
    settings.LISTING_IMAGES_MAX = 2
    with pytest.raises(ListingImageError):
        create(seller, category, images=[jpeg_upload(), jpeg_upload(), jpeg_upload()])
    assert not Listing.objects.exists()


def test_photo_limit_is_one_rule_for_the_form_and_the_service(seller, settings):
    """The upload form and listing_images_add refuse the same count with the same words."""
    settings.LISTING_IMAGES_MAX = 2
    listing = ListingFactory(seller=seller, with_image=True)
    with pytest.raises(ListingImageError) as refused:
        services.listing_images_add(
            user=seller, listing_id=listing.pk, images=[jpeg_upload(), jpeg_upload()]
        )
    form = ImagesAddForm({}, MultiValueDict({"images": [jpeg_upload(), jpeg_upload()]}), existing=1)
    assert not form.is_valid()
    assert form.errors["images"] == [str(refused.value)]
    assert "at most 2 photos per listing (1 more for this one)" in str(refused.value)


def test_slug_is_one_rule_for_the_service_and_the_model(seller, category):
    """listing_create and a plain save() slug the same title the same way (and never blank)."""
    title = "Ça va — déjà vu!! 90s"
    created = create(seller, category, title=title)
    saved = ListingFactory(title=title)
    assert created.slug == saved.slug == listing_slug(title) == "ca-va-deja-vu-90s"
    assert listing_slug("!!!") == ListingFactory(title="!!!").slug == "item"


def test_listing_form_and_services_share_one_list_of_details():
    """The listing form has exactly the fields ListingDetails carries to the services."""
    assert set(ListingForm.base_fields) == set(ListingDetails.names())
    assert set(ListingCreateForm.base_fields) == {*ListingDetails.names(), "images"}


def test_listing_update_changes_fields_and_slug(seller, category):
    """The seller can edit details; the slug follows the title."""
    listing = ListingFactory(seller=seller)
    services.listing_update(
        user=seller,
        listing_id=listing.pk,
        details=ListingDetails(
            title="Red wool coat",
            category=category,
            condition=Listing.Condition.FAIR,
            price=Decimal("30.00"),
        ),
    )
    listing.refresh_from_db()
    assert (listing.title, listing.slug, listing.price) == ("Red wool coat", "red-wool-coat", 30)


def test_listing_update_refuses_a_sold_listing(seller, category):
    """A sold item can no longer be edited."""
    listing = ListingFactory(seller=seller, sold=True)
    with pytest.raises(ListingStateError):
        services.listing_update(
            user=seller,
            listing_id=listing.pk,
            details=ListingDetails(
                title="x", category=category, condition=Listing.Condition.FAIR, price=Decimal("30")
            ),
        )


@pytest.mark.parametrize(
    "service",
    [
        services.listing_publish,
        services.listing_unpublish,
        services.listing_mark_sold,
        services.listing_delete,
    ],
)
def test_other_users_cannot_change_a_listing(service, stranger):
    """Someone else's listing is a 404 (ListingNotFound) for every life-cycle service."""
    listing = ListingFactory(draft=True, with_image=True)
    with pytest.raises(ListingNotFound):
        service(user=stranger, listing_id=listing.pk)
    assert Listing.objects.get(pk=listing.pk).status == Listing.Status.DRAFT


def test_staff_may_change_any_listing():
    """Staff act on any listing (moderation)."""
    listing = ListingFactory()
    staff = UserFactory(is_staff=True)
    services.listing_unpublish(user=staff, listing_id=listing.pk)
    assert Listing.objects.get(pk=listing.pk).status == Listing.Status.DRAFT


def test_listing_publish_needs_a_photo(seller):
    """A draft without photos cannot be published."""
    listing = ListingFactory(seller=seller, draft=True)
    with pytest.raises(ListingNotPublishable):
        services.listing_publish(user=seller, listing_id=listing.pk)
    assert Listing.objects.get(pk=listing.pk).status == Listing.Status.DRAFT


def test_listing_publish_sets_published_at_once(seller, django_capture_on_commit_callbacks):
    """Publishing sets published_at, records an audit entry and a funnel event after commit."""
    from core import analytics

    analytics.get_backend().clear()
    listing = ListingFactory(seller=seller, draft=True, with_image=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_publish(user=seller, listing_id=listing.pk)
    listing.refresh_from_db()
    first = listing.published_at
    assert listing.status == Listing.Status.ACTIVE
    assert first is not None
    assert AuditLog.objects.filter(action="listing.published").count() == 1
    assert [e.name for e in analytics.get_backend().events] == ["listing_published"]
    services.listing_unpublish(user=seller, listing_id=listing.pk)
    services.listing_publish(user=seller, listing_id=listing.pk)
    listing.refresh_from_db()
    assert listing.published_at == first


def test_listing_publish_refuses_sold_and_removed(seller):
    """Sold and removed (by staff) listings can't be re-published by the seller."""
    sold = ListingFactory(seller=seller, sold=True, with_image=True)
    removed = ListingFactory(seller=seller, status=Listing.Status.REMOVED, with_image=True)
    for listing in (sold, removed):
        with pytest.raises(ListingStateError):
            services.listing_publish(user=seller, listing_id=listing.pk)


def test_listing_unpublish_refuses_reserved(seller):
    """A reserved listing (purchase in progress) stays reserved."""
    listing = ListingFactory(seller=seller, status=Listing.Status.RESERVED)
    with pytest.raises(ListingStateError):
        services.listing_unpublish(user=seller, listing_id=listing.pk)


def test_listing_mark_sold_from_active_and_reserved_only(seller):
    """Active and reserved listings can be marked sold; drafts cannot."""
    active = ListingFactory(seller=seller)
    reserved = ListingFactory(seller=seller, status=Listing.Status.RESERVED)
    draft = ListingFactory(seller=seller, draft=True)
    services.listing_mark_sold(user=seller, listing_id=active.pk)
    services.listing_mark_sold(user=seller, listing_id=reserved.pk)
    with pytest.raises(ListingStateError):
        services.listing_mark_sold(user=seller, listing_id=draft.pk)
    assert Listing.objects.filter(status=Listing.Status.SOLD).count() == 2


def test_listing_delete_is_soft_and_hides_the_listing(seller):
    """Deleting sets deleted_at; the row stays but is invisible and no longer the seller's to
    change."""
    listing = ListingFactory(seller=seller)
    services.listing_delete(user=seller, listing_id=listing.pk)
    listing.refresh_from_db()
    assert listing.deleted_at is not None
    assert not Listing.objects.visible().filter(pk=listing.pk).exists()
    with pytest.raises(ListingNotFound):
        services.listing_publish(user=seller, listing_id=listing.pk)


def test_listing_delete_refuses_reserved(seller):
    """A purchase in progress blocks deletion."""
    listing = ListingFactory(seller=seller, status=Listing.Status.RESERVED)
    with pytest.raises(ListingStateError):
        services.listing_delete(user=seller, listing_id=listing.pk)


def test_listing_images_add_appends_after_existing(seller):
    """New photos come after the existing ones."""
    listing = ListingFactory(seller=seller, with_image=True)
    added = services.listing_images_add(
        user=seller, listing_id=listing.pk, images=[jpeg_upload(), jpeg_upload()]
    )
    assert [image.position for image in added] == [1, 2]
    assert listing.images.count() == 3


def test_listing_images_add_respects_the_maximum(seller, settings, media_files):
    """Going over the maximum adds nothing and leaves no files."""
    settings.LISTING_IMAGES_MAX = 2
    listing = ListingFactory(seller=seller, with_image=True)
    before = media_files()
    with pytest.raises(ListingImageError):
        services.listing_images_add(
            user=seller, listing_id=listing.pk, images=[jpeg_upload(), jpeg_upload()]
        )
    assert listing.images.count() == 1
    assert media_files() == before


def test_listing_images_add_by_another_user_is_not_found(stranger):
    """Only the seller adds photos."""
    listing = ListingFactory()
    with pytest.raises(ListingNotFound):
        services.listing_images_add(user=stranger, listing_id=listing.pk, images=[jpeg_upload()])


def test_listing_images_reorder_sets_positions_and_cover(seller):
    """The first id becomes the cover (position 0)."""
    listing = ListingFactory(seller=seller)
    first, second, third = (ListingImageFactory(listing=listing, position=n) for n in range(3))
    services.listing_images_reorder(
        user=seller, listing_id=listing.pk, image_ids=[third.pk, first.pk, second.pk]
    )
    assert list(listing.images.order_by("position").values_list("pk", flat=True)) == [
        third.pk,
        first.pk,
        second.pk,
    ]


def test_listing_images_reorder_needs_every_photo_once(seller):
    """A partial or duplicated order is refused."""
    listing = ListingFactory(seller=seller)
    first, second = (ListingImageFactory(listing=listing, position=n) for n in range(2))
    for ids in ([first.pk], [first.pk, first.pk], [first.pk, second.pk, 999999]):
        with pytest.raises(ListingImageError):
            services.listing_images_reorder(user=seller, listing_id=listing.pk, image_ids=ids)


def test_listing_image_remove_deletes_files_after_commit_and_closes_gaps(
    seller, category, django_capture_on_commit_callbacks
):
    """Removing a photo renumbers the rest and deletes its stored files after commit."""
    listing = create(seller, category, images=[jpeg_upload(), jpeg_upload()])
    cover, second = listing.images.order_by("position")
    names = [cover.image.name, *(v["name"] for v in cover.variants)]
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_image_remove(user=seller, listing_id=listing.pk, image_id=cover.pk)
    second.refresh_from_db()
    assert second.position == 0
    assert not any(default_storage.exists(name) for name in names)


def test_listing_image_remove_keeps_the_last_photo_of_a_published_listing(seller):
    """A listing on sale must keep at least one photo."""
    listing = ListingFactory(seller=seller, with_image=True)
    with pytest.raises(ListingImageError):
        services.listing_image_remove(
            user=seller, listing_id=listing.pk, image_id=listing.images.get().pk
        )
    assert listing.images.count() == 1


def test_listing_image_remove_may_empty_a_draft(seller):
    """A draft may have no photos."""
    listing = ListingFactory(seller=seller, draft=True, with_image=True)
    services.listing_image_remove(
        user=seller, listing_id=listing.pk, image_id=listing.images.get().pk
    )
    assert listing.images.count() == 0


def test_favourite_add_is_idempotent_and_remove_forgets(stranger):
    """Saving twice keeps one row; removing deletes it."""
    listing = ListingFactory()
    services.favourite_add(user=stranger, listing_id=listing.pk)
    services.favourite_add(user=stranger, listing_id=listing.pk)
    assert Favourite.objects.filter(user=stranger).count() == 1
    services.favourite_remove(user=stranger, listing_id=listing.pk)
    assert not Favourite.objects.exists()


def test_favourite_add_refuses_invisible_listings(stranger):
    """Drafts and hidden listings cannot be saved."""
    for listing in (ListingFactory(draft=True), ListingFactory(is_hidden=True)):
        with pytest.raises(FavouriteError):
            services.favourite_add(user=stranger, listing_id=listing.pk)
