"""What search engines and link previews read on catalog pages: schema.org JSON-LD, breadcrumbs,
canonical URLs, robots rules and Open Graph tags (docs/seo.md)."""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from marketplace.models import Listing
from marketplace.rules import listing_is_indexable
from marketplace.tests.factories import CategoryFactory, ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db

LD_BLOCK = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
ORIGIN = "http://testserver"


def ld_blocks(body: str) -> dict[str, dict]:
    """The page's JSON-LD blocks by @type (each must parse as JSON)."""
    return {data["@type"]: data for data in map(json.loads, LD_BLOCK.findall(body))}


def robots_meta(body: str) -> list[str]:
    return re.findall(r'<meta name="robots" content="([^"]*)">', body)


def canonical_links(body: str) -> list[str]:
    return re.findall(r'<link rel="canonical" href="([^"]*)">', body)


@pytest.fixture
def tshirts():
    women = CategoryFactory(name="Women", slug="women")
    tops = CategoryFactory(name="Tops", slug="women-tops", parent=women)
    return CategoryFactory(name="T-shirts", slug="women-tops-tshirts", parent=tops)


def get_body(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


# --- JSON-LD on listing pages ----------------------------------------------------------------


def test_active_listing_page_describes_a_product_in_stock(client, tshirts):
    """An item for sale is a Product whose Offer is InStock, priced "12.50", with absolute
    photo URLs, its category path, brand, condition and seller."""
    seller = UserFactory(username="mila.vintage")
    seller.profile.display_name = "Mila"
    seller.profile.save(update_fields=["display_name"])
    listing = ListingFactory(
        seller=seller,
        title="Striped tee",
        description="Soft cotton.",
        category=tshirts,
        price=Decimal("12.50"),
        currency="GBP",
        condition=Listing.Condition.LIKE_NEW,
        brand="Petit Bateau",
    )
    photos = [ListingImageFactory(listing=listing, position=i) for i in range(2)]

    product = ld_blocks(get_body(client, listing.get_absolute_url()))["Product"]

    url = f"{ORIGIN}{listing.get_absolute_url()}"
    assert product["@context"] == "https://schema.org"
    assert product["name"] == "Striped tee"
    assert product["description"] == "Soft cotton."
    assert product["sku"] == product["productID"] == str(listing.pk)
    assert product["url"] == url
    assert product["brand"] == {"@type": "Brand", "name": "Petit Bateau"}
    assert product["category"] == "Women > Tops > T-shirts"
    assert product["image"] == [f"{ORIGIN}{photo.image.url}" for photo in photos]
    offer = product["offers"]
    assert offer["@type"] == "Offer"
    assert offer["price"] == "12.50"
    assert offer["priceCurrency"] == "GBP"
    assert offer["availability"] == "https://schema.org/InStock"
    assert offer["itemCondition"] == "https://schema.org/UsedCondition"
    assert offer["url"] == url
    assert offer["seller"] == {
        "@type": "Person",
        "name": "Mila",
        "url": f"{ORIGIN}/members/mila.vintage/",
    }
    assert offer["shippingDetails"]["shippingRate"]["value"] == "3.90"


def test_sold_listing_page_says_sold_out_and_is_not_indexed(client):
    """A sold item's Offer is SoldOut and its page carries noindex."""
    listing = ListingFactory(sold=True)
    body = get_body(client, listing.get_absolute_url())
    assert ld_blocks(body)["Product"]["offers"]["availability"] == "https://schema.org/SoldOut"
    assert robots_meta(body) == ["noindex"]


def test_reserved_listing_page_is_out_of_stock_but_stays_indexed(client):
    """A reserved item (every unit in a checkout) is OutOfStock and keeps its page indexed."""
    listing = ListingFactory(status=Listing.Status.RESERVED, quantity=0)
    body = get_body(client, listing.get_absolute_url())
    offer = ld_blocks(body)["Product"]["offers"]
    assert offer["availability"] == "https://schema.org/OutOfStock"
    assert robots_meta(body) == []


@pytest.mark.parametrize(
    ("condition", "schema"),
    [
        (Listing.Condition.NEW_WITH_TAGS, "NewCondition"),
        (Listing.Condition.LIKE_NEW, "UsedCondition"),
        (Listing.Condition.GOOD, "UsedCondition"),
        (Listing.Condition.FAIR, "UsedCondition"),
    ],
)
def test_item_condition_maps_to_schema_org(client, condition, schema):
    """Only "new with tags" is NewCondition; the other conditions are UsedCondition."""
    listing = ListingFactory(condition=condition)
    product = ld_blocks(get_body(client, listing.get_absolute_url()))["Product"]
    assert product["offers"]["itemCondition"] == f"https://schema.org/{schema}"


def test_a_hostile_title_cannot_break_out_of_the_json_ld_script(client):
    """A title with </script> stays inside the JSON-LD string: escaped, and parsed back intact."""
    hostile = '</script><script>alert("x")</script><!--'
    listing = ListingFactory(title=hostile, description="a & b <b>", brand="</SCRIPT>")
    body = get_body(client, listing.get_absolute_url())
    assert '<script>alert("x")' not in body
    assert "</SCRIPT>" not in body
    product = ld_blocks(body)["Product"]
    assert product["name"] == hostile
    assert product["description"] == "a & b <b>"
    assert product["brand"]["name"] == "</SCRIPT>"


def test_listing_page_breadcrumbs_follow_the_category_path(client, tshirts):
    """Listing BreadcrumbList: Home › Women › Tops › T-shirts › the item, absolute URLs."""
    listing = ListingFactory(title="Striped tee", category=tshirts)
    crumbs = ld_blocks(get_body(client, listing.get_absolute_url()))["BreadcrumbList"]
    items = crumbs["itemListElement"]
    assert [item["position"] for item in items] == [1, 2, 3, 4, 5]
    assert [item["name"] for item in items] == ["Home", "Women", "Tops", "T-shirts", "Striped tee"]
    assert [item["item"] for item in items] == [
        f"{ORIGIN}/",
        f"{ORIGIN}/c/women/",
        f"{ORIGIN}/c/women-tops/",
        f"{ORIGIN}/c/women-tops-tshirts/",
        f"{ORIGIN}{listing.get_absolute_url()}",
    ]


def test_category_page_breadcrumbs_go_from_home_to_the_category(client, tshirts):
    """Category BreadcrumbList: Home › Women › Tops (the page itself last)."""
    body = get_body(client, reverse("marketplace:category", args=["women-tops"]))
    items = ld_blocks(body)["BreadcrumbList"]["itemListElement"]
    assert [(item["name"], item["item"]) for item in items] == [
        ("Home", f"{ORIGIN}/"),
        ("Women", f"{ORIGIN}/c/women/"),
        ("Tops", f"{ORIGIN}/c/women-tops/"),
    ]


def test_browse_page_has_no_breadcrumbs(client):
    """/browse/ is the top of the catalogue: no BreadcrumbList."""
    assert "BreadcrumbList" not in ld_blocks(get_body(client, reverse("marketplace:browse")))


# --- Canonical URLs and robots ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "robots"),
    [
        ("", []),
        ("?utm_source=newsletter&utm_medium=email&fbclid=abc", []),
        ("?q=jacket&sort=price_asc", ["noindex, follow"]),
        ("?q=jacket&size=M", ["noindex, follow"]),
        ("?sort=price_asc", ["noindex, follow"]),
        ("?page=2", ["noindex, follow"]),
        ("?cursor=abc", ["noindex, follow"]),
        ("?size=M&brand=zara&condition=good&min_price=5&max_price=50", ["noindex, follow"]),
        ("?q=&size=", []),
    ],
)
@pytest.mark.parametrize("page", ["/browse/", "/c/women/"])
def test_filtered_sorted_or_paged_catalogue_pages_are_noindex_with_a_clean_canonical(
    client, tshirts, page, query, robots
):
    """Browse and category pages are indexable alone (tracking parameters ignored); any filter,
    sort or page makes them "noindex, follow". Canonical is always the unfiltered URL."""
    body = get_body(client, f"{page}{query}")
    assert robots_meta(body) == robots
    assert canonical_links(body) == [f"{ORIGIN}{page}"]


@pytest.mark.parametrize(
    ("query", "canonical"),
    [
        ("?q=jacket", "?q=jacket"),
        ("?q=++Levi%27s+++Jeans&utm_source=ad", "?q=levi%27s+jeans"),
    ],
)
def test_a_search_alone_is_an_indexable_landing_page_canonical_to_its_normalised_query(
    client, tshirts, query, canonical
):
    """/browse/?q=… with nothing else may be indexed, one canonical per normalised query."""
    body = get_body(client, f"/browse/{query}")
    assert robots_meta(body) == []
    assert canonical_links(body) == [f"{ORIGIN}/browse/{canonical}"]


@pytest.mark.parametrize("query", ["?q=jacket&cursor=abc", f"?q={'x' * 61}"])
def test_a_later_page_or_an_overlong_search_is_not_a_landing_page(client, tshirts, query):
    """Only the first page of a short query is a landing page; a category with q is a filter."""
    for page in ("/browse/", "/c/women/"):
        body = get_body(client, f"{page}{query}")
        assert robots_meta(body) == ["noindex, follow"]
        assert canonical_links(body) == [f"{ORIGIN}{page}"]
    body = get_body(client, "/c/women/?q=jacket")
    assert robots_meta(body) == ["noindex, follow"]


def test_listing_canonical_is_the_listing_url_without_parameters(client):
    """A shared link with tracking parameters is canonical to the clean listing URL, once."""
    listing = ListingFactory()
    body = get_body(client, f"{listing.get_absolute_url()}?utm_source=share")
    assert canonical_links(body) == [f"{ORIGIN}{listing.get_absolute_url()}"]
    assert robots_meta(body) == []


def test_seller_page_canonical_uses_the_handle_as_spelled(client):
    """/members/Shop.One/ finds shop.one (case-insensitive) and is canonical to its real URL."""
    UserFactory(username="shop.one")
    body = get_body(client, "/members/Shop.One/")
    assert canonical_links(body) == [f"{ORIGIN}/members/shop.one/"]
    assert robots_meta(body) == []


@pytest.mark.parametrize(
    "url_name",
    ["orders:cart", "orders:order_list", "accounts:dashboard", "marketplace:favourites"],
)
def test_personal_pages_are_noindex(client, buyer, url_name):
    """Cart, orders, account and saved items are never indexed."""
    client.force_login(buyer)
    assert robots_meta(get_body(client, reverse(url_name))) == ["noindex"]


def test_owner_view_of_a_draft_is_noindex(client):
    """The seller looking at their own draft gets a noindex page."""
    listing = ListingFactory(draft=True)
    client.force_login(listing.seller)
    assert robots_meta(get_body(client, listing.get_absolute_url())) == ["noindex"]


def test_indexable_rule_and_query_agree():
    """listing_is_indexable and Listing.objects.indexable() select the same listings."""
    banned = UserFactory(is_banned=True)
    listings = [
        ListingFactory(),
        ListingFactory(status=Listing.Status.RESERVED, quantity=0),
        ListingFactory(sold=True),
        ListingFactory(draft=True),
        ListingFactory(status=Listing.Status.REMOVED),
        ListingFactory(is_hidden=True),
        ListingFactory(deleted_at=timezone.now()),
        ListingFactory(seller=banned),
    ]
    by_rule = {listing.pk for listing in listings if listing_is_indexable(listing)}
    assert by_rule == set(Listing.objects.indexable().values_list("pk", flat=True))
    assert by_rule == {listings[0].pk, listings[1].pk}


# --- Open Graph and Twitter cards ------------------------------------------------------------


def meta_property(body: str, name: str) -> list[str]:
    return re.findall(rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)">', body)


def test_listing_page_has_product_open_graph_and_twitter_card(client):
    """og:type product, absolute og:image with its size, price and a large Twitter card."""
    listing = ListingFactory(title="Suede boots", price=Decimal("25.00"))
    cover = ListingImageFactory(listing=listing, position=0)
    body = get_body(client, listing.get_absolute_url())
    assert meta_property(body, "og:type") == ["product"]
    assert meta_property(body, "og:title") == ["Suede boots"]
    assert meta_property(body, "og:url") == [f"{ORIGIN}{listing.get_absolute_url()}"]
    assert meta_property(body, "og:image") == [f"{ORIGIN}{cover.image.url}"]
    assert meta_property(body, "og:image:width") == [str(cover.width)]
    assert meta_property(body, "og:image:height") == [str(cover.height)]
    assert meta_property(body, "product:price:amount") == ["25.00"]
    assert meta_property(body, "product:price:currency") == ["EUR"]
    assert meta_property(body, "twitter:card") == ["summary_large_image"]
    assert meta_property(body, "og:site_name") == ["Threadly"]


def test_seller_page_is_an_open_graph_profile(client):
    """A shop shares as og:type profile with the member's handle."""
    UserFactory(username="oskar.threads")
    body = get_body(client, "/members/oskar.threads/")
    assert meta_property(body, "og:type") == ["profile"]
    assert meta_property(body, "profile:username") == ["oskar.threads"]
    assert meta_property(body, "og:url") == [f"{ORIGIN}/members/oskar.threads/"]


def test_other_pages_share_the_default_branded_image(client):
    """Pages without their own image use the 1200×630 default, as an absolute URL."""
    body = get_body(client, reverse("marketplace:home"))
    assert meta_property(body, "og:type") == ["website"]
    assert meta_property(body, "og:site_name") == ["Threadly"]
    assert meta_property(body, "og:image") == [f"{ORIGIN}/static/img/og-default.png"]
    assert meta_property(body, "og:image:width") == ["1200"]
    assert meta_property(body, "og:image:height") == ["630"]
    assert meta_property(body, "twitter:card") == ["summary_large_image"]
