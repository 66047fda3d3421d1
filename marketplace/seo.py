"""What search engines and link previews read about the catalog: schema.org structured data
(Product + Offer on listing pages, BreadcrumbList on category and listing pages).

Builders take rows the page already loaded and never query: category paths follow only the
parents fetched with select_related (selectors load three levels). `absolute` turns a path
into an absolute URL (the request's build_absolute_uri). Rendered by the `catalog_seo`
template tags through core.jsonld, which escapes them for a <script> block.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.urls import reverse
from django.utils.translation import gettext as _

from marketplace.models import Category, Listing, ListingCondition, ListingImage, ListingStatus
from marketplace.rules import listing_is_for_sale

Absolute = Callable[[str], str]
SCHEMA = "https://schema.org"

# Our conditions in schema.org's terms: only "new with tags" is new; the rest are used.
ITEM_CONDITION = {
    ListingCondition.NEW_WITH_TAGS: f"{SCHEMA}/NewCondition",
    ListingCondition.LIKE_NEW: f"{SCHEMA}/UsedCondition",
    ListingCondition.GOOD: f"{SCHEMA}/UsedCondition",
    ListingCondition.FAIR: f"{SCHEMA}/UsedCondition",
}
IN_STOCK = f"{SCHEMA}/InStock"
SOLD_OUT = f"{SCHEMA}/SoldOut"
# Reserved = every unit is held in a buyer's checkout: nobody can buy it now, and it may come
# back within RESERVATION_TTL_MINUTES. OutOfStock says exactly that (LimitedAvailability would
# promise a unit one could still buy).
OUT_OF_STOCK = f"{SCHEMA}/OutOfStock"


def category_path(category: Category) -> list[Category]:
    """`category` and its loaded ancestors, root first ("Women", "Tops", "T-shirts").

    Follows `parent` only while it was fetched with the row (select_related), so it never
    runs a query; selectors load three levels, the depth of our tree.
    """
    parent_field = Category._meta.get_field("parent")
    path = [category]
    node = category
    while node.parent_id is not None and parent_field.is_cached(node):
        node = node.parent
        path.append(node)
    return path[::-1]


def category_crumbs(category: Category) -> list[tuple[str, str]]:
    """(name, path) from the home page down to `category`."""
    return [
        (_("Home"), reverse("marketplace:home")),
        *((node.name, node.get_absolute_url()) for node in category_path(category)),
    ]


def breadcrumb_list(crumbs: Iterable[tuple[str, str]], *, absolute: Absolute) -> dict[str, Any]:
    """A schema.org BreadcrumbList of (name, path) pairs, first = top."""
    return {
        "@context": SCHEMA,
        "@type": "BreadcrumbList",
        "itemListElement": [
            {"@type": "ListItem", "position": position, "name": name, "item": absolute(path)}
            for position, (name, path) in enumerate(crumbs, start=1)
        ],
    }


def listing_availability(listing: Listing) -> str:
    """InStock when a unit can be bought, SoldOut when sold, OutOfStock otherwise (reserved)."""
    if listing.status == ListingStatus.SOLD:
        return SOLD_OUT
    if listing_is_for_sale(listing):
        return IN_STOCK
    return OUT_OF_STOCK


def _seller_name(listing: Listing) -> str:
    try:
        return listing.seller.profile.name
    except ObjectDoesNotExist:
        return listing.seller.username


def listing_product(
    listing: Listing, *, images: Iterable[ListingImage], absolute: Absolute
) -> dict[str, Any]:
    """schema.org Product with its Offer for a listing page.

    Reads the listing's seller (+ profile) and category (+ parents) and the given photos,
    all loaded by selectors.listing_for_detail. Sellers are private people: Person.
    """
    url = absolute(listing.get_absolute_url())
    product: dict[str, Any] = {
        "@context": SCHEMA,
        "@type": "Product",
        "name": listing.title,
        "description": listing.description or listing.title,
        "sku": str(listing.pk),
        "productID": str(listing.pk),
        "url": url,
        "category": " > ".join(node.name for node in category_path(listing.category)),
        "image": [absolute(image.url) for image in images if image.url],
        "offers": {
            "@type": "Offer",
            "url": url,
            "price": f"{listing.price:.2f}",
            "priceCurrency": listing.currency,
            "availability": listing_availability(listing),
            "itemCondition": ITEM_CONDITION.get(listing.condition, f"{SCHEMA}/UsedCondition"),
            "seller": {
                "@type": "Person",
                "name": _seller_name(listing),
                "url": absolute(listing.seller.get_absolute_url()),
            },
            "shippingDetails": {
                "@type": "OfferShippingDetails",
                "shippingRate": {
                    "@type": "MonetaryAmount",
                    "value": f"{listing.shipping_price:.2f}",
                    "currency": listing.currency,
                },
            },
        },
    }
    if listing.brand:
        product["brand"] = {"@type": "Brand", "name": listing.brand}
    if listing.colour:
        product["color"] = listing.colour
    if listing.size:
        product["size"] = listing.size
    return product


def listing_breadcrumbs(listing: Listing, *, absolute: Absolute) -> dict[str, Any]:
    """Home › the listing's category path › the listing."""
    crumbs = [*category_crumbs(listing.category), (listing.title, listing.get_absolute_url())]
    return breadcrumb_list(crumbs, absolute=absolute)
