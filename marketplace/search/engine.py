"""What the two database backends share: one search() in a bounded number of queries.

Per search (a page of /browse/):
1. The facet sample: the matches of the query and category without the facet filters,
   newest first, at most SAMPLE_SIZE + 1 rows of (id, published_at, price, category, size,
   brand, condition). It is the start of the newest-first walk.
2. If it holds every match (a small result), everything comes from it: the exact total and
   facet counts and the page itself (keyset, or for relevance ranked by one query on those
   ids; for relevance the sample carries each row's score). No query then depends on the
   planner guessing how rare a word is.
3. Otherwise (many matches): facet counts are scaled by the backend's estimate of the
   matches; the total is "1 000+" when that estimate (times the sample's share passing the
   facet filters) is SURELY_OVER times TOTAL_CAP, else a count that stops at TOTAL_CAP + 1;
   newest-first pages inside the sample come from it and deeper ones from a keyset walk of
   the newest index; price sorts walk the price index; relevance ranks the CANDIDATES
   freshest matches (from the sample when it has them).
The sample is small (SAMPLE_SIZE) on purpose: a word in 6% of the catalog costs a walk of
SAMPLE_SIZE / 6% rows of the newest-first index, or reading its 6% through the text index.
How the sample is read is the backend's `plan`: the planner's choice (one well-estimated
word), RARE (the text index, counting the matches in passing: window counts replace the
estimate and the capped count) or RECENT_FIRST (several words, whose frequency together the
planner can't know: a bounded range of the newest-first index first, then RARE).
When a query finds fewer than FEW_RESULTS, a backend may correct misspelt words ("did you
mean") and the results then include what the corrected query finds.
"""

import math
from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple
from urllib.parse import urlencode

from django.core.cache import cache
from django.db.models import Count, Expression, F, Q, QuerySet, Window
from django.db.models.functions import Lower
from django.urls import reverse

from marketplace import selectors
from marketplace.models import Listing, ListingImage
from marketplace.search import cursors, facets
from marketplace.search.base import ListingFilters, SearchPage, Suggestion
from marketplace.search.filtering import FACET_FILTERS, facet_condition, listings_matching
from marketplace.search.text import fold, has_words

TOTAL_CAP = 1000
# Past the sample, a total estimated at this many times TOTAL_CAP is shown as "1 000+"
# without counting (a bounded count of a common word walks as far as the sample, again).
SURELY_OVER = 3
# Relevance ranks the freshest matches the sample holds (one query, whatever the word).
CANDIDATES = facets.SAMPLE_SIZE
# How the sample is fetched (DatabaseSearchBackend.plan) and the newest listings RECENT_FIRST
# looks among first.
PLANNER, RARE, RECENT_FIRST = "planner", "rare", "recent first"
RECENT = 5000
RECENT_BOUND_CACHE_KEY = "marketplace:search:recent-bound:v1"
FEW_RESULTS = 3
MAX_PER_PAGE = 100
SUGGEST_QUERY_MAX = 100
BRAND_SAMPLE = 100

# fetch(backwards, limit) -> [(sort value, id)] in walk order, after the cursor if any.
Fetch = Callable[[bool, int], list[tuple]]


class Measure(NamedTuple):
    """What the facet sample tells.

    `sample`: at most SAMPLE_SIZE rows for the facets. `matching`: the fetched rows (one more
    than the sample) that pass the facet filters, newest first: every match down to
    `boundary` (the last fetched row's (published_at, id)). `exact`: they are all the
    matches. Otherwise the total may be a lower bound and facet counts are scaled by
    `scale`; `complete`: `matching` is every match of the facet filters all the same (few:
    they were fetched instead of counted).
    """

    sample: list[facets.Row]
    matching: list[facets.Row]
    total: int
    exact: bool = True
    boundary: tuple | None = None
    lower_bound: bool = False
    scale: float = 1.0
    complete: bool = False


class DatabaseSearchBackend:
    """Search answered by the database. Subclasses say how text matches and ranks."""

    name = "database"

    # --- Hooks -------------------------------------------------------------------------
    def text_match(self, q: str) -> Q | None:
        raise NotImplementedError

    def relevance(self, q: str) -> Expression | None:
        """A score, higher for better matches of `q` (None: all equal)."""
        raise NotImplementedError

    def title_match(self, q: str) -> Q:
        raise NotImplementedError

    def title_matches_rare(self, q: str) -> bool | None:
        """Whether few listings' titles match `q` (fetch them through the text index rather
        than walking the newest-first index), or None when none can. Default: not rare."""
        return False

    def text_scan(self, q: str) -> Q | None:
        """text_match(q) in a form no index answers, for reading a small range of the
        newest-first index row by row (RECENT_FIRST). Default: text_match."""
        return self.text_match(q)

    def plan(self, q: str) -> str:
        """How to fetch the sample for `q`: PLANNER (let the database choose), RARE (few
        listings match for sure: read them through the text index) or RECENT_FIRST (the
        planner may misjudge the query: look among the RECENT newest listings first)."""
        return PLANNER

    def estimate(self, listings: QuerySet[Listing]) -> int:
        """About how many rows `listings` has (only called when there are many)."""
        raise NotImplementedError

    def typo_correction(self, q: str, listings: QuerySet[Listing]) -> str:
        """`q` with misspelt words corrected from what `listings` hold, or "" (none)."""
        return ""

    # --- SearchBackend -----------------------------------------------------------------
    def search(self, filters: ListingFilters, *, cursor: str = "", per_page: int) -> SearchPage:
        """The page of listings for sale matching `filters` at `cursor`, with facets.

        Never raises on odd input: a bad cursor gives the first page, a query without words
        is no query.
        """
        per_page = max(1, min(per_page, MAX_PER_PAGE))
        category_ids = (
            selectors.category_descendant_ids(filters.category.pk)
            if filters.category is not None
            else None
        )
        text = self.text_match(filters.q)
        sort = filters.sort
        if sort not in (*cursors.KEYSETS, "relevance") or (sort == "relevance" and text is None):
            sort = "newest"
        score = self.relevance(filters.q) if sort == "relevance" else None
        plan = self.plan(filters.q) if text is not None else PLANNER
        scan = self.text_scan(filters.q) if plan == RECENT_FIRST else None
        measure = self._measure(filters, text, category_ids, score, plan=plan, scan=scan)
        did_you_mean = ""
        if text is not None and measure.total < FEW_RESULTS:
            unmatched = listings_matching(
                filters, text=None, category_ids=category_ids, skip=FACET_FILTERS
            )
            did_you_mean = self.typo_correction(filters.q, unmatched)
            corrected = self.text_match(did_you_mean) if did_you_mean else None
            if corrected is not None:  # show what the corrected query finds (too)
                plan, scan = self.plan(did_you_mean), None
                if measure.total:
                    text = text | corrected
                    plan = RARE if plan == RARE else PLANNER
                else:
                    text = corrected  # and rank by it
                    score = self.relevance(did_you_mean) if sort == "relevance" else None
                    scan = self.text_scan(did_you_mean) if plan == RECENT_FIRST else None
                measure = self._measure(filters, text, category_ids, score, plan=plan, scan=scan)
        if sort == "relevance":
            ids, next_cursor, previous_cursor = self._relevance_page(
                measure, filters, text, category_ids, cursor, per_page, score=score
            )
        else:
            position = cursors.decode(cursor, sort=sort, max_offset=CANDIDATES)
            memory = _fetch_in_memory(measure.matching, sort, position)
            if measure.exact or measure.complete:
                fetch = memory
            else:
                listings = listings_matching(filters, text=text, category_ids=category_ids)
                fetch = _fetch_sql(listings, sort, position)
                if sort == "newest":
                    fetch = _fetch_newest_prefix(memory, fetch, position, measure.boundary)
            ids, next_cursor, previous_cursor = _keyset_page(fetch, sort, position, per_page)
        return SearchPage(
            ids=tuple(ids),
            total=measure.total,
            total_is_lower_bound=measure.lower_bound,
            facets=facets.build(
                measure.sample,
                filters,
                tree=selectors.category_tree(),
                approximate=not measure.exact,
                scale=measure.scale,
            ),
            next_cursor=next_cursor,
            previous_cursor=previous_cursor,
            did_you_mean=did_you_mean,
            backend=self.name,
            extra={"sort": sort},
        )

    def _measure(
        self,
        filters: ListingFilters,
        text: Q | None,
        category_ids: list[int] | None,
        score: Expression | None = None,
        *,
        plan: str = PLANNER,
        scan: Q | None = None,
    ) -> Measure:
        """The sample (with each row's relevance `score` when given) and what it tells.

        `plan` RARE: read the matches through the text index, sort and count them
        (_sample_counted: the counts replace the estimate and the capped count).
        RECENT_FIRST: the same after looking among the RECENT newest listings (published
        since a constant: an index range, it can't walk further) found too few.
        """
        base = listings_matching(filters, text=text, category_ids=category_ids, skip=FACET_FILTERS)
        columns = facets.COLUMNS
        if score is not None:
            base_scored, columns = base.annotate(_score=score), (*columns, "_score")
        else:
            base_scored = base
        fetched: list[facets.Row] = []
        bound = _recent_bound() if plan == RECENT_FIRST else None
        if bound is not None:
            # `scan`: no index answers it, so the planner reads the range of the newest
            # index (at most RECENT rows) instead of every match through the text index.
            recent = listings_matching(
                filters, text=scan, category_ids=category_ids, skip=FACET_FILTERS
            ).filter(published_at__gte=bound)
            if score is not None:
                recent = recent.annotate(_score=score)
            rows = recent.order_by("-published_at", "-id").values_list(*columns)
            fetched = [facets.Row(*row) for row in rows[: facets.SAMPLE_SIZE + 1]]
        counted: tuple[int, int] | None = None  # (matches, of them passing the facet filters)
        if len(fetched) <= facets.SAMPLE_SIZE:
            if plan == PLANNER:
                rows = base_scored.order_by("-published_at", "-id").values_list(*columns)
                fetched = [facets.Row(*row) for row in rows[: facets.SAMPLE_SIZE + 1]]
            else:
                fetched, counted = _sample_counted(base_scored, columns, filters)
        matching = facets.matching(fetched, filters)
        if len(fetched) <= facets.SAMPLE_SIZE:
            return Measure(fetched, matching, len(matching))
        last = fetched[-1]
        boundary = (last.published_at, last.pk) if last.published_at is not None else None
        sample = fetched[: facets.SAMPLE_SIZE]
        if counted is not None:
            matches, passing = counted
            return Measure(
                sample,
                matching,
                min(passing, TOTAL_CAP),
                exact=False,
                boundary=boundary,
                lower_bound=passing > TOTAL_CAP,
                scale=matches / len(sample),
            )
        estimate = self._recent_estimate(fetched, bound) if bound is not None else None
        if estimate is None:
            estimate = self.estimate(base)
        scale = max(estimate, len(fetched)) / len(sample)
        complete = False
        if len(matching) > TOTAL_CAP or len(matching) * scale >= SURELY_OVER * TOTAL_CAP:
            # "1 000+" without counting: the sample alone shows it, or the sample's share
            # passing the facet filters times the estimate of the matches is far above it.
            total = TOTAL_CAP + 1
        else:
            # Few enough to fetch them all rather than count them (the page then comes from
            # them too): at most TOTAL_CAP + 1 rows, in no order.
            listings = listings_matching(filters, text=text, category_ids=category_ids)
            if score is not None:
                listings = listings.annotate(_score=score)
            rows = [facets.Row(*row) for row in listings.values_list(*columns)[: TOTAL_CAP + 1]]
            total = len(rows)
            if total <= TOTAL_CAP:
                complete = True
                matching = sorted(rows, key=_newest_first)
        return Measure(
            sample,
            matching,
            min(total, TOTAL_CAP),
            exact=False,
            boundary=boundary,
            lower_bound=total > TOTAL_CAP,
            scale=scale,
            complete=complete,
        )

    def _recent_estimate(self, fetched: list[facets.Row], bound) -> int | None:
        """The matches a full sample found among the RECENT newest listings suggests: it
        spans a share of that window's time, so about that share of its listings were read
        (listings are published at a steady pace); the density of matches there, times the
        catalog. None when the catalog's size or the times are unknown. (The planner would
        multiply the words' frequencies: "forest green" 2% where it is 14%.)"""
        catalog = self.catalog_size()
        newest, last = fetched[0].published_at, fetched[-1].published_at
        if not catalog or newest is None or last is None or newest <= bound:
            return None
        share = min(1.0, max((newest - last) / (newest - bound), 1 / RECENT))
        return round(len(fetched) / (share * RECENT) * catalog)

    def catalog_size(self) -> int:
        """About how many listings there are (0: unknown)."""
        return 0

    def _relevance_page(
        self,
        measure: Measure,
        filters: ListingFilters,
        text: Q | None,
        category_ids: list[int] | None,
        cursor: str,
        per_page: int,
        *,
        score: Expression | None,
    ) -> tuple[list[int], str, str]:
        """Rank at most CANDIDATES matches (the freshest ones when there are more: a word in
        90% of the catalog costs the same as a rare one), then page by offset."""
        position = cursors.decode(cursor, sort="relevance", max_offset=CANDIDATES)
        offset = position.offset if position is not None else 0
        if measure.exact or measure.complete or len(measure.matching) >= CANDIDATES:
            # The candidates and their scores are in the sample (the freshest matches).
            ordered = sorted(
                measure.matching[:CANDIDATES],
                key=lambda row: (
                    -(row.score or 0),
                    -row.published_at.timestamp() if row.published_at else math.inf,
                    -row.pk,
                ),
            )
            ids = [row.pk for row in ordered[offset : offset + per_page + 1]]
        else:
            listings = listings_matching(filters, text=text, category_ids=category_ids)
            candidates = listings.order_by("-published_at", "-id").values("pk")[:CANDIDATES]
            ordering = [F("published_at").desc(nulls_last=True), "-id"]
            if score is not None:
                ordering.insert(0, score.desc())
            ids = list(
                Listing.objects.filter(pk__in=candidates)
                .order_by(*ordering)
                .values_list("pk", flat=True)[offset : offset + per_page + 1]
            )
        next_cursor = (
            cursors.encode_offset(offset + per_page)
            if len(ids) > per_page and offset + per_page < CANDIDATES
            else ""
        )
        # Offset 0 decodes to "no position": the first page.
        previous_cursor = cursors.encode_offset(max(0, offset - per_page)) if offset else ""
        return ids[:per_page], next_cursor, previous_cursor

    # --- Suggestions -------------------------------------------------------------------
    def suggest(self, q: str, *, limit: int) -> tuple[Suggestion, ...]:
        """Listings (title match, freshest first), then brands (prefix, most common among the
        freshest matches first), then categories (from the cached tree). A few small,
        index-backed queries."""
        q = q.strip()[:SUGGEST_QUERY_MAX]
        if limit <= 0 or not has_words(q):
            return ()
        listings = self._suggest_listings(q, (limit + 1) // 2)
        brands = self._suggest_brands(q, (limit - len(listings) + 1) // 2)
        categories = self._suggest_categories(q, limit - len(listings) - len(brands))
        return (*listings, *brands, *categories)

    def _suggest_listings(self, q: str, limit: int) -> list[Suggestion]:
        if limit <= 0:
            return []
        rare = self.title_matches_rare(q)
        if rare is None:
            return []  # no title has these words
        # NULLS LAST is not the newest-first index's order: the planner then reads the matches
        # through the text index and sorts them.
        newest = F("published_at").desc(nulls_last=True) if rare else F("published_at").desc()
        rows = list(
            Listing.objects.for_sale()
            .filter(self.title_match(q))
            .order_by(newest, "-id")
            .values_list("pk", "slug", "title", "price", "currency")[:limit]
        )
        thumbnails: dict[int, str] = {}
        images = ListingImage.objects.filter(listing_id__in=[row[0] for row in rows]).order_by(
            "listing_id", "position", "id"
        )
        for image in images:
            thumbnails.setdefault(image.listing_id, image.thumb_url)
        return [
            Suggestion(
                kind="listing",
                label=title,
                url=reverse("marketplace:listing", kwargs={"pk": pk, "slug": slug or "item"}),
                price=price,
                currency=currency,
                thumbnail_url=thumbnails.get(pk, ""),
            )
            for pk, slug, title, price, currency in rows
        ]

    def _suggest_brands(self, q: str, limit: int) -> list[Suggestion]:
        if limit <= 0:
            return []
        brands = list(
            Listing.objects.for_sale()
            .alias(_brand=Lower("brand"))
            .filter(_brand__startswith=q.lower())
            .order_by("-published_at", "-id")
            .values_list("brand", flat=True)[:BRAND_SAMPLE]
        )
        counts: dict[str, list] = {}
        for brand in brands:
            entry = counts.setdefault(brand.lower(), [0, brand])
            entry[0] += 1
        ranked = sorted(counts.values(), key=lambda entry: (-entry[0], entry[1].lower()))
        browse = reverse("marketplace:browse")
        return [
            Suggestion(kind="brand", label=label, url=f"{browse}?{urlencode({'brand': label})}")
            for _count, label in ranked[:limit]
        ]

    def _suggest_categories(self, q: str, limit: int) -> list[Suggestion]:
        if limit <= 0:
            return []
        wanted = fold(q)
        tree = selectors.category_tree()
        by_id = {node["id"]: node for node in tree}
        found = []
        for node in tree:
            name = fold(node["name"])
            if wanted in name:
                found.append((not name.startswith(wanted), len(name), node))
        found.sort(key=lambda item: item[:2])
        suggestions = []
        for _contains, _length, node in found[:limit]:
            parent = by_id.get(node["parent_id"])
            label = f"{parent['name']} › {node['name']}" if parent else node["name"]
            url = reverse("marketplace:category", kwargs={"slug": node["slug"]})
            suggestions.append(Suggestion(kind="category", label=label, url=url))
        return suggestions

    def index_listings(self, listing_ids: list[int]) -> None:
        """Nothing to do: the database is the index."""


def _sample_counted(
    listings: QuerySet[Listing], columns: tuple[str, ...], filters: ListingFilters
) -> tuple[list[facets.Row], tuple[int, int]]:
    """The sample read through the text index: every match is read and sorted anyway, so
    they are counted in passing (window counts: all, and those passing the facet filters).
    NULLS LAST is not the newest-first index's order, so the planner can't walk that index
    hoping to meet matches soon (listings for sale all have a published_at)."""
    passing = facet_condition(filters)
    listings = listings.annotate(
        _matches=Window(Count("pk")),
        _passing=Window(Count("pk", filter=passing)) if passing else Window(Count("pk")),
    )
    newest = F("published_at").desc(nulls_last=True)
    rows = listings.order_by(newest, "-id").values_list(*columns, "_matches", "_passing")
    rows = list(rows[: facets.SAMPLE_SIZE + 1])
    counted = (rows[0][-2], rows[0][-1]) if rows else (0, 0)
    return [facets.Row(*row[:-2]) for row in rows], counted


def _newest_first(row: facets.Row) -> tuple:
    published = row.published_at.timestamp() if row.published_at else -math.inf
    return (-published, -row.pk)


def _recent_bound() -> datetime | None:
    """The publication time of the RECENT-th newest listing that may be for sale (None in a
    smaller catalog), cached for a minute: one index-only range scan of listing_active_newest
    when cold. A constant, so the planner sees how few listings are that recent."""
    cached = cache.get(RECENT_BOUND_CACHE_KEY)
    if cached is None:
        bound = (
            Listing.objects.filter(status=Listing.Status.ACTIVE, deleted_at__isnull=True)
            .order_by("-published_at", "-id")
            .values_list("published_at", flat=True)[RECENT : RECENT + 1]
        )
        cached = {"bound": next(iter(bound), None)}
        cache.set(RECENT_BOUND_CACHE_KEY, cached, 60)
    return cached["bound"]


def _fetch_sql(listings: QuerySet[Listing], sort: str, position) -> Fetch:
    field, _descending = cursors.KEYSETS[sort]
    if sort == "newest":  # a listing for sale always has one; the keyset needs it
        listings = listings.filter(published_at__isnull=False)

    def fetch(backwards: bool, limit: int) -> list[tuple]:
        rows = listings
        if position is not None:
            rows = rows.filter(cursors.after(sort, position))
        ordering = cursors.ordering(sort, backwards=backwards)
        return list(rows.order_by(*ordering).values_list(field, "pk")[:limit])

    return fetch


def _fetch_in_memory(rows: list[facets.Row], sort: str, position) -> Fetch:
    """The same walk as _fetch_sql over rows already in memory (a small result)."""
    field, descending = cursors.KEYSETS[sort]
    keyed = [(getattr(row, field), row.pk) for row in rows if getattr(row, field) is not None]

    def fetch(backwards: bool, limit: int) -> list[tuple]:
        downwards = descending != backwards
        ordered = sorted(keyed, reverse=downwards)
        if position is not None:
            key = position.key
            ordered = [row for row in ordered if (row < key if downwards else row > key)]
        return ordered[:limit]

    return fetch


def _fetch_newest_prefix(memory: Fetch, sql: Fetch, position, boundary: tuple | None) -> Fetch:
    """Newest first, the sample is the start of the walk: pages inside it come from memory,
    the SQL walk only past it."""

    def fetch(backwards: bool, limit: int) -> list[tuple]:
        covered = boundary is not None and (position is None or position.key >= boundary)
        if covered:
            rows = memory(backwards, limit)
            if backwards or len(rows) == limit:
                return rows
        return sql(backwards, limit)

    return fetch


def _keyset_page(
    fetch: Fetch, sort: str, position: cursors.Position | None, per_page: int
) -> tuple[list[int], str, str]:
    """One page of a keyset walk and the cursors around it."""
    backwards = position is not None and position.backwards
    rows = fetch(backwards, per_page + 1)
    more = len(rows) > per_page
    rows = rows[:per_page]
    if backwards:
        rows.reverse()
    if not rows:
        return [], "", ""
    has_next = more if not backwards else True
    has_previous = position is not None and (more if backwards else True)
    next_cursor = cursors.encode_key(sort, *rows[-1]) if has_next else ""
    previous_cursor = cursors.encode_key(sort, *rows[0], backwards=True) if has_previous else ""
    return [pk for _value, pk in rows], next_cursor, previous_cursor
