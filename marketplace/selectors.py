"""Read-side queries of the marketplace. Each returns rows ready to render (no N+1)."""

from collections.abc import Iterable, Sequence
from dataclasses import replace
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Case, Count, F, Min, Prefetch, QuerySet, When
from django.db.models.functions import Lower
from django.http import Http404
from django.urls import reverse

from accounts.models import User
from core.keyset import KeysetPage, keyset_page
from core.prepared import prepared_statements
from core.request_memo import request_memo
from marketplace import saved_query
from marketplace.cards import Card, CardPhoto
from marketplace.models import (
    Category,
    Favourite,
    Listing,
    ListingImage,
    SavedSearch,
    category_url,
)
from marketplace.rules import listing_is_visible
from marketplace.search.base import ListingFilters
from marketplace.search.filtering import listings_matching, text_match

CATEGORY_NAV_MEMO_KEY = "marketplace:category-nav"
CATEGORY_TREE_CACHE_KEY = "marketplace:category-tree:v1"
POPULAR_BRANDS_CACHE_KEY = "marketplace:popular-brands:v1"
# What selectors.listing_cards reads of a listing and its seller (marketplace.cards.Card).
CARD_COLUMNS = (
    "pk",
    "slug",
    "title",
    "price",
    "currency",
    "size",
    "brand",
    "status",
    "seller__profile__rating_count",
    "seller__profile__rating_average",
)

SORTS = {
    "newest": ("-published_at", "-id"),
    "price_asc": ("price", "id"),
    "price_desc": ("-price", "-id"),
}


def category_nav() -> list[dict]:
    """Top-level categories as {"name", "slug", "url"}, from the category tree (worked out
    once per request)."""
    return request_memo(CATEGORY_NAV_MEMO_KEY, _category_nav)


def _category_nav() -> list[dict]:
    return [
        {
            "name": n["name"],
            "slug": n["slug"],
            "url": category_url(n["slug"]),
        }
        for n in category_tree()
        if n["parent_id"] is None
    ]


def category_tree() -> list[dict]:
    """Every category as {"id", "parent_id", "name", "slug"} in display order, cached until a
    category changes (one query when cold), read from the cache once per request."""
    return request_memo(CATEGORY_TREE_CACHE_KEY, _category_tree)


def _category_tree() -> list[dict]:
    tree = cache.get(CATEGORY_TREE_CACHE_KEY)
    if tree is None:
        tree = list(Category.objects.values("id", "parent_id", "name", "slug"))
        cache.set(CATEGORY_TREE_CACHE_KEY, tree, 3600)
    return tree


def _labelled_tree(tree: list[dict]) -> list[tuple[dict, str]]:
    """Each node of `tree` with its "Women › Tops › T-shirts" label, depth first."""
    children: dict[int | None, list[dict]] = {}
    for node in tree:
        children.setdefault(node["parent_id"], []).append(node)
    labelled: list[tuple[dict, str]] = []

    def walk(parent_id: int | None, prefix: str) -> None:
        for node in children.get(parent_id, []):
            label = f"{prefix}{node['name']}"
            labelled.append((node, label))
            walk(node["id"], f"{label} › ")

    walk(None, "")
    return labelled


def category_choices() -> list[tuple[int, str]]:
    """(id, "Women › Tops › T-shirts") for every category, depth first, for select boxes."""
    return [(node["id"], label) for node, label in _labelled_tree(category_tree())]


def category_slug_choices() -> list[tuple[str, str]]:
    """(slug, "Women › Tops") for every category, depth first, for the browse filter.

    Built from one read of the cached tree, so a category added meanwhile can't be half-seen.
    """
    return [(node["slug"], label) for node, label in _labelled_tree(category_tree())]


def category_descendant_ids(category_id: int) -> list[int]:
    """The category and every category below it."""
    children: dict[int | None, list[int]] = {}
    for node in category_tree():
        children.setdefault(node["parent_id"], []).append(node["id"])
    ids, stack = [], [category_id]
    while stack:
        current = stack.pop()
        ids.append(current)
        stack.extend(children.get(current, []))
    return ids


def category_path_names(category_id: int) -> str:
    """ "Women Tops T-shirts": the names from the top of the tree down to the category, what
    the search weighs on a listing (Listing.category_names). "" for an unknown id."""
    nodes = {node["id"]: node for node in category_tree()}
    names, current, seen = [], nodes.get(category_id), set()
    while current is not None and current["id"] not in seen:
        seen.add(current["id"])
        names.append(current["name"])
        current = nodes.get(current["parent_id"])
    return " ".join(reversed(names))


def category_get(*, slug: str) -> Category:
    """The category with `slug` and two levels of parents (for breadcrumbs); Http404 if none."""
    category = Category.objects.select_related("parent__parent").filter(slug=slug).first()
    if category is None:
        raise Http404("No such category.")
    return category


def _images_prefetch(lookup: str = "images") -> Prefetch:
    return Prefetch(lookup, queryset=ListingImage.objects.order_by("position", "id"))


def listings_new_in(*, limit: int = 12) -> list[Card]:
    """The cards of the latest listings for sale, newest first (two queries)."""
    return _cards(Listing.objects.for_sale().order_by("-published_at", "-id")[:limit])


def listings_search(*, filters: ListingFilters) -> QuerySet[Listing]:
    """Listings for sale matching `filters`, sorted ("relevance" sorts as "newest" here):
    every match, for callers that need them all (the saved-search digest).

    The text match is the search page's (marketplace.search.filtering.text_match: full text
    on PostgreSQL, substrings on SQLite), so the digest and the page agree.
    """
    category_ids = (
        category_descendant_ids(filters.category.pk) if filters.category is not None else None
    )
    listings = listings_matching(filters, text=text_match(filters.q), category_ids=category_ids)
    return listings.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def brands_popular(*, limit: int = 8) -> list[dict]:
    """The brands with the most listings for sale as {"name", "url"} (a link to browse
    them), most first; cached for an hour (one GROUP BY when cold)."""
    brands = cache.get(POPULAR_BRANDS_CACHE_KEY)
    if brands is None:
        rows = (
            Listing.objects.for_sale()
            .exclude(brand="")
            .values(key=Lower("brand"))
            .annotate(listings=Count("id"), name=Min("brand"))
            .order_by("-listings", "key")[:limit]
        )
        browse = reverse("marketplace:browse")
        brands = [
            {"name": row["name"], "url": f"{browse}?{urlencode({'brand': row['name']})}"}
            for row in rows
        ]
        cache.set(POPULAR_BRANDS_CACHE_KEY, brands, 3600)
    return brands


def listing_cards(ids: Sequence[int]) -> list[Card]:
    """The cards of the listings with these ids, in that order (two queries whatever the
    number). Ids of listings that vanished are skipped."""
    if not ids:
        return []
    found = {card.pk: card for card in _cards(Listing.objects.filter(pk__in=ids))}
    return [found[pk] for pk in ids if pk in found]


def _cards(listings: QuerySet[Listing]) -> list[Card]:
    """The cards of `listings`, in its order: plain rows, no model instances (a page of
    Listing objects with sellers, profiles and photos cost a browse page 4 ms)."""
    rows = list(listings.values_list(*CARD_COLUMNS))
    if not rows:
        return []
    photos: dict[int, CardPhoto | None] = {}
    images = (
        ListingImage.objects.filter(listing_id__in=[row[0] for row in rows])
        .order_by("listing_id", "position", "id")
        .values_list("listing_id", "image", "width", "height", "variants")
    )
    for listing_id, name, width, height, variants in images:
        if listing_id not in photos:  # the first photo of each listing
            photos[listing_id] = CardPhoto.of(name, width, height, variants) if name else None
    return [
        Card(
            pk=pk,
            slug=slug,
            title=title,
            price=price,
            currency=currency,
            size=size,
            brand=brand,
            status=status,
            photo=photos.get(pk),
            rating_count=rating_count or 0,
            rating_average=rating_average,
        )
        for pk, slug, title, price, currency, size, brand, status, rating_count, rating_average in (
            rows
        )
    ]


def category_with_parents(category_id: int) -> Category | None:
    """The category with its parents attached (`.parent`, up to the root), built from the
    cached category tree: no query. None if the tree doesn't know the id."""
    nodes = {node["id"]: node for node in category_tree()}
    fields = ["id", "name", "slug", "parent_id"]  # in the model's order, as from_db wants

    def row(node_id: int) -> Category | None:
        node = nodes.get(node_id)
        if node is None:
            return None
        # A loaded row with these fields (any other, e.g. position, is deferred: a query).
        return Category.from_db("default", fields, [node[name] for name in fields])

    category = row(category_id)
    node, seen = category, set()
    while node is not None and node.parent_id is not None and node.pk not in seen:
        seen.add(node.pk)
        parent = row(node.parent_id)
        if parent is None:
            return None
        node.parent = parent
        node = parent
    return category


def listing_for_detail(*, listing_id: int, viewer: User | None) -> Listing:
    """A listing with seller, profile and category (with its parents, from the cached
    category tree): one query (two if the tree misses the category). Its photos:
    listing_images (one plain query: a prefetch costs more than it).

    Anyone sees visible listings; the seller (and staff) also see their drafts, removed,
    hidden and deleted ones. Everyone else gets Http404.
    """
    with prepared_statements():  # a primary-key lookup: one plan for every listing
        listing = next(
            iter(
                Listing.objects.select_related("seller__profile")
                .filter(pk=listing_id)
                .order_by()[:1]
            ),
            None,
        )
    if listing is None:
        raise Http404("No such listing.")
    is_owner = (
        viewer is not None
        and viewer.is_authenticated
        and (viewer.pk == listing.seller_id or viewer.is_staff)
    )
    if not is_owner and not listing_is_visible(listing):
        raise Http404("No such listing.")
    category = category_with_parents(listing.category_id)
    if category is None:  # a category added since the tree was cached
        category = Category.objects.select_related("parent__parent").get(pk=listing.category_id)
    listing.category = category
    return listing


SELLER_ACTIVE_COUNT_TTL = 600


def seller_active_count_cache_key(seller_id: int) -> str:
    return f"seller-active-count:{seller_id}"


def seller_active_listing_count(*, seller: User) -> int:
    """How many of the seller's listings are for sale; cached per seller (no query on a hit),
    dropped whenever one of their listings is saved or deleted (marketplace.signals)."""
    key = seller_active_count_cache_key(seller.pk)
    count = cache.get(key)
    if count is None:
        count = Listing.objects.for_sale().filter(seller=seller).count()
        cache.set(key, count, SELLER_ACTIVE_COUNT_TTL)
    return count


def members_public() -> QuerySet[User]:
    """Members anyone may see (active, not banned), with their profile."""
    return User.objects.select_related("profile").filter(is_active=True, is_banned=False)


def seller_get(*, username: str, members: QuerySet[User] | None = None) -> User:
    """An active, not banned member (with profile) by their handle; Http404 otherwise.

    `members` narrows or annotates members_public() (e.g. with follow counts)."""
    members = members if members is not None else members_public()
    user = members.filter(username__iexact=username).first()
    if user is None:
        raise Http404("No such member.")
    return user


# A shop's order: items for sale first ("active" < "reserved" < "sold"), newest first. The
# index listing_seller_shop has these columns after seller_id, so a page is one index range.
SELLER_SHOP_KEYS = ("status", "-published_at", "-id")
SELLER_SHOP_CURSOR_SALT = "marketplace.seller-shop.cursor"


def seller_listings(*, seller: User) -> QuerySet[Listing]:
    """What a shop shows: the seller's visible listings, items for sale first, newest first
    (only their keys: seller_listings_page makes the page's cards)."""
    return (
        Listing.objects.visible()
        .filter(seller=seller)
        .order_by(*SELLER_SHOP_KEYS)
        .only("id", "status", "published_at")
    )


def seller_listings_page(*, seller: User, cursor: str, per_page: int) -> KeysetPage:
    """One page of the shop (seller_listings) from `cursor` (signed, from the page's links;
    "" for the first). Keyset pages: as fast on page 100 as on page 1, no COUNT (the page
    shows the cached count for sale instead). A cursor whose rows are gone gives page 1."""
    page = keyset_page(
        seller_listings(seller=seller),
        keys=SELLER_SHOP_KEYS,
        cursor=cursor,
        per_page=per_page,
        salt=SELLER_SHOP_CURSOR_SALT,
    )
    return replace(page, object_list=listing_cards([row.pk for row in page.object_list]))


# "My listings" order: the latest change first. listing_seller_updated (partial: not deleted)
# has these columns after seller_id.
MY_LISTINGS_KEYS = ("-updated_at", "-id")
MY_LISTINGS_CURSOR_SALT = "marketplace.my-listings.cursor"


def my_listings(*, seller: User) -> QuerySet[Listing]:
    """Every non-deleted listing of `seller`, in any state, newest change first."""
    return (
        Listing.objects.not_deleted()
        .filter(seller=seller)
        .select_related("category")
        .prefetch_related(_images_prefetch())
        .order_by(*MY_LISTINGS_KEYS)
    )


def my_listings_page(*, seller: User, cursor: str, per_page: int) -> KeysetPage:
    """One keyset page of my_listings from `cursor` ("" for the first): no OFFSET, no COUNT.
    A cursor whose rows are gone gives page 1."""
    return keyset_page(
        my_listings(seller=seller),
        keys=MY_LISTINGS_KEYS,
        cursor=cursor,
        per_page=per_page,
        salt=MY_LISTINGS_CURSOR_SALT,
    )


def favourites_of(*, user: User) -> QuerySet[Listing]:
    """Listings `user` saved that are still visible, most recently saved first.

    Each has `price_dropped_from`: the price when it was saved if it is lower now, else None
    (the "Price dropped" pill)."""
    # Loaded for cards (marketplace.cards.card_of): seller, profile and photos.
    return (
        Listing.objects.visible()
        .filter(favourites__user=user)
        .select_related("seller__profile")
        .prefetch_related(_images_prefetch())
        .annotate(
            price_dropped_from=Case(
                When(favourites__saved_price__gt=F("price"), then=F("favourites__saved_price")),
                default=None,
            )
        )
        .order_by("-favourites__created_at")
    )


def listing_liker_ids(*, listing_id: int) -> list[int]:
    """The members who saved the listing and may still be contacted (active, not banned)."""
    return list(
        Favourite.objects.filter(
            listing_id=listing_id, user__is_active=True, user__is_banned=False
        ).values_list("user_id", flat=True)
    )


def listing_liker_count(*, listing_id: int) -> int:
    """How many members saved the listing (shown to its seller)."""
    return Favourite.objects.filter(listing_id=listing_id).count()


def is_favourited(*, user: User, listing_id: int) -> bool:
    if not user.is_authenticated:
        return False
    return Favourite.objects.filter(user=user, listing_id=listing_id).exists()


def first_photos(listing_ids: Iterable[int]) -> dict[int, ListingImage]:
    """The first photo of each of these listings that has photos, by listing id: one plain
    query (a sliced prefetch compiles a window function, milliseconds for a handful of rows)."""
    photos: dict[int, ListingImage] = {}
    images = ListingImage.objects.filter(listing_id__in=set(listing_ids)).order_by(
        "listing_id", "position", "id"
    )
    for image in images:
        photos.setdefault(image.listing_id, image)
    return photos


def listing_images(*, listing: Listing) -> list[ListingImage]:
    """The listing's photos in display order (cover first)."""
    with prepared_statements():  # by foreign key, a handful of rows: one plan for all
        return list(ListingImage.objects.filter(listing=listing).order_by("position", "id"))


def saved_searches_of(*, user: User) -> list[SavedSearch]:
    """`user`'s saved searches, newest first, each with `summary` (what it filters on) set.

    One query: category names come from the cached category tree.
    """
    searches = list(SavedSearch.objects.filter(user=user).order_by("-created_at", "-id"))
    category_names = {node["slug"]: node["name"] for node in category_tree()}
    for saved in searches:
        saved.summary = saved_query.summary(
            saved_query.parse_query(saved.query), category_names=category_names
        )
    return searches
