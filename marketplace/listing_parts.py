"""The parts of a listing's page that every viewer sees alike, cached by what they show.

A signed-in member, a guest after a hard reload and the page cache's first visitor all get
the listing page rendered; most of it (the title, meta description and share tags, the
structured data, breadcrumbs, gallery, summary, description and seller card) doesn't depend
on who looks. Those parts (listing_parts.html) are cached by a digest of everything they show
(core.fragments): the listing's fields, its seller and profile, its category path, the
seller's count of items for sale and the site's origin (absolute URLs). A change to any of
them is a new key at once: nothing is invalidated, nothing is stale. The page costs one
`get_many` for all of them.

The photos are keyed by the listing's `photos_revision`, which the database moves on every
photo write (PostgreSQL triggers, migration 0011): the photos are read only when a part is
rendered. SQLite has no such trigger, so there they are read every time and keyed themselves.
"""

from collections.abc import Callable
from functools import cache, partial

from django.db import connections
from django.db.models import Model
from django.http import HttpRequest
from django.template.loader import get_template
from django.utils.safestring import SafeString

from core import fragments
from marketplace import selectors
from marketplace.models import Listing
from marketplace.seo import category_path

TEMPLATE = "marketplace/listing_parts.html"
# The templates the parts are rendered from: their source is part of the key.
SOURCES = (TEMPLATE, "marketplace/social.html")
PARTS = (
    "title",
    "meta_description",
    "social",
    "share_image",
    "structured_data",
    "breadcrumbs",
    "gallery",
    "summary",
    "description",
    "seller",
)
# What the seller card shows of the member (not the password or e-mail address).
MEMBER_FIELDS = ("id", "username", "date_joined", "is_active", "is_banned", "is_seller")
# Listing fields no part shows, which change without the page changing.
UNSHOWN_LISTING_FIELDS = frozenset({"view_count"})


def listing_parts(
    *,
    request: HttpRequest,
    listing: Listing,
    seller_active_count: int,
    canonical_url: str,
) -> dict[str, SafeString]:
    """Each part's HTML by name (PARTS), for a listing loaded by selectors.listing_for_detail.
    `share_image` is empty for a listing without photos."""
    origin = request.build_absolute_uri("/")
    seller = listing.seller
    photos = cache(partial(selectors.listing_images, listing=listing))
    content = (
        origin,
        _values(listing, skip=UNSHOWN_LISTING_FIELDS),
        tuple(getattr(seller, name) for name in MEMBER_FIELDS),
        _values(getattr(seller, "profile", None)),
        tuple((node.pk, node.slug, node.name) for node in category_path(listing.category)),
        seller_active_count,
        () if _photos_revision_kept(listing) else tuple(_values(image) for image in photos()),
    )
    digest = fragments.content_key("listing-parts", content, sources=SOURCES)
    context = cache(
        lambda: {
            "request": request,
            "canonical_url": canonical_url,  # the origin and the listing's pk and slug: keyed
            "listing": listing,
            "images": photos(),
            "cover": photos()[0] if photos() else None,
            "seller": seller,
            "seller_active_count": seller_active_count,
        }
    )
    html = fragments.cached_html(
        [(f"{digest}:{name}", partial(_render, name, context)) for name in PARTS]
    )
    return dict(zip(PARTS, html, strict=True))


def _render(name: str, context: Callable[[], dict]) -> str:
    return get_template(f"{TEMPLATE}#{name}").render(context())


def _photos_revision_kept(listing: Listing) -> bool:
    """Whether the database moves listing.photos_revision on every photo write."""
    return connections[listing._state.db or "default"].vendor == "postgresql"


def _values(row: Model | None, *, skip: frozenset[str] = frozenset()) -> tuple:
    """Every stored value of `row` (a file field as its name), in field order."""
    if row is None:
        return ()
    return tuple(
        getattr(row, field.attname) for field in row._meta.concrete_fields if field.name not in skip
    )
