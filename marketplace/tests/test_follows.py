"""Follows: the rules, the button (htmx and without JavaScript), counts and lists, and the
following feed (only followed sellers' items for sale, newest first, keyset pages)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from marketplace import selectors_follows
from marketplace.exceptions import FollowError
from marketplace.models import Follow, Listing
from marketplace.services import follow_add, follow_remove
from marketplace.tests.factories import ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db

FEED = "/following/"


def follow_url(user) -> str:
    return reverse("marketplace:follow", kwargs={"username": user.username})


# --- Rules ------------------------------------------------------------------------------------


def _walk_feed(buyer, *, size: int) -> list[int]:
    """The ids of every feed page, following each page's cursor to the end."""
    seen, cursor = [], None
    while True:
        page = selectors_follows.feed_page(user=buyer, cursor=cursor, size=size)
        seen += [item.pk for item in page.listings]
        cursor = page.next_cursor
        if cursor is None:
            return seen


def _newest_first(listings) -> list[int]:
    """The feed's order: published_at, then id, both descending."""
    ordered = sorted(listings, key=lambda item: (item.published_at, item.pk), reverse=True)
    return [item.pk for item in ordered]


def test_follow_and_unfollow_are_idempotent(buyer, seller):
    """Following twice keeps one row; unfollowing twice is harmless."""
    first = follow_add(follower=buyer, seller_id=seller.pk)
    assert follow_add(follower=buyer, seller_id=seller.pk) == first
    assert Follow.objects.count() == 1
    follow_remove(follower=buyer, seller_id=seller.pk)
    follow_remove(follower=buyer, seller_id=seller.pk)
    assert not Follow.objects.exists()


def test_cannot_follow_yourself_or_a_banned_member(buyer, seller):
    """Yourself and banned or deactivated members are refused; the database refuses a
    self-follow too."""
    with pytest.raises(FollowError, match="yourself"):
        follow_add(follower=buyer, seller_id=buyer.pk)
    for field in ("is_banned", "is_active"):
        target = UserFactory(**{field: field == "is_banned"})
        with pytest.raises(FollowError):
            follow_add(follower=buyer, seller_id=target.pk)
    assert not Follow.objects.exists()
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=buyer, seller=buyer)
    Follow.objects.create(follower=buyer, seller=seller)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=buyer, seller=seller)


# --- The button -------------------------------------------------------------------------------
def test_follow_button_without_javascript_redirects_back_safely(client, buyer, seller):
    """A plain POST follows and comes back to `next` (never off-site); unfollow likewise."""
    client.force_login(buyer)
    shop = seller.get_absolute_url()
    response = client.post(follow_url(seller), {"follow": "1", "next": shop})
    assert response["Location"] == shop
    assert Follow.objects.filter(follower=buyer, seller=seller).exists()
    response = client.post(follow_url(seller), {"follow": "0", "next": "//evil.example/"})
    assert response["Location"] == shop
    assert not Follow.objects.exists()


def test_follow_button_htmx_swaps_button_and_count(client, buyer, seller):
    """With htmx the answer is the new button (Unfollow) and the new follower count."""
    client.force_login(buyer)
    response = client.post(
        follow_url(seller), {"follow": "1", "counts": "1"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Unfollow" in response.text
    assert 'id="follower-count" hx-swap-oob="true">1 follower<' in response.text


def test_following_yourself_through_the_button_is_refused(client, seller):
    """htmx gets a 409 with the reason; nothing is stored."""
    client.force_login(seller)
    response = client.post(follow_url(seller), {"follow": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert not Follow.objects.exists()


def test_follow_needs_login_and_post(client, seller):
    """Anonymous: to the login page; GET: 405."""
    assert client.post(follow_url(seller))["Location"].startswith(reverse("account_login"))
    client.force_login(UserFactory())
    assert client.get(follow_url(seller)).status_code == 405


def test_seller_and_listing_pages_show_the_button_but_not_to_the_owner(client, buyer, seller):
    """Others see Follow / Unfollow on the shop and the item; the seller sees neither."""
    listing = ListingFactory(seller=seller)
    client.force_login(buyer)
    assert ">Follow<" in client.get(seller.get_absolute_url()).text
    assert ">Follow<" in client.get(listing.get_absolute_url()).text
    follow_add(follower=buyer, seller_id=seller.pk)
    assert ">Unfollow<" in client.get(listing.get_absolute_url()).text
    client.force_login(seller)
    assert "follow-form" not in client.get(seller.get_absolute_url()).text
    assert "follow-form" not in client.get(listing.get_absolute_url()).text


# --- Counts and lists -------------------------------------------------------------------------
def test_seller_page_counts_followers_and_following(client, seller):
    """Counts on the shop: visible followers only (a banned follower isn't counted)."""
    fans = UserFactory.create_batch(3)
    for fan in fans:
        follow_add(follower=fan, seller_id=seller.pk)
    follow_add(follower=seller, seller_id=fans[0].pk)
    fans[2].is_banned = True
    fans[2].save(update_fields=["is_banned"])
    page = client.get(seller.get_absolute_url()).text
    assert ">2 followers<" in page
    assert ">1 following<" in page


def test_follower_and_following_lists(client, seller):
    """The lists name the right members, most recent first, and hide banned ones."""
    early, late, banned = UserFactory(), UserFactory(), UserFactory()
    for fan in (early, late, banned):
        follow_add(follower=fan, seller_id=seller.pk)
    banned.is_banned = True
    banned.save(update_fields=["is_banned"])
    page = client.get(reverse("marketplace:followers", args=[seller.username])).text
    assert page.index(f"@{late.username}") < page.index(f"@{early.username}")
    assert f"@{banned.username}" not in page
    page = client.get(reverse("marketplace:following_list", args=[early.username])).text
    assert f"@{seller.username}" in page


@pytest.mark.parametrize("which", ["followers", "following_list"])
def test_member_lists_run_constant_queries(client, which):
    """3 or 30 members on the list (signed in, with follow buttons): same query count."""
    hub = UserFactory(username="hub")
    client.force_login(UserFactory())

    def grow(count: int) -> None:
        for member in UserFactory.create_batch(count):
            if which == "followers":
                follow_add(follower=member, seller_id=hub.pk)
            else:
                follow_add(follower=hub, seller_id=member.pk)

    url = reverse(f"marketplace:{which}", args=["hub"])
    grow(3)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    grow(27)
    client.get(url)
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.text.count('class="member-row"') == 30
    assert len(many) == len(few)


# --- The feed ---------------------------------------------------------------------------------
def _listing(seller, minutes_ago: int, **kwargs) -> Listing:
    listing = ListingFactory(
        seller=seller, published_at=timezone.now() - timedelta(minutes=minutes_ago), **kwargs
    )
    ListingImageFactory(listing=listing, position=0)
    return listing


def test_feed_shows_only_followed_sellers_items_for_sale_newest_first(client, buyer):
    """Followed sellers' active items, newest first; not sold, draft, hidden or others' items."""
    followed, other = UserFactory(), UserFactory()
    follow_add(follower=buyer, seller_id=followed.pk)
    old = _listing(followed, 30, title="Old coat")
    new = _listing(followed, 5, title="New scarf")
    _listing(followed, 1, title="Sold boots", status=Listing.Status.SOLD)
    _listing(followed, 2, title="Hidden hat", is_hidden=True)
    ListingFactory(seller=followed, title="Draft dress", draft=True)
    _listing(other, 0, title="Stranger shirt")
    client.force_login(buyer)
    page = client.get(FEED).text
    assert page.index(new.title) < page.index(old.title)
    for absent in ("Sold boots", "Hidden hat", "Draft dress", "Stranger shirt"):
        assert absent not in page


def test_feed_cursor_pages_are_complete_and_do_not_overlap(buyer):
    """Walking the keyset pages gives every item exactly once, newest first, even with
    several items published at the same instant."""
    seller = UserFactory()
    follow_add(follower=buyer, seller_id=seller.pk)
    same_time = timezone.now() - timedelta(hours=1)
    listings = [ListingFactory(seller=seller, published_at=same_time) for _ in range(4)]
    listings += [_listing(seller, minutes) for minutes in range(7)]
    expected = _newest_first(listings)
    seen = _walk_feed(buyer, size=3)
    assert seen == expected


def test_feed_pages_through_links_and_ignores_bad_cursors(client, buyer, settings):
    """The "Older items" link leads to the next page; a malformed cursor is the first page."""
    settings.LISTINGS_PER_PAGE = 2
    seller = UserFactory()
    follow_add(follower=buyer, seller_id=seller.pk)
    items = [_listing(seller, minutes, title=f"Item {minutes}") for minutes in range(3)]
    client.force_login(buyer)
    first = client.get(FEED)
    assert "Item 0" in first.text
    assert "Item 2" not in first.text
    cursor = first.context["page"].next_cursor
    second = client.get(FEED, {"after": cursor}).text
    assert "Item 2" in second
    assert "Item 0" not in second
    for bad in ("x", "1.2.3", "9" * 39 + ".1", "-5.3", ""):
        assert client.get(FEED, {"after": bad}).status_code == 200
    assert len(items) == 3


def test_feed_query_count_is_constant(client, buyer, django_assert_num_queries):
    """3 or 30 items from 1 or 6 followed sellers: the same number of queries."""
    sellers = UserFactory.create_batch(6)
    follow_add(follower=buyer, seller_id=sellers[0].pk)
    for minutes in range(3):
        _listing(sellers[0], minutes)
    client.force_login(buyer)
    client.get(FEED)
    cache.clear()  # the category menu is cached, and new listings add categories
    with CaptureQueriesContext(connection) as few:
        assert client.get(FEED).status_code == 200
    for seller in sellers[1:]:
        follow_add(follower=buyer, seller_id=seller.pk)
    for n in range(27):
        _listing(sellers[n % 6], 10 + n)
    cache.clear()
    with django_assert_num_queries(len(few)):
        response = client.get(FEED)
    assert len(response.context["page"].listings) == 24


def test_empty_feed_suggests_sellers_to_follow(client, buyer):
    """Following nobody: sellers with the most items for sale, not yourself, not those you
    follow, not banned, with follow buttons."""
    busy, quiet, followed_empty, banned = (UserFactory() for _ in range(4))
    for _ in range(3):
        ListingFactory(seller=busy)
    ListingFactory(seller=quiet)
    ListingFactory(seller=buyer)
    ListingFactory(seller=banned)
    banned.is_banned = True
    banned.save(update_fields=["is_banned"])
    client.force_login(buyer)
    response = client.get(FEED)
    suggested = [user.pk for user in response.context["suggestions"]]
    assert suggested == [busy.pk, quiet.pk]
    assert ">Follow<" in response.text
    assert followed_empty.pk not in suggested
    follow_add(follower=buyer, seller_id=busy.pk)
    later = selectors_follows.follow_suggestions(user=buyer)
    assert [user.pk for user in later] == [quiet.pk]


def test_feed_needs_login(client):
    """Anonymous visitors are sent to log in."""
    assert client.get(FEED)["Location"].startswith(reverse("account_login"))


def test_feed_takes_each_sellers_newest_and_merges_them_in_order(buyer):
    """Several followed sellers with interleaved dates, a banned one and items beyond the
    page: the pages are the global newest-first order, every item once."""
    sellers = UserFactory.create_batch(3)
    banned = UserFactory()
    for seller in [*sellers, banned]:
        follow_add(follower=buyer, seller_id=seller.pk)
    listings = [_listing(sellers[n % 3], n * (n % 3 + 1)) for n in range(14)]
    banned_item = _listing(banned, 0)
    banned.is_banned = True
    banned.save(update_fields=["is_banned"])
    expected = _newest_first(listings)
    seen = _walk_feed(buyer, size=4)
    assert seen == expected
    assert banned_item.pk not in seen


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_feed_reads_a_page_per_followed_seller_from_the_shop_index(buyer):
    """The feed's query reads each followed seller's newest items from listing_seller_shop
    and stops after a page (a Limit over the index scan), never all their items: EXPLAIN on
    a few thousand ANALYZEd rows, the planner free to choose."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE marketplace_listing CASCADE")
    sellers = UserFactory.create_batch(40)
    for seller in sellers[:3]:
        follow_add(follower=buyer, seller_id=seller.pk)
    category = ListingFactory().category
    now = timezone.now()
    Listing.objects.bulk_create(
        [
            Listing(
                seller=sellers[0] if n % 3 else sellers[n % 40],
                title=f"Item {n}",
                slug="item",
                category=category,
                price=10,
                condition=Listing.Condition.GOOD,
                status=Listing.Status.ACTIVE,
                published_at=now - timedelta(minutes=n),
            )
            for n in range(4000)
        ],
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE marketplace_listing")
        cursor.execute("ANALYZE marketplace_follow")
    page_query = (
        Listing.objects.for_sale()
        .filter(pk__in=selectors_follows._feed_candidates(user=buyer, after=None, size=25))
        .order_by("-published_at", "-id")[:25]
    )
    plan = page_query.explain(format="json")
    assert '"Index Name": "listing_seller_shop"' in plan
    assert [x.pk for x in page_query] == [
        x.pk for x in selectors_follows.feed_page(user=buyer, size=25).listings
    ]
