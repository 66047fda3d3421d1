"""Listing cards' HTML, cached by what they show.

A card (components.html#listing_card) is the same for every viewer: its HTML depends only on
the listing's own fields, its first photo and its seller's rating. Its cache key is a digest
of exactly those values, of the card templates' source, the language and the release, so a
listing that changes has a new key at once: nothing to invalidate, never stale. A page of
cards is one `get_many` and, for the cards not seen yet, one `set_many`; rendering two dozen
cards was about a third of a browse page's time. marketplace/tests/test_card_cache.py holds
the key to every field a card shows.
"""

import hashlib
from collections.abc import Iterable
from functools import cache

from django.conf import settings
from django.core.cache import cache as django_cache
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from marketplace.models import Listing

CARD_TEMPLATE = "marketplace/components.html#listing_card"
# The templates a card is rendered from: their source is part of every key.
CARD_SOURCES = ("marketplace/components.html", "marketplace/social.html")
# Keys are content digests, so a kept card is never wrong; the TTL only bounds the memory.
CARD_CACHE_SECONDS = 60 * 60


@cache
def _templates_digest() -> str:
    """The card templates' source, hashed once per process (a deploy starts new processes)."""
    digest = hashlib.sha256()
    for name in CARD_SOURCES:
        digest.update(get_template(name).template.source.encode())
    return digest.hexdigest()[:16]


def card_fingerprint(listing: Listing) -> tuple:
    """Every value the card shows. A field added to the card must be added here too (the
    card tests change each field of the models involved and fail if the HTML changes while
    this does not)."""
    images = listing.images.all()  # prefetched by the card selectors
    image = images[0] if images else None
    profile = listing.seller.profile
    return (
        listing.pk,
        listing.slug,
        listing.title,
        str(listing.price),
        listing.currency,
        str(listing.price_dropped_from),
        listing.size,
        listing.brand,
        listing.status,
        image and (image.image.name, image.width, image.height, image.variants),
        profile.rating_count,
        str(profile.rating_average),
    )


def card_key(listing: Listing) -> str:
    # The release too: settings that change how a value is shown come with a deploy.
    release = (settings.VERSION, _templates_digest(), get_language(), settings.MEDIA_URL)
    raw = repr((release, card_fingerprint(listing)))
    return "card:" + hashlib.sha256(raw.encode()).hexdigest()[:32]


def render_card(listing: Listing) -> SafeString:
    """One card's HTML, rendered (no cache)."""
    return mark_safe(get_template(CARD_TEMPLATE).render({"listing": listing}))  # noqa: S308 - our template's output


def render_cards(listings: Iterable[Listing]) -> list[SafeString]:
    """The cards of `listings`, in order: from the cache where it has them, rendered and
    stored otherwise. In DEBUG every card is rendered, so an edited template shows at once."""
    listings = list(listings)
    if settings.DEBUG:
        return [render_card(listing) for listing in listings]
    keys = [card_key(listing) for listing in listings]
    found = django_cache.get_many(keys)
    missing: dict[str, SafeString] = {}
    cards: list[SafeString] = []
    for key, listing in zip(keys, listings, strict=True):
        html = found.get(key)
        if html is None:
            html = missing[key] = render_card(listing)
        cards.append(mark_safe(html))  # noqa: S308 - stored from render_card above
    if missing:
        django_cache.set_many(missing, CARD_CACHE_SECONDS)
    return cards
