"""A shop's pages are keyset pages (core.keyset): every item once, in the shop's order, by
signed cursor links, and the query reads the listing_seller_shop index however deep."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from core import keyset
from marketplace import selectors
from marketplace.models import Listing
from marketplace.tests.factories import CategoryFactory, ListingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    """A seller with 3 items for sale, 2 sold and 1 reserved (newest first within each),
    one sold item with no publication date, plus a draft and another seller's item."""
    seller = UserFactory(username="shop.keys", is_seller=True)
    now = timezone.now()
    made = {}
    for name, status, minutes in [
        ("a1", Listing.Status.ACTIVE, 1),
        ("a2", Listing.Status.ACTIVE, 2),
        ("a3", Listing.Status.ACTIVE, 2),  # the same time as a2: the id breaks the tie
        ("r1", Listing.Status.RESERVED, 3),
        ("s1", Listing.Status.SOLD, 4),
        ("s2", Listing.Status.SOLD, 5),
    ]:
        made[name] = ListingFactory(
            seller=seller, title=name, status=status, published_at=now - timedelta(minutes=minutes)
        )
    made["s0"] = ListingFactory(seller=seller, title="s0", sold=True, published_at=None)
    ListingFactory(seller=seller, draft=True)
    ListingFactory(title="elsewhere")
    # items for sale first, then reserved, then sold; newest first, NULL dates first (as
    # PostgreSQL sorts "published_at DESC"), the higher id first on a tie.
    expected = ["a1", "a3", "a2", "r1", "s0", "s1", "s2"]
    return seller, [made[name].pk for name in expected]


def walk(client, url: str) -> tuple[list[list[int]], list[dict]]:
    """Every page from `url` by its Next links: (ids per page, the pages' links)."""
    pages, links = [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append([listing.pk for listing in response.context["page"].object_list])
        links.append(response.context["pages"])
        nxt = response.context["pages"]["next"]
        url = f"{url.split('?')[0]}{nxt}" if nxt else ""
    return pages, links


def test_next_links_show_every_item_of_the_shop_once_in_order(client, settings, shop):
    """Next walks the shop in its order (for sale first, newest first), every visible item
    exactly once, without ?page= numbers or a count."""
    settings.LISTINGS_PER_PAGE = 2
    _, expected = shop
    pages, links = walk(client, reverse("marketplace:seller", args=["shop.keys"]))
    assert pages == [expected[0:2], expected[2:4], expected[4:6], expected[6:7]]
    assert links[0]["previous"] == ""
    assert links[-1]["next"] == ""


def test_previous_links_walk_back_to_the_first_page(client, settings, shop):
    """Previous from the last page gives back each earlier page, and the first has none."""
    settings.LISTINGS_PER_PAGE = 2
    _, expected = shop
    base = reverse("marketplace:seller", args=["shop.keys"])
    _, links = walk(client, base)
    url = f"{base}{links[-1]['previous']}"
    seen = []
    while True:
        response = client.get(url)
        seen.append([listing.pk for listing in response.context["page"].object_list])
        previous = response.context["pages"]["previous"]
        if not previous:
            break
        url = f"{base}{previous}"
    assert seen == [expected[4:6], expected[2:4], expected[0:2]]
    body = response.content.decode()
    assert 'rel="next"' in body
    assert 'rel="prev"' not in body


def test_a_tampered_or_foreign_cursor_shows_the_first_page(client, settings, shop):
    """A cursor that isn't the shop's own, or was edited, is the first page: never an error."""
    settings.LISTINGS_PER_PAGE = 2
    _, expected = shop
    url = reverse("marketplace:seller", args=["shop.keys"])
    first = client.get(url).context["pages"]["next"]
    foreign = keyset.encode(["-id"], Listing(pk=1), salt=selectors.SELLER_SHOP_CURSOR_SALT)
    for cursor in [first[:-3] + "abc", "x" * 900, "", "%00", foreign]:
        response = client.get(url, {"cursor": cursor})
        assert response.status_code == 200
        assert [x.pk for x in response.context["page"].object_list] == expected[0:2]


def test_a_cursor_whose_items_are_gone_shows_the_first_page(client, settings, shop):
    """If every item after the cursor was deleted meanwhile, the shop shows its first page
    instead of an empty one."""
    settings.LISTINGS_PER_PAGE = 6
    _, expected = shop
    url = reverse("marketplace:seller", args=["shop.keys"])
    nxt = client.get(url).context["pages"]["next"]
    Listing.objects.filter(pk=expected[6]).update(deleted_at=timezone.now())
    response = client.get(f"{url}{nxt}")
    assert [x.pk for x in response.context["page"].object_list] == expected[0:6]


def test_the_page_keeps_other_parameters_in_its_links(rf, shop):
    """The cursor links keep the page's other query parameters and swap only the cursor."""
    seller, _ = shop
    page = selectors.seller_listings_page(seller=seller, cursor="", per_page=2)
    request = rf.get("/members/shop.keys/", {"utm_source": "mail", "cursor": "old"})
    links = page.links(request)
    assert links["next"].startswith("?utm_source=mail&cursor=")
    assert "old" not in links["next"]
    assert links["previous"] == ""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_a_deep_shop_page_reads_the_seller_shop_index(django_assert_max_num_queries):
    """A page deep in a big shop is one range of listing_seller_shop (no sort, no OFFSET):
    EXPLAIN on a few thousand ANALYZEd rows, the planner free to choose."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE marketplace_listing CASCADE")
    sellers = [UserFactory(is_seller=True) for _ in range(40)]
    category = CategoryFactory()
    now = timezone.now()
    rows = [
        Listing(
            seller=sellers[n % 40] if n % 2 else sellers[0],
            title=f"Item {n}",
            slug="item",
            category=category,
            price=Decimal(5 + n % 100),
            condition=Listing.Condition.GOOD,
            status=Listing.Status.SOLD if n % 7 == 0 else Listing.Status.ACTIVE,
            published_at=now - timedelta(minutes=n),
        )
        for n in range(4000)
    ]
    Listing.objects.bulk_create(rows, batch_size=1000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplace_listing")
        cursor.execute("ANALYZE accounts_user")
    big = sellers[0]
    middle = Listing.objects.filter(seller=big, status=Listing.Status.ACTIVE).order_by(
        "-published_at"
    )[1000]
    cursor = keyset.encode(
        selectors.SELLER_SHOP_KEYS, middle, salt=selectors.SELLER_SHOP_CURSOR_SALT
    )
    position = keyset.decode(
        cursor, Listing, selectors.SELLER_SHOP_KEYS, salt=selectors.SELLER_SHOP_CURSOR_SALT
    )
    assert position is not None
    query = (
        Listing.objects.visible()
        .filter(seller=big)
        .filter(keyset.after(Listing, selectors.SELLER_SHOP_KEYS, position[0]))
        .order_by(*keyset.ordering(selectors.SELLER_SHOP_KEYS))[:25]
    )
    plan = json.loads(query.explain(format="json"))[0]["Plan"]
    text = json.dumps(plan)
    assert "listing_seller_shop" in text
    assert '"Node Type": "Sort"' not in text  # read in index order, stopped after a page
    with django_assert_max_num_queries(1):
        page = list(query)
    assert len(page) == 25
    assert page[0].published_at < middle.published_at


def test_my_listings_next_and_previous_walk_every_listing_once(client, settings):
    """ "My listings" pages by cursor: latest change first, every non-deleted listing once,
    drafts and sold ones included, and Previous comes back."""
    settings.LISTINGS_PER_PAGE = 2
    seller = UserFactory(is_seller=True)
    now = timezone.now()
    made = [ListingFactory(seller=seller, title=f"item {n}") for n in range(4)]
    made.append(ListingFactory(seller=seller, draft=True))
    ListingFactory(seller=seller, deleted_at=now)
    for n, listing in enumerate(made):  # a tie on updated_at for the last two
        Listing.objects.filter(pk=listing.pk).update(updated_at=now - timedelta(minutes=min(n, 3)))
    # made[3] and made[4] changed at the same time: the higher id first.
    expected = [made[0].pk, made[1].pk, made[2].pk, made[4].pk, made[3].pk]
    client.force_login(seller)
    pages, links = walk(client, reverse("marketplace:my_listings"))
    assert [pk for page in pages for pk in page] == expected
    assert [len(page) for page in pages] == [2, 2, 1]
    back = client.get(reverse("marketplace:my_listings") + links[1]["previous"])
    assert [x.pk for x in back.context["page"].object_list] == expected[0:2]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_a_deep_my_listings_page_reads_the_seller_updated_index():
    """A page deep in a big seller's "My listings" is one range of listing_seller_updated."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE marketplace_listing CASCADE")
    sellers = [UserFactory(is_seller=True) for _ in range(40)]
    category = CategoryFactory()
    now = timezone.now()
    Listing.objects.bulk_create(
        [
            Listing(
                seller=sellers[n % 40] if n % 2 else sellers[0],
                title=f"Item {n}",
                slug="item",
                category=category,
                price=Decimal(5 + n % 100),
                condition=Listing.Condition.GOOD,
                status=Listing.Status.ACTIVE,
                published_at=now,
                deleted_at=now if n % 9 == 0 else None,
            )
            for n in range(4000)
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplace_listing")
    big = sellers[0]
    middle = selectors.my_listings(seller=big)[1000]
    values = [middle.updated_at, middle.pk]
    query = (
        Listing.objects.not_deleted()
        .filter(seller=big)
        .filter(keyset.after(Listing, selectors.MY_LISTINGS_KEYS, values))
        .order_by(*keyset.ordering(selectors.MY_LISTINGS_KEYS))[:25]
    )
    text = json.dumps(json.loads(query.explain(format="json")))
    assert "listing_seller_updated" in text
    assert '"Node Type": "Sort"' not in text
