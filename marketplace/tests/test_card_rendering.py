"""Listing cards render fast without changing what they show."""

import pytest
from django.core.files.storage import FileSystemStorage

from marketplace.models import media_url


@pytest.mark.parametrize(
    "name",
    [
        "listings/abc123.webp",
        "listings/a.b-c_d.JPG",
        "listings/x..y.webp",
        "listings/../secret",
        "./a",
        "a/./b",
        "a//b",
        "a b.jpg",
        "é.jpg",
        "..",
        ".hidden",
        "/abs",
        "a/",
        "q?x=1#y",
    ],
)
@pytest.mark.parametrize("base_url", ["/media/", "https://cdn.example.com/media/"])
def test_media_url_is_the_storages_own_url(name, base_url, tmp_path):
    """media_url() gives exactly what FileSystemStorage.url() gives, for any stored name."""
    storage = FileSystemStorage(location=tmp_path, base_url=base_url)
    assert media_url(storage, name) == storage.url(name)


def test_media_url_sees_through_the_default_storage_proxy(settings, tmp_path):
    """default_storage (a lazy proxy) gets the same URL as the storage it wraps."""
    from django.core.files.storage import default_storage

    settings.MEDIA_ROOT = tmp_path
    for name in ("listings/abc.webp", "a b.jpg", "../x"):
        assert media_url(default_storage, name) == default_storage.url(name)


@pytest.mark.django_db
def test_listing_cards_show_photo_size_price_and_price_drop(client):
    """A card links to the listing with its cover photo (every rendition in srcset, plain
    pixel sizes), price, size, brand and title; a listing card elsewhere has no price-drop pill."""
    from django.urls import reverse

    from marketplace.tests.factories import ListingFactory, ListingImageFactory

    listing = ListingFactory(title="Wool coat", brand="COS", size="L")
    ListingImageFactory(
        listing=listing,
        position=0,
        variants=[{"width": 320, "height": 427, "name": "listings/small.webp"}],
    )
    body = client.get(reverse("marketplace:home")).content.decode()
    assert f'href="{listing.get_absolute_url()}"' in body
    assert 'srcset="/media/listings/small.webp 320w, /media/listings/' in body
    assert 'width="60" height="80" alt="Wool coat"' in body
    assert "€25.00" in body
    assert "L · COS" in body
    assert "Price dropped" not in body
