"""Saved searches: a shopper keeps the filters of a browse search and gets one email a day
with the listings new since the last one.

The digest is claimed per member before anything is sent: their active searches' markers
(`last_notified_at`) move to the run's start in one short transaction, so a second run the
same day (or a concurrent one) finds nobody due. A failed send puts the markers back.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import IntegerField, Max, Prefetch, Q, Value
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import EmailKind, User
from accounts.services import email_allowed, member_email_send
from marketplace import saved_query, selectors
from marketplace.exceptions import SavedSearchError, SavedSearchNotFound
from marketplace.forms import BrowseForm
from marketplace.models import Category, Listing, ListingImage, SavedSearch
from marketplace.search.base import ListingFilters

logger = logging.getLogger(__name__)

SAVED_SEARCHES_MAX = 30
DIGEST_INTERVAL = timedelta(hours=24)
DIGEST_ITEMS_PER_SEARCH = 10


# --- Saving and deleting ----------------------------------------------------------------------
def saved_search_params(params: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The valid, normalised filters of `params` (browse parameters, e.g. request.POST), and
    {slug: name} for the category among them.

    Validated with BrowseForm: unknown parameters, the sort and invalid values are dropped.
    """
    data = {name: str(params.get(name) or "") for name in saved_query.FILTER_PARAMS}
    form = BrowseForm(data)
    form.is_valid()  # invalid fields are left out of filters()
    filters = form.filters()
    names = {filters.category.slug: filters.category.name} if filters.category else {}
    return saved_query.params_from_filters(filters), names


@transaction.atomic
def saved_search_create(
    *, user: User, params: Mapping[str, str], name: str = ""
) -> tuple[SavedSearch, bool]:
    """Save the search `params` for `user` as `name` (default: a summary of its filters).

    Returns (saved search, created); saving the same filters again returns the existing one
    with created=False. Locks the member's row so two requests can't pass the cap together.
    Raises SavedSearchError when no valid filter is left or the member has SAVED_SEARCHES_MAX.
    """
    clean, category_names = saved_search_params(params)
    if not clean:
        raise SavedSearchError(_("Search for something or choose a filter, then save the search."))
    query = saved_query.query_string(clean)
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
    existing = SavedSearch.objects.filter(user=user, query=query).first()
    if existing is not None:
        return existing, False
    if SavedSearch.objects.filter(user=user).count() >= SAVED_SEARCHES_MAX:
        raise SavedSearchError(
            _("You can keep up to %(max)d saved searches. Delete one to save this search.")
            % {"max": SAVED_SEARCHES_MAX}
        )
    name = " ".join((name or "").split())[: saved_query.NAME_MAX_LENGTH]
    try:
        with transaction.atomic():
            search = SavedSearch.objects.create(
                user=user,
                name=name or saved_query.default_name(clean, category_names=category_names),
                query=query,
            )
    except IntegrityError:  # a double click raced us where rows can't be locked (SQLite)
        return SavedSearch.objects.get(user=user, query=query), False
    return search, True


def saved_search_delete(*, user: User, saved_search_id: int) -> SavedSearch:
    """Delete one of `user`'s saved searches and return it (for the confirmation message).

    Raises SavedSearchNotFound (a 404) when it doesn't exist or is another member's.
    """
    search = SavedSearch.objects.filter(pk=saved_search_id, user_id=user.pk).first()
    if search is None:
        raise SavedSearchNotFound("No such saved search.")
    search.delete()
    return search


# --- The daily digest -------------------------------------------------------------------------
@dataclass(frozen=True)
class DigestItem:
    title: str
    price: Decimal
    currency: str
    url: str
    thumbnail_url: str


@dataclass(frozen=True)
class DigestSection:
    """One saved search in the email: its newest matches and how many more there are."""

    name: str
    summary: str
    url: str
    items: tuple[DigestItem, ...]
    more: int

    @property
    def total(self) -> int:
        return len(self.items) + self.more


@dataclass(frozen=True)
class DigestRun:
    due: int
    sent: int
    failed: int


def _absolute(url: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{url}" if url.startswith("/") else url


def saved_search_digest_due_user_ids(*, now: datetime) -> list[int]:
    """Members with an active saved search and no digest claimed in the last DIGEST_INTERVAL."""
    return list(
        SavedSearch.objects.filter(is_active=True, user__is_active=True)
        .values("user_id")
        .annotate(last=Max("last_notified_at"))
        .filter(Q(last__isnull=True) | Q(last__lte=now - DIGEST_INTERVAL))
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )


# What a run claimed: {saved search id: (search, its marker before the claim)}.
Claimed = dict[int, tuple[SavedSearch, datetime | None]]


def _digest_claim(*, user_id: int, now: datetime) -> Claimed:
    """Move the markers of the member's active searches to `now` if their digest is due and
    return what was claimed ({} when not due).

    Locks those saved-search rows for the claim only (nothing is sent while they are locked).
    """
    with transaction.atomic():
        searches = list(
            SavedSearch.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(user_id=user_id, is_active=True)
            .order_by("created_at", "id")
        )
        due_before = now - DIGEST_INTERVAL
        if not searches or any(
            s.last_notified_at is not None and s.last_notified_at > due_before for s in searches
        ):
            return {}
        claimed = {s.pk: (s, s.last_notified_at) for s in searches}
        SavedSearch.objects.filter(pk__in=claimed).update(last_notified_at=now)
    return claimed


def _digest_unclaim(claimed: Claimed) -> None:
    """Put the markers back after a failed send, so the next run tries again."""
    searches = []
    for search, previous in claimed.values():
        search.last_notified_at = previous
        searches.append(search)
    SavedSearch.objects.bulk_update(searches, ["last_notified_at"])


def _search_filters(search: SavedSearch, categories: dict[str, Category]) -> ListingFilters | None:
    """The search's stored params back as ListingFilters (through BrowseForm, as the browse
    page reads them); None when its category no longer exists (it would match everything)."""
    params = saved_query.parse_query(search.query)
    category = None
    if params.get("category"):
        category = categories.get(params.pop("category"))
        if category is None:
            return None
    form = BrowseForm(params, category=category)
    form.is_valid()
    return form.filters()


def _digest_sections(claimed: Claimed) -> tuple[list[DigestSection], int]:
    """The email's sections (searches with new matches, in the order they were saved) and the
    number of distinct new listings. A fixed number of queries whatever the number of searches:
    the categories, one UNION of every search's matches (ids only), then the listings shown."""
    slugs = {saved_query.parse_query(s.query).get("category") for s, _previous in claimed.values()}
    categories = {c.slug: c for c in Category.objects.filter(slug__in=slugs - {"", None})}
    parts = []
    for search, previous in claimed.values():
        filters = _search_filters(search, categories)
        if filters is None:
            continue
        # New: published after the previous digest of this search, or after it was saved.
        since = previous or search.created_at
        parts.append(
            selectors.listings_search(filters=filters)
            .filter(published_at__gt=since)
            .order_by()
            .annotate(saved_search_id=Value(search.pk, output_field=IntegerField()))
            .values_list("pk", "saved_search_id", "published_at")
        )
    if not parts:
        return [], 0
    matches: dict[int, list[tuple[datetime, int]]] = {}
    for listing_id, search_id, published_at in parts[0].union(*parts[1:], all=True):
        matches.setdefault(search_id, []).append((published_at, listing_id))
    shown: dict[int, list[int]] = {}
    for search_id, rows in matches.items():
        rows.sort(reverse=True)  # newest first; the higher id first on a tie
        shown[search_id] = [listing_id for _published, listing_id in rows]
    wanted = {pk for ids in shown.values() for pk in ids[:DIGEST_ITEMS_PER_SEARCH]}
    listings = (
        Listing.objects.for_sale()
        .filter(pk__in=wanted)
        .prefetch_related(Prefetch("images", ListingImage.objects.order_by("position", "id")))
        .in_bulk()
    )
    category_names = {c["slug"]: c["name"] for c in selectors.category_tree()}
    sections = []
    for search, _previous in claimed.values():
        ids = shown.get(search.pk)
        if not ids:
            continue
        items = []
        for listing_id in ids[:DIGEST_ITEMS_PER_SEARCH]:
            listing = listings.get(listing_id)
            if listing is None:  # sold or withdrawn since the first query: leave it out
                continue
            images = list(listing.images.all())
            items.append(
                DigestItem(
                    title=listing.title,
                    price=listing.price,
                    currency=listing.currency,
                    url=_absolute(listing.get_absolute_url()),
                    thumbnail_url=_absolute(images[0].thumb_url) if images else "",
                )
            )
        params = saved_query.parse_query(search.query)
        sections.append(
            DigestSection(
                name=search.name,
                summary=saved_query.summary(params, category_names=category_names),
                url=_absolute(search.get_absolute_url()),
                items=tuple(items),
                more=max(0, len(ids) - DIGEST_ITEMS_PER_SEARCH),
            )
        )
    distinct = len({pk for ids in shown.values() for pk in ids})
    return sections, distinct


def _digest_subject(sections: list[DigestSection], count: int) -> str:
    if len(sections) == 1:
        return ngettext(
            "%(count)d new item for “%(name)s”",
            "%(count)d new items for “%(name)s”",
            count,
        ) % {"count": count, "name": sections[0].name}
    return ngettext(
        "%(count)d new item for your saved searches",
        "%(count)d new items for your saved searches",
        count,
    ) % {"count": count}


def saved_search_digest_send(*, user_id: int, now: datetime | None = None) -> bool:
    """Email member `user_id` the listings published since their last digest that match their
    active saved searches, if their digest is due (at most one per DIGEST_INTERVAL).

    Claims the digest first (see the module docstring); no email when nothing is new or the
    member turned saved-search emails off. A failed send restores the claim and re-raises.
    Returns whether an email was sent.
    """
    now = now or timezone.now()
    claimed = _digest_claim(user_id=user_id, now=now)
    if not claimed:
        return False
    user = next(iter(claimed.values()))[0].user
    try:
        if not email_allowed(user=user, kind=EmailKind.SAVED_SEARCHES):
            return False
        sections, count = _digest_sections(claimed)
        if not sections:
            return False
        return member_email_send(
            user=user,
            kind=EmailKind.SAVED_SEARCHES,
            subject=_digest_subject(sections, count),
            template="saved_search_digest",
            context={"sections": sections, "count": count},
        )
    except Exception:
        _digest_unclaim(claimed)
        raise


def saved_searches_digest_run(*, now: datetime | None = None) -> DigestRun:
    """Send every due member their digest. One member's failure is logged and the others
    still get theirs (that member is tried again on the next run)."""
    now = now or timezone.now()
    due = saved_search_digest_due_user_ids(now=now)
    sent = failed = 0
    for user_id in due:
        try:
            sent += saved_search_digest_send(user_id=user_id, now=now)
        except Exception:
            failed += 1
            logger.exception("saved-search digest for member %s failed", user_id)
    return DigestRun(due=len(due), sent=sent, failed=failed)
