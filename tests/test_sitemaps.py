"""sitemap.xml stays right as listings sell, are hidden, deleted or their seller banned, and it
lists categories, shops and the help centre (threadly/sitemaps.py, docs/seo.md)."""

import re

import pytest
from django.core.cache import cache

from accounts.services import user_set_banned
from accounts.tests.factories import UserFactory
from marketplace import services
from marketplace.models import Listing
from marketplace.services.moderation import listing_set_hidden
from marketplace.tests.factories import CategoryFactory, ListingFactory
from threadly.help import PAGES

pytestmark = pytest.mark.django_db


def sitemap(client, section: str) -> str:
    """A fresh (uncached) sitemap section; the views are cached for an hour in production."""
    cache.clear()
    response = client.get(f"/sitemap-{section}.xml")
    assert response.status_code == 200
    return response.content.decode()


def listed(body: str, listing: Listing) -> bool:
    return f"/items/{listing.pk}-" in body


def test_sitemap_index_names_every_section(client):
    """The index points at categories, listings, sellers, help and the static pages."""
    body = client.get("/sitemap.xml").content.decode()
    for section in ("static", "categories", "listings", "sellers", "help"):
        assert f"sitemap-{section}.xml" in body


def test_listing_drops_out_when_it_sells(client, seller):
    """An item for sale is listed; once marked sold it is gone."""
    listing = ListingFactory(seller=seller)
    assert listed(sitemap(client, "listings"), listing)
    services.listing_mark_sold(user=seller, listing_id=listing.pk)
    assert not listed(sitemap(client, "listings"), listing)


def test_listing_drops_out_when_staff_hide_it_and_returns_when_restored(client, seller):
    """Hidden by moderation: out of the sitemap; restored: back in."""
    listing = ListingFactory(seller=seller)
    listing_set_hidden(listing_id=listing.pk, hidden=True, actor=None)
    assert not listed(sitemap(client, "listings"), listing)
    listing_set_hidden(listing_id=listing.pk, hidden=False, actor=None)
    assert listed(sitemap(client, "listings"), listing)


def test_listing_drops_out_when_deleted(client, seller):
    """A listing the seller deleted is gone from the sitemap."""
    listing = ListingFactory(seller=seller)
    services.listing_delete(user=seller, listing_id=listing.pk)
    assert not listed(sitemap(client, "listings"), listing)


def test_banned_sellers_listings_and_shop_drop_out(client, seller):
    """Banning a member removes their listings and their shop from the sitemap."""
    listing = ListingFactory(seller=seller)
    assert f"/members/{seller.username}/" in sitemap(client, "sellers")
    user_set_banned(user_id=seller.pk, banned=True, actor=None)
    assert not listed(sitemap(client, "listings"), listing)
    assert f"/members/{seller.username}/" not in sitemap(client, "sellers")


def test_reserved_listings_stay_and_drafts_removed_and_sold_stay_out(client):
    """Reserved (held in a checkout) stays listed; draft, removed and sold never are."""
    reserved = ListingFactory(status=Listing.Status.RESERVED, quantity=0)
    others = [
        ListingFactory(draft=True),
        ListingFactory(status=Listing.Status.REMOVED),
        ListingFactory(sold=True),
    ]
    body = sitemap(client, "listings")
    assert listed(body, reserved)
    assert not any(listed(body, listing) for listing in others)


def test_listing_lastmod_is_its_last_change(client):
    """<lastmod> of a listing is the date of its updated_at."""
    listing = ListingFactory()
    body = sitemap(client, "listings")
    entry = re.search(rf"/items/{listing.pk}-[^<]*</loc><lastmod>([^<]+)</lastmod>", body)
    assert entry is not None
    assert entry.group(1).startswith(listing.updated_at.date().isoformat())


def test_seller_sitemap_lists_only_shops_with_indexable_listings(client):
    """A shop is listed when it has an item for sale or reserved, not with only sold items."""
    active_shop = UserFactory(username="active.shop")
    ListingFactory(seller=active_shop)
    ListingFactory(seller=active_shop, sold=True)
    sold_out_shop = UserFactory(username="sold.out")
    ListingFactory(seller=sold_out_shop, sold=True)
    UserFactory(username="browser.only")
    body = sitemap(client, "sellers")
    assert body.count("/members/active.shop/") == 1
    assert "/members/sold.out/" not in body
    assert "/members/browser.only/" not in body
    assert "<lastmod>" in body


def test_categories_and_help_pages_are_listed(client):
    """Every category and every help page (and the help index) has its URL."""
    women = CategoryFactory(slug="women")
    CategoryFactory(slug="women-tops", parent=women)
    categories = sitemap(client, "categories")
    assert "/c/women/" in categories
    assert "/c/women-tops/" in categories
    help_pages = sitemap(client, "help")
    assert "/help/</loc>" in help_pages
    for page in PAGES:
        assert f"/help/{page.slug}/" in help_pages
