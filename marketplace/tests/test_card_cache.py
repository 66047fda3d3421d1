"""Listing cards come from the cache by content (marketplace.cards): never a stale card."""

from dataclasses import replace
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Profile
from marketplace import cards, selectors
from marketplace.models import Listing
from marketplace.tests.factories import ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db


def _loaded(pk: int) -> Listing:
    """A listing as the shop and feed pages load it: seller, profile and photos."""
    return Listing.objects.select_related("seller__profile").prefetch_related("images").get(pk=pk)


@pytest.fixture
def listing() -> Listing:
    listing = ListingFactory(title="Wool coat", brand="COS", size="L")
    ListingImageFactory(
        listing=listing,
        position=0,
        variants=[{"width": 320, "height": 427, "name": "listings/small.webp"}],
    )
    ListingImageFactory(listing=listing, position=1)
    Profile.objects.filter(user=listing.seller).update(
        rating_count=3, rating_average=Decimal("4.67")
    )
    return _loaded(listing.pk)


def test_cards_from_ids_equal_cards_from_loaded_listings(listing):
    """Browse pages (ids) and shop pages (listings) build the same card, so they share its
    HTML and its cache entry: with and without photos, ratings, for sale or sold."""
    bare = ListingFactory(sold=True, brand="", size="")
    ids = [bare.pk, listing.pk]
    expected = [cards.card_of(_loaded(pk)) for pk in ids]
    assert selectors.listing_cards(ids) == expected
    assert expected[1].photo.name == listing.images.all()[0].image.name  # the first photo
    assert expected[0].photo is None
    assert expected[0].rating_count == 0


def test_listing_cards_skip_vanished_ids_and_keep_the_order(listing, django_assert_num_queries):
    """Two queries whatever the number of cards; a deleted id is skipped."""
    other = ListingFactory(with_image=True)
    with django_assert_num_queries(2):
        found = selectors.listing_cards([other.pk, 999_999, listing.pk])
    assert [card.pk for card in found] == [other.pk, listing.pk]


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        ({"title": "Linen coat"}, "Linen coat"),
        ({"price": Decimal("19.00")}, "€19.00"),
        ({"status": "sold"}, "Sold"),
        ({"brand": "Arket"}, "Arket"),
        ({"rating_count": 9}, "(9)"),
        ({"price_dropped_from": Decimal("40.00")}, "€40.00"),
    ],
)
def test_a_changed_card_has_new_html_and_a_new_key(listing, change, shown):
    """What a card shows comes from the Card alone, and the key hashes the whole Card."""
    card = cards.card_of(listing)
    changed = replace(card, **change)
    assert shown not in cards.render_card(card)
    assert shown in cards.render_card(changed)
    assert cards.card_key(changed) != cards.card_key(card)


def test_card_photo_is_the_first_photo_with_every_rendition(listing):
    """The photo's URL and srcset are the listing photo's own."""
    image = listing.images.all()[0]
    photo = cards.card_of(listing).photo
    assert (photo.url, photo.srcset, photo.width, photo.height) == (
        image.url,
        image.srcset,
        image.width,
        image.height,
    )


def test_cards_render_once_then_come_from_the_cache(listing, monkeypatch):
    """The second page of the same cards renders none of them and shows the same HTML."""
    first = cards.render_cards([listing])
    rendered = []
    monkeypatch.setattr(cards, "render_card", lambda item: rendered.append(item) or "")
    assert cards.render_cards([listing]) == first
    assert rendered == []


@pytest.mark.parametrize("page", ["home", "shop"])
def test_changed_listing_shows_its_new_card_at_once(client, listing, page):
    """A price change is on the next page view, though the old card is still cached: on
    pages of cards from ids (home) and of loaded listings (the shop)."""
    url = {
        "home": reverse("marketplace:home"),
        "shop": reverse("marketplace:seller", args=[listing.seller.username]),
    }[page]
    assert "€25.00" in client.get(url).content.decode()
    Listing.objects.filter(pk=listing.pk).update(price=Decimal("19.00"))
    body = client.get(url).content.decode()
    assert "€19.00" in body
    assert "€25.00" not in body


def test_new_seller_rating_shows_on_cached_cards(client, listing):
    """A seller's new rating shows on their cards at once."""
    url = reverse("marketplace:home")
    assert "(3)" in client.get(url).content.decode()
    Profile.objects.filter(user=listing.seller).update(
        rating_count=4, rating_average=Decimal("4.75")
    )
    assert "★ 4.8 (4)" in client.get(url).content.decode()


def test_cached_card_is_the_rendered_card(listing):
    """What the cache gives back is exactly what rendering gives."""
    card = cards.card_of(listing)
    assert cards.render_cards([listing]) == [cards.render_card(card)]
    assert cards.render_cards([card]) == [cards.render_card(card)]


def test_debug_renders_every_card(listing, settings, monkeypatch):
    """In DEBUG an edited card template shows at once: no card comes from the cache."""
    cards.render_cards([listing])
    settings.DEBUG = True
    rendered = []
    monkeypatch.setattr(cards, "render_card", lambda item: rendered.append(item) or "")
    cards.render_cards([listing])
    assert rendered == [cards.card_of(listing)]
