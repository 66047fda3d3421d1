"""The viewer-independent parts of a listing's page come from the cache by what they show
(marketplace.listing_parts): rendered once, never stale, never anyone's own."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Profile
from accounts.tests.factories import UserFactory
from marketplace import listing_parts
from marketplace.models import Listing, ListingImage
from marketplace.tests.factories import ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db

# A hard reload: the page is rendered, not read from the page cache.
FRESH = {"Cache-Control": "no-cache"}


@pytest.fixture
def listing() -> Listing:
    listing = ListingFactory(title="Wool coat", brand="COS", size="L", description="Warm.")
    ListingImageFactory(listing=listing, position=0)
    return listing


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """The names of the parts rendered (not read from the cache) from now on."""
    rendered: list[str] = []
    real = listing_parts._render

    def counting(name, context):
        rendered.append(name)
        return real(name, context)

    monkeypatch.setattr(listing_parts, "_render", counting)
    return rendered


def test_parts_are_rendered_once_then_come_from_the_cache(client, listing, renders):
    first = client.get(listing.get_absolute_url(), headers=FRESH).content
    assert renders == list(listing_parts.PARTS)
    renders.clear()
    again = client.get(listing.get_absolute_url(), headers=FRESH).content
    assert renders == []
    assert _without_nonces(again) == _without_nonces(first)


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (
            lambda listing: Listing.objects.filter(pk=listing.pk).update(title="Linen coat"),
            "Linen coat",
        ),
        (
            lambda listing: Listing.objects.filter(pk=listing.pk).update(price=Decimal("19.00")),
            "€19.00",
        ),
        (
            lambda listing: Listing.objects.filter(pk=listing.pk).update(description="Moth-free."),
            "Moth-free.",
        ),
        (
            lambda listing: Profile.objects.filter(user=listing.seller).update(
                display_name="Ada Vintage"
            ),
            "Ada Vintage",
        ),
        (lambda listing: ListingImage.objects.filter(listing=listing).delete(), "No photos yet."),
        (lambda listing: ListingImageFactory(listing=listing, position=1), 'id="photo-2"'),
        (
            lambda listing: ListingImage.objects.filter(listing=listing).update(width=1234),
            'width="1234"',
        ),
    ],
    ids=["title", "price", "description", "seller-name", "photos", "photo-added", "photo-edited"],
)
def test_a_change_no_signal_reports_is_on_the_page_at_once(client, listing, change, shown):
    """Bulk writes reach no invalidation at all, yet the page shows them: the parts' key is
    what they show, so the old parts stay in the cache unused."""
    assert shown not in client.get(listing.get_absolute_url(), headers=FRESH).content.decode()
    change(listing)
    assert shown in client.get(listing.get_absolute_url(), headers=FRESH).content.decode()


def test_a_page_whose_parts_are_cached_reads_no_photos(client, listing):
    """The parts are keyed by the listing's photos_revision (PostgreSQL), not by the photos."""
    client.get(listing.get_absolute_url(), headers=FRESH)
    with CaptureQueriesContext(connection) as captured:
        page = client.get(listing.get_absolute_url(), headers=FRESH).content.decode()
    photo_reads = [q for q in captured.captured_queries if "marketplace_listingimage" in q["sql"]]
    assert len(photo_reads) == (0 if connection.vendor == "postgresql" else 1)
    assert 'id="photo-1"' in page


def test_a_listing_without_photos_shares_the_sites_default_image(client):
    listing = ListingFactory()
    for _ in range(2):  # rendered, then from the cache
        page = client.get(listing.get_absolute_url(), headers=FRESH).content.decode()
        assert page.count('<meta property="og:image" content=') == 1
        assert "img/og-default" in page
        assert '<meta property="og:image:alt" content="Threadly">' in page


def test_the_head_follows_a_change_too(client, listing):
    """Title, meta description and share tags are parts as well: a renamed listing's page
    says its new name in <title> and og:title at once."""
    client.get(listing.get_absolute_url(), headers=FRESH)
    Listing.objects.filter(pk=listing.pk).update(title="Linen coat")
    page = client.get(listing.get_absolute_url(), headers=FRESH).content.decode()
    assert "<title>Linen coat · COS · Threadly</title>" in page
    assert '<meta property="og:title" content="Linen coat">' in page
    assert 'content="Linen coat, size L' in page  # the meta description


def test_the_seller_and_a_shopper_share_parts_that_hold_nothing_of_either(client, listing, renders):
    """The seller's visit stores the parts; a shopper's visit reuses them and sees their own
    controls, not the seller's."""
    client.force_login(listing.seller)
    owner_page = client.get(listing.get_absolute_url()).content.decode()
    assert "Edit listing" in owner_page
    renders.clear()
    client.force_login(UserFactory())
    shopper_page = client.get(listing.get_absolute_url()).content.decode()
    assert renders == []
    assert "Edit listing" not in shopper_page
    assert "Wool coat" in shopper_page


def test_debug_renders_every_part(client, listing, settings, renders):
    client.get(listing.get_absolute_url(), headers=FRESH)
    settings.DEBUG = True
    renders.clear()
    client.get(listing.get_absolute_url(), headers=FRESH)
    assert renders == list(listing_parts.PARTS)


def _without_nonces(content: bytes) -> bytes:
    return re.sub(rb'nonce="[^"]*"', b"", content)
