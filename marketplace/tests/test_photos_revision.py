"""PostgreSQL moves a listing's photos_revision on every write to its photos (migration 0011),
whatever wrote them: the listing page keys its cached parts by it (marketplace.listing_parts)."""

import pytest
from django.db import connection
from django.db.models import F

from accounts.tests.factories import UserFactory
from marketplace.models import Listing, ListingImage
from marketplace.services import images as image_services
from marketplace.tests.factories import ListingFactory, ListingImageFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the triggers are PostgreSQL's (migration 0011)"
    ),
]


def revision(listing: Listing) -> int:
    return Listing.objects.values_list("photos_revision", flat=True).get(pk=listing.pk)


@pytest.fixture
def listing() -> Listing:
    return ListingFactory()


def test_adding_a_photo_moves_the_revision(listing):
    before = revision(listing)
    ListingImageFactory(listing=listing)
    assert revision(listing) == before + 1


def test_a_bulk_write_moves_each_listing_once_per_statement(listing):
    """One UPDATE of many photos is one step per listing (statement-level triggers)."""
    other = ListingFactory()
    ListingImage.objects.bulk_create(
        [
            ListingImage(listing=listing, image="a.jpg", width=8, height=8, position=n)
            for n in range(3)
        ]
        + [ListingImage(listing=other, image="b.jpg", width=8, height=8, position=0)]
    )
    before, other_before = revision(listing), revision(other)
    ListingImage.objects.filter(listing=listing).update(position=F("position") + 1)
    assert revision(listing) == before + 1
    assert revision(other) == other_before  # not one of its photos


def test_removing_photos_moves_the_revision_even_by_plain_delete(listing):
    ListingImageFactory(listing=listing)
    before = revision(listing)
    ListingImage.objects.filter(listing=listing).delete()
    assert revision(listing) == before + 1


def test_moving_a_photo_moves_both_listings(listing):
    other = ListingFactory()
    photo = ListingImageFactory(listing=listing)
    before, other_before = revision(listing), revision(other)
    ListingImage.objects.filter(pk=photo.pk).update(listing=other)
    assert (revision(listing), revision(other)) == (before + 1, other_before + 1)


def test_the_photo_services_move_the_revision():
    seller = UserFactory()
    listing = ListingFactory(seller=seller)
    first, second = ListingImageFactory(listing=listing), ListingImageFactory(listing=listing)
    before = revision(listing)
    image_services.listing_images_reorder(
        user=seller, listing_id=listing.pk, image_ids=[second.pk, first.pk]
    )
    reordered = revision(listing)
    assert reordered > before
    image_services.listing_image_remove(user=seller, listing_id=listing.pk, image_id=first.pk)
    assert revision(listing) > reordered


def test_saving_the_listing_leaves_the_revision_alone(listing):
    """Only photo writes move it: an edit of the listing is in the parts' key already."""
    ListingImageFactory(listing=listing)
    before = revision(listing)
    listing.refresh_from_db()
    listing.title = "Renamed"
    listing.save()
    assert revision(listing) == before
