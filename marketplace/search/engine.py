"""What the two database backends share: one search() in a bounded number of queries.

Per search (a page of /browse/):
1. the facet sample: the matches of the query and category without the facet filters,
   freshest first, at most SAMPLE_SIZE + 1 rows of (category, size, brand, condition,
   price). If it holds every match, the total and the facet counts are exact and come from
   it; otherwise
2. a count of the filtered matches that stops at TOTAL_CAP + 1 ("1 000+ results"), and an
   estimate of the matches (a backend hook) to scale the facet counts;
3. the page: keyset (newest, price) or, for relevance, the best of the CANDIDATES freshest
   matches.
When a query finds fewer than FEW_RESULTS, a backend may add typo-tolerant matches and a
"did you mean" (PostgreSQL does).
"""

from typing import NamedTuple
from urllib.parse import urlencode

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Lower
from django.urls import reverse

from marketplace import selectors
from marketplace.models import Listing, ListingImage
from marketplace.search import cursors, facets
from marketplace.search.base import ListingFilters, SearchPage, Suggestion
from marketplace.search.filtering import FACET_FILTERS, listings_matching
from marketplace.search.text import fold, has_words

TOTAL_CAP = 1000
CANDIDATES = 2000
FEW_RESULTS = 3
MAX_PER_PAGE = 100
SUGGEST_QUERY_MAX = 100
BRAND_SAMPLE = 500


class Measure(NamedTuple):
    """The facet sample and what it tells: the total (exact, or capped with `lower_bound`)
    and whether facet counts are `approximate` (scaled by `scale`)."""

    sample: list[facets.Row]
    total: int
    lower_bound: bool = False
    approximate: bool = False
    scale: float = 1.0


class DatabaseSearchBackend:
    """Search answered by the database. Subclasses say how text matches and ranks."""

    name = "database"

    # --- Hooks -------------------------------------------------------------------------
    def text_match(self, q: str) -> Q | None:
        raise NotImplementedError

    def relevance(self, q: str) -> list:
        """ORDER BY expressions that put the best matches first (before freshness)."""
        raise NotImplementedError

    def title_match(self, q: str) -> Q:
        raise NotImplementedError

    def estimate(self, listings: QuerySet[Listing]) -> int:
        """About how many rows `listings` has (only called when there are many)."""
        raise NotImplementedError

    def typo_matches(self, q: str, listings: QuerySet[Listing]) -> tuple[list[int], str]:
        """(ids of `listings` that look like `q` despite typos, a corrected query or "")."""
        return [], ""

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
        measure = self._measure(filters, text, category_ids)
        did_you_mean = ""
        if text is not None and measure.total < FEW_RESULTS:
            unmatched = listings_matching(
                filters, text=None, category_ids=category_ids, skip=FACET_FILTERS
            )
            extra_ids, did_you_mean = self.typo_matches(filters.q, unmatched)
            if extra_ids:
                text = text | Q(pk__in=extra_ids)
                measure = self._measure(filters, text, category_ids)
        listings = listings_matching(filters, text=text, category_ids=category_ids)
        if sort == "relevance":
            ids, next_cursor, previous_cursor = self._relevance_page(
                listings, filters.q, cursor, per_page
            )
        else:
            ids, next_cursor, previous_cursor = self._keyset_page(listings, sort, cursor, per_page)
        return SearchPage(
            ids=tuple(ids),
            total=measure.total,
            total_is_lower_bound=measure.lower_bound,
            facets=facets.build(
                measure.sample,
                filters,
                tree=selectors.category_tree(),
                approximate=measure.approximate,
                scale=measure.scale,
            ),
            next_cursor=next_cursor,
            previous_cursor=previous_cursor,
            did_you_mean=did_you_mean,
            backend=self.name,
            extra={"sort": sort},
        )

    def _measure(
        self, filters: ListingFilters, text: Q | None, category_ids: list[int] | None
    ) -> "Measure":
        base = listings_matching(filters, text=text, category_ids=category_ids, skip=FACET_FILTERS)
        sample = [
            facets.Row(*row)
            for row in base.order_by("-published_at", "-id").values_list(
                "category_id", "size", "brand", "condition", "price"
            )[: facets.SAMPLE_SIZE + 1]
        ]
        if len(sample) <= facets.SAMPLE_SIZE:
            return Measure(sample, facets.count_matching(sample, filters))
        sample = sample[: facets.SAMPLE_SIZE]
        listings = listings_matching(filters, text=text, category_ids=category_ids)
        total = listings.values("pk")[: TOTAL_CAP + 1].count()
        scale = max(self.estimate(base), len(sample) + 1) / len(sample)
        return Measure(
            sample,
            min(total, TOTAL_CAP),
            lower_bound=total > TOTAL_CAP,
            approximate=True,
            scale=scale,
        )

    def _keyset_page(
        self, listings: QuerySet[Listing], sort: str, cursor: str, per_page: int
    ) -> tuple[list[int], str, str]:
        field, _descending = cursors.KEYSETS[sort]
        position = cursors.decode(cursor, sort=sort, max_offset=CANDIDATES)
        backwards = position is not None and position.backwards
        if sort == "newest":  # a listing for sale always has one; the keyset needs it
            listings = listings.filter(published_at__isnull=False)
        if position is not None:
            listings = listings.filter(cursors.after(sort, position))
        rows = list(
            listings.order_by(*cursors.ordering(sort, backwards=backwards)).values_list(
                field, "pk"
            )[: per_page + 1]
        )
        more = len(rows) > per_page
        rows = rows[:per_page]
        if backwards:
            rows.reverse()
        if not rows:
            return [], "", ""
        has_next = more if not backwards else True
        has_previous = position is not None and (more if backwards else True)
        first, last = rows[0], rows[-1]
        next_cursor = cursors.encode_key(sort, *last) if has_next else ""
        previous_cursor = cursors.encode_key(sort, *first, backwards=True) if has_previous else ""
        return [pk for _value, pk in rows], next_cursor, previous_cursor

    def _relevance_page(
        self, listings: QuerySet[Listing], q: str, cursor: str, per_page: int
    ) -> tuple[list[int], str, str]:
        """Rank the CANDIDATES freshest matches (not the whole match: a term in 90% of the
        catalog stays cheap), then page through them by offset."""
        position = cursors.decode(cursor, sort="relevance", max_offset=CANDIDATES)
        offset = position.offset if position is not None else 0
        candidates = listings.order_by("-published_at", "-id").values("pk")[:CANDIDATES]
        ids = list(
            Listing.objects.filter(pk__in=candidates)
            .order_by(*self.relevance(q), F("published_at").desc(nulls_last=True), "-id")
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
        rows = list(
            Listing.objects.for_sale()
            .filter(self.title_match(q))
            .order_by("-published_at", "-id")
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
