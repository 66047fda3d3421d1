"""Read side of follows: follower counts, the member lists, the following feed (keyset pages)
and who to follow. Each returns rows ready to render with a fixed number of queries."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from accounts.models import User
from marketplace.cards import Card
from marketplace.models import Follow, Listing
from marketplace.selectors import listing_cards, members_public, seller_get

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


def _count_of(follows: QuerySet[Follow], group_by: str) -> Subquery:
    counted = follows.order_by().values(group_by).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def with_follow_stats(members: QuerySet[User], *, viewer) -> QuerySet[User]:
    """`members` annotated with follower_count and following_count (counting only members
    anyone may see, like the lists) and viewer_follows: no query of their own."""
    followers = Follow.objects.filter(
        seller=OuterRef("pk"), follower__is_active=True, follower__is_banned=False
    )
    following = Follow.objects.filter(
        follower=OuterRef("pk"), seller__is_active=True, seller__is_banned=False
    )
    members = members.annotate(
        follower_count=_count_of(followers, "seller"),
        following_count=_count_of(following, "follower"),
    )
    if viewer is not None and viewer.is_authenticated:
        viewer_follows = Exists(Follow.objects.filter(follower_id=viewer.pk, seller=OuterRef("pk")))
        return members.annotate(viewer_follows=viewer_follows)
    return members.annotate(viewer_follows=Value(False))


def seller_for_page(*, username: str, viewer) -> User:
    """The seller page's member with follow counts and whether `viewer` follows them (one
    query); Http404 for a banned, deactivated or unknown member."""
    return seller_get(username=username, members=with_follow_stats(members_public(), viewer=viewer))


def is_following(*, viewer, seller_id: int) -> bool:
    if not viewer.is_authenticated or viewer.pk == seller_id:
        return False
    return Follow.objects.filter(follower=viewer, seller_id=seller_id).exists()


def followers_of(*, member: User) -> QuerySet[User]:
    """Visible members who follow `member`, most recent first (paginate it)."""
    return (
        members_public()
        .filter(follows_made__seller=member)
        .order_by("-follows_made__created_at", "-follows_made__id")
    )


def following_of(*, member: User) -> QuerySet[User]:
    """Visible sellers `member` follows, most recently followed first (paginate it)."""
    return (
        members_public()
        .filter(follows_received__follower=member)
        .order_by("-follows_received__created_at", "-follows_received__id")
    )


def followed_ids(*, viewer, member_ids: list[int]) -> set[int]:
    """Which of `member_ids` the viewer follows (one query; none when signed out)."""
    if not viewer.is_authenticated or not member_ids:
        return set()
    return set(
        Follow.objects.filter(follower=viewer, seller_id__in=member_ids).values_list(
            "seller_id", flat=True
        )
    )


# --- The following feed ---------------------------------------------------------------------
@dataclass(frozen=True)
class FeedPage:
    listings: list[Card]
    next_cursor: str | None


def feed_cursor(listing: Listing) -> str:
    """The cursor after `listing`: "<published_at in µs since 1970>.<id>" (exact)."""
    return f"{(listing.published_at - EPOCH) // ONE_MICROSECOND}.{listing.pk}"


def feed_cursor_read(cursor: str | None) -> tuple[datetime, int] | None:
    """(published_at, id) from a cursor; None for a missing or malformed one (first page)."""
    if not cursor or len(cursor) > 40:
        return None
    micros, _, pk = cursor.partition(".")
    if not (micros.isdigit() and pk.isdigit()):
        return None
    try:
        return EPOCH + timedelta(microseconds=int(micros)), int(pk)
    except OverflowError:
        return None


def _feed_candidates(*, user: User, after: tuple[datetime, int] | None, size: int) -> RawSQL:
    """The ids of each followed seller's `size` newest listings for sale after the cursor
    (PostgreSQL). The page's rows are among them, and each seller's are one range of the
    listing_seller_shop index (seller, status, published_at DESC, id DESC): the page costs
    `size` index entries per followed seller, however many items they have, instead of
    reading and sorting all of them. (The seller's own standing and the rest of
    `for_sale()` are checked by the query that uses them.)"""
    cursor_sql, params = "", []
    if after is not None:
        cursor_sql = "AND (l.published_at < %s OR (l.published_at = %s AND l.id < %s))"
        params = [after[0], after[0], after[1]]
    sql = f"""
        SELECT newest.id FROM marketplace_follow f
        CROSS JOIN LATERAL (
            SELECT l.id FROM marketplace_listing l
            WHERE l.seller_id = f.seller_id AND l.status = %s AND l.published_at IS NOT NULL
              AND l.deleted_at IS NULL AND NOT l.is_hidden AND l.quantity > 0 {cursor_sql}
            ORDER BY l.published_at DESC, l.id DESC
            LIMIT %s
        ) newest
        WHERE f.follower_id = %s
    """  # noqa: S608 - cursor_sql is one of two constant strings; values are parameters
    return RawSQL(sql, [Listing.Status.ACTIVE.value, *params, size, user.pk])  # noqa: S611


def feed_page(*, user: User, cursor: str | None = None, size: int = 24) -> FeedPage:
    """Listings for sale from the sellers `user` follows, newest first, `size` per page,
    after `cursor` (keyset on (published_at, id): no OFFSET, stable while new items arrive).

    Three queries whatever the page: the page's keys, then its cards (selectors.listing_cards).
    """
    followed = Follow.objects.filter(follower=user).values("seller_id")
    listings = Listing.objects.for_sale().filter(
        seller_id__in=Subquery(followed), published_at__isnull=False
    )
    after = feed_cursor_read(cursor)
    if after is not None:
        published_at, pk = after
        listings = listings.filter(
            Q(published_at__lt=published_at) | Q(published_at=published_at, pk__lt=pk)
        )
    if connection.vendor == "postgresql":
        listings = listings.filter(pk__in=_feed_candidates(user=user, after=after, size=size + 1))
    ordered = listings.order_by("-published_at", "-id").only("id", "published_at")
    rows = list(ordered[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return FeedPage(
        listings=listing_cards([row.pk for row in rows]),
        next_cursor=feed_cursor(rows[-1]) if more else None,
    )


def follow_suggestions(*, user: User, limit: int = 6) -> list[User]:
    """Sellers to follow: the most items for sale, then the best rated, never `user` or a
    seller they already follow (one query)."""
    for_sale = Q(
        listings__status=Listing.Status.ACTIVE,
        listings__quantity__gt=0,
        listings__deleted_at__isnull=True,
        listings__is_hidden=False,
    )
    return list(
        members_public()
        .exclude(pk=user.pk)
        .exclude(pk__in=Follow.objects.filter(follower=user).values("seller_id"))
        .annotate(for_sale_count=Count("listings", filter=for_sale))
        .filter(for_sale_count__gt=0)
        .order_by(
            "-for_sale_count",
            F("profile__rating_average").desc(nulls_last=True),
            "username",
        )[:limit]
    )
