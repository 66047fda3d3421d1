"""Listing cards come from the cache by content (marketplace.cards): never a stale card."""

import datetime
from decimal import Decimal

import pytest
from django.db import models
from django.urls import reverse

from accounts.models import Profile
from marketplace import cards, selectors
from marketplace.models import Listing, ListingImage
from marketplace.tests.factories import ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def listing() -> Listing:
    listing = ListingFactory(title="Wool coat", brand="COS", size="L")
    ListingImageFactory(
        listing=listing,
        position=0,
        variants=[{"width": 320, "height": 427, "name": "listings/small.webp"}],
    )
    Profile.objects.filter(user=listing.seller).update(
        rating_count=3, rating_average=Decimal("4.67")
    )
    return selectors.listings_by_ids([listing.pk])[0]


def _changed(field: models.Field, value):
    """A different valid value for `field` than `value`, or None to skip the field."""
    if field.choices:
        others = [choice for choice, _ in field.choices if choice != value]
        return others[0] if others else None
    if isinstance(field, models.BooleanField):
        return not value
    if isinstance(field, models.DecimalField):
        return (value or Decimal(0)) + Decimal("1.5")
    if isinstance(field, models.IntegerField):
        return (value or 0) + 7
    if isinstance(field, models.DateTimeField):
        return (value or datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)) + datetime.timedelta(
            days=3
        )
    if isinstance(field, models.FileField):
        return f"{value.name}x" if value else "listings/other.jpg"
    if isinstance(field, models.JSONField):
        return [*(value or []), {"width": 640, "height": 853, "name": "listings/big.webp"}]
    if isinstance(field, models.CharField | models.TextField | models.SlugField):
        return f"{value}x"
    return None


def _mutations(listing: Listing):
    """(label, a copy of `listing` with one shown-or-not field changed) for every plain field
    of the listing, its first photo and its seller's profile."""
    targets = [
        (Listing, lambda item: item),
        (ListingImage, lambda item: item.images.all()[0]),
        (Profile, lambda item: item.seller.profile),
    ]
    for model, pick in targets:
        for field in model._meta.concrete_fields:
            if field.primary_key or field.is_relation:
                continue
            item = selectors.listings_by_ids([listing.pk])[0]  # a fresh copy, photos loaded
            target = pick(item)
            new = _changed(field, getattr(target, field.attname))
            if new is None:
                continue
            # Past the image descriptor, which would open the (missing) file for its size.
            target.__dict__[field.attname] = new
            yield f"{model.__name__}.{field.name}", item


def test_card_key_changes_whenever_the_card_html_would(listing):
    """Every field whose change changes a card's HTML also changes its cache key."""
    html, key = cards.render_card(listing), cards.card_key(listing)
    shown = []
    for label, changed in _mutations(listing):
        if cards.render_card(changed) != html:
            shown.append(label)
            assert cards.card_key(changed) != key, f"{label} changes the card but not its key"
    # The walk really reaches what a card shows (else the check above proves nothing).
    for label in ("Listing.title", "Listing.price", "Listing.status", "ListingImage.variants"):
        assert label in shown
    assert "Profile.rating_count" in shown


def test_cards_render_once_then_come_from_the_cache(listing, monkeypatch):
    """The second page of the same cards renders none of them and shows the same HTML."""
    first = cards.render_cards([listing])
    rendered = []
    monkeypatch.setattr(cards, "render_card", lambda item: rendered.append(item) or "")
    assert cards.render_cards([listing]) == first
    assert rendered == []


def test_changed_listing_shows_its_new_card_at_once(client, listing):
    """A price change is on the next page view, though the old card is still cached."""
    url = reverse("marketplace:home")
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
    assert cards.render_cards([listing]) == [cards.render_card(listing)]
    assert cards.render_cards([listing]) == [cards.render_card(listing)]


def test_debug_renders_every_card(listing, settings, monkeypatch):
    """In DEBUG an edited card template shows at once: no card comes from the cache."""
    cards.render_cards([listing])
    settings.DEBUG = True
    rendered = []
    monkeypatch.setattr(cards, "render_card", lambda item: rendered.append(item) or "")
    cards.render_cards([listing])
    assert rendered == [listing]
