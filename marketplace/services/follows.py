"""Members following sellers, and the daily "new followers" digest to sellers."""

import logging
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import EmailKind, User
from accounts.services import email_allowed, member_email_send
from core import analytics
from marketplace.exceptions import FollowError
from marketplace.models import Follow, FollowerDigest

logger = logging.getLogger(__name__)

DIGEST_NAMES_MAX = 10


def follow_add(*, follower: User, seller_id: int) -> Follow:
    """`follower` follows the seller; following twice is harmless (returns the same row).

    Raises FollowError for yourself or a banned or deactivated member (the database's
    follow_not_self check backs the first).
    """
    if seller_id == follower.pk:
        raise FollowError(_("You can't follow yourself."))
    if follower.is_banned or not follower.is_active:
        raise FollowError(_("Your account can't follow members."))
    seller = User.objects.filter(pk=seller_id, is_active=True, is_banned=False).first()
    if seller is None:
        raise FollowError(_("This member can't be followed."))
    try:
        with transaction.atomic():
            follow, created = Follow.objects.get_or_create(follower=follower, seller=seller)
    except IntegrityError:  # a double click raced us
        return Follow.objects.get(follower=follower, seller=seller)
    if created:
        analytics.capture_on_commit(follower, "seller_followed", seller_id=seller.pk)
    return follow


def follow_remove(*, follower: User, seller_id: int) -> None:
    """Stop following; unfollowing someone you don't follow is harmless."""
    Follow.objects.filter(follower=follower, seller_id=seller_id).delete()


# --- The "new followers" digest ---------------------------------------------------------------
def followers_digest_send(*, now: datetime | None = None) -> int:
    """Email each seller the members who followed them since their last digest: at most one
    email per seller per day (FollowerDigest), kind FOLLOWERS. Returns how many were sent.

    Safe to run twice, or every hour: follows are marked `digested_at` in the same
    transaction that records the day's digest, so each follow is announced at most once;
    a seller who already got today's digest gets tomorrow's. Follows of sellers who turned
    these emails off are marked too (no backlog if they turn them on again).
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    seller_ids = (
        Follow.objects.filter(digested_at__isnull=True, created_at__lte=now)
        .exclude(seller__follower_digests__sent_on=today)
        .values_list("seller_id", flat=True)
        .distinct()
        .order_by("seller_id")
    )
    return sum(_digest_one(seller_id=pk, today=today, now=now) for pk in list(seller_ids))


def _digest_one(*, seller_id: int, today: date, now: datetime) -> bool:
    """The digest of one seller, in one transaction (locks their undigested follows)."""
    with transaction.atomic():
        if FollowerDigest.objects.filter(seller_id=seller_id, sent_on=today).exists():
            return False
        follows = list(
            Follow.objects.select_for_update()
            .filter(seller_id=seller_id, digested_at__isnull=True, created_at__lte=now)
            .order_by("created_at", "id")
        )
        if not follows:
            return False
        Follow.objects.filter(pk__in=[f.pk for f in follows]).update(digested_at=now)
        seller = User.objects.get(pk=seller_id)
        if not email_allowed(user=seller, kind=EmailKind.FOLLOWERS):
            return False
        follower_ids = [f.follower_id for f in follows]
        if not User.objects.filter(pk__in=follower_ids, is_active=True, is_banned=False).exists():
            return False
        try:
            with transaction.atomic():
                FollowerDigest.objects.create(
                    seller=seller, sent_on=today, follower_count=len(follower_ids)
                )
        except IntegrityError:  # a concurrent run sent today's digest
            transaction.set_rollback(True)
            return False
        transaction.on_commit(
            lambda: _digest_email_send(seller_id=seller_id, follower_ids=follower_ids)
        )
    return True


def _digest_email_send(*, seller_id: int, follower_ids: list[int]) -> None:
    try:
        seller = User.objects.get(pk=seller_id)
        followers = list(
            User.objects.filter(pk__in=follower_ids, is_active=True, is_banned=False)
            .select_related("profile")
            .order_by("username")
        )
        total = len(followers)
        if total == 1:
            subject = f"{followers[0].username} started following you"
        else:
            subject = f"{total} people started following you"
        member_email_send(
            user=seller,
            kind=EmailKind.FOLLOWERS,
            subject=subject,
            template="followers_digest",
            context={
                "followers": followers[:DIGEST_NAMES_MAX],
                "more": max(0, total - DIGEST_NAMES_MAX),
                "total": total,
                "followers_path": reverse(
                    "marketplace:followers", kwargs={"username": seller.username}
                ),
            },
        )
    except Exception:
        logger.exception("followers digest for seller %s failed", seller_id)
