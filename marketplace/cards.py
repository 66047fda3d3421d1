"""Listing cards: what a card shows (`Card`), and its HTML cached by exactly that.

A card (components.html#listing_card) is the same for every viewer. It is rendered from a
`Card` alone, plain data read from the listing, its first photo and its seller's rating, and
cached by that content (core.fragments): a listing that changes has a new key at once, so
nothing is ever invalidated or stale. A page of cards is one `get_many` and, for the cards not
seen yet, one `set_many`. Pages that only have ids (browse, search) load `Card`s in two light
queries (selectors.listing_cards) instead of model instances with their photos.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe

from core import fragments
from marketplace.models import Listing, ListingImage, listing_url, media_url, photo_srcset

CARD_TEMPLATE = "marketplace/components.html#listing_card"
# The templates a card is rendered from: their source is part of every key.
CARD_SOURCES = ("marketplace/components.html", "marketplace/social.html")


@dataclass(frozen=True, slots=True)
class CardPhoto:
    """A listing's first photo as stored: name, size and renditions [{"name", "width", ...}]."""

    name: str
    width: int
    height: int
    variants: tuple[tuple[str, int], ...] = ()

    @classmethod
    def of(cls, name: str, width: int, height: int, variants: list[dict]) -> "CardPhoto":
        return cls(name, width, height, tuple((v["name"], v["width"]) for v in variants or []))

    @property
    def url(self) -> str:
        return media_url(_storage(), self.name)

    @property
    def srcset(self) -> str:
        renditions = [{"name": name, "width": width} for name, width in self.variants]
        return photo_srcset(_storage(), self.name, self.width, renditions)


@dataclass(frozen=True, slots=True)
class Card:
    """Everything a listing card shows. Display values (URL, status label, photo URLs) are
    derived from these fields when the card is rendered, so the key needs only the fields."""

    pk: int
    slug: str
    title: str
    price: Decimal
    currency: str
    size: str
    brand: str
    status: str
    photo: CardPhoto | None
    rating_count: int
    rating_average: Decimal | None
    price_dropped_from: Decimal | None = None

    @property
    def url(self) -> str:
        return listing_url(self.pk, self.slug)

    @property
    def status_label(self) -> str:
        return str(Listing.Status(self.status).label)


def _storage():
    return ListingImage._meta.get_field("image").storage


def card_of(listing: Listing) -> Card:
    """The card of a listing loaded with its photos and its seller's profile."""
    images = listing.images.all()  # prefetched by the card selectors
    image = images[0] if images else None
    profile = listing.seller.profile
    return Card(
        pk=listing.pk,
        slug=listing.slug,
        title=listing.title,
        price=listing.price,
        currency=listing.currency,
        size=listing.size,
        brand=listing.brand,
        status=listing.status,
        photo=CardPhoto.of(image.image.name, image.width, image.height, image.variants)
        if image and image.image
        else None,
        rating_count=profile.rating_count,
        rating_average=profile.rating_average,
        price_dropped_from=listing.price_dropped_from,
    )


def card_key(card: Card) -> str:
    return fragments.content_key("card", card, sources=CARD_SOURCES)


def render_card(card: Card) -> SafeString:
    """One card's HTML, rendered (no cache)."""
    return mark_safe(get_template(CARD_TEMPLATE).render({"card": card}))  # noqa: S308 - our template's output


def render_cards(items: Iterable[Card | Listing]) -> list[SafeString]:
    """The cards of `items` (Cards, or listings loaded for cards), in order: from the cache
    where it has them, rendered and stored otherwise (every one in DEBUG)."""
    cards = [item if isinstance(item, Card) else card_of(item) for item in items]
    return fragments.cached_html([(card_key(card), partial(render_card, card)) for card in cards])
