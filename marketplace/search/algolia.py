"""Algolia search: the only module that imports the algoliasearch SDK (v4).

What Threadly stores per listing for sale is `listing_record()`; `configure_index()` sets the
main index's settings and one standard replica per sort; `AlgoliaSearchBackend` answers the
search page and the suggestions from Algolia and falls back to the database backend on any
Algolia failure (logged as a warning, never an error page). After a failure the backend skips
Algolia for DOWN_SECONDS (a flag in the shared cache), so an outage costs one slow request
per process and window, not a timeout on every page.

Prices: records carry `price` as a number only because Algolia's numeric filters and sorts
need one; Threadly reads the exact amount back from `price_display` (the Decimal as a string).
"""

import contextlib
import json
import logging
import math
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from itertools import batched
from typing import Any
from urllib.parse import urlencode

from algoliasearch.http.hosts import Host, HostsCollection
from algoliasearch.search.client import SearchClientSync
from algoliasearch.search.config import SearchConfig
from django.conf import settings
from django.core.cache import cache
from django.db.models import Prefetch, QuerySet
from django.urls import reverse

from marketplace.exceptions import SearchEngineError
from marketplace.models import Listing, ListingCondition, ListingImage
from marketplace.search.base import (
    Facet,
    FacetValue,
    ListingFilters,
    SearchBackend,
    SearchPage,
    Suggestion,
)
from marketplace.selectors import category_slug_choices, category_tree

logger = logging.getLogger(__name__)

# Milliseconds. The SDK tries each host in turn, so a hung Algolia costs up to
# (connect + read) x hosts; the DOWN_SECONDS flag keeps that to one request per window.
CONNECT_TIMEOUT_MS = 1000
READ_TIMEOUT_MS = 2000
WRITE_TIMEOUT_MS = 3000  # indexing runs after commit, within the seller's request for now
REINDEX_WRITE_TIMEOUT_MS = 30000
DOWN_SECONDS = 30
DOWN_CACHE_KEY = "search:algolia:down"

BATCH_SIZE = 1000
PAGINATION_LIMIT = 1000  # Algolia's paginationLimitedTo: no page past this many hits
DESCRIPTION_CHARS = 1000
BRAND_FACET_VALUES = 20
SUGGEST_LISTING_ATTRIBUTES = ["title", "price_display", "currency", "thumbnail_url", "url"]

# Attribute names in the index for the facets the page shows, and for their filters. Sizes
# and brands are filtered on a case-folded copy, as the database backends compare them.
FACET_ATTRIBUTES = {
    "category": "category_ids",
    "size": "size",
    "brand": "brand",
    "condition": "condition",
}
FILTER_ATTRIBUTES = {"size": "size_key", "brand": "brand_key", "condition": "condition"}

# Relevance uses the main index (customRanking: newest first among equals); each other sort
# is a standard replica ranked by that attribute first (exhaustive sort, not "relevant sort").
DEFAULT_RANKING = ["typo", "geo", "words", "filters", "proximity", "attribute", "exact", "custom"]
REPLICA_RANKING = {
    "newest": ["desc(published_at)", *DEFAULT_RANKING],
    "price_asc": ["asc(price)", *DEFAULT_RANKING],
    "price_desc": ["desc(price)", *DEFAULT_RANKING],
}


def index_name() -> str:
    return settings.ALGOLIA_INDEX_NAME


def replica_name(sort: str) -> str:
    return f"{index_name()}_{sort}"


def _hosts() -> HostsCollection | None:
    """ALGOLIA_HOSTS ("host[:port]" or "http(s)://host[:port]", comma-separated) as SDK hosts;
    None for Algolia's own hosts. A bare host means https."""
    hosts = []
    for item in settings.ALGOLIA_HOSTS:
        scheme, _, rest = item.rpartition("://")
        name, _, port = rest.partition(":")
        hosts.append(Host(name, scheme=scheme or "https", port=int(port) if port else None))
    return HostsCollection(hosts) if hosts else None


_clients = threading.local()


def _client(*, admin: bool) -> SearchClientSync:
    """This thread's SDK client for the search key (or the admin key), reused across requests
    for its keep-alive connection and rebuilt when the settings change or after a failure
    (so the SDK's per-host retry state never outlives the DOWN_SECONDS window)."""
    key = settings.ALGOLIA_ADMIN_KEY if admin else settings.ALGOLIA_SEARCH_KEY
    identity = (settings.ALGOLIA_APP_ID, key, tuple(settings.ALGOLIA_HOSTS))
    cached = getattr(_clients, "by_role", {}).get(admin)
    if cached is not None and cached[0] == identity:
        return cached[1]
    config = SearchConfig(settings.ALGOLIA_APP_ID, key)
    config.connect_timeout = CONNECT_TIMEOUT_MS
    config.read_timeout = READ_TIMEOUT_MS
    config.write_timeout = WRITE_TIMEOUT_MS
    config.hosts = _hosts()
    client = SearchClientSync.create_with_config(config=config)
    _clients.by_role = {**getattr(_clients, "by_role", {}), admin: (identity, client)}
    return client


def _forget_clients() -> None:
    for _identity, client in getattr(_clients, "by_role", {}).values():
        with contextlib.suppress(Exception):  # a broken session may fail to close; dropped
            client.close()
    _clients.by_role = {}


def algolia_down() -> bool:
    """Algolia failed a moment ago (within DOWN_SECONDS): don't wait on it again yet."""
    return bool(cache.get(DOWN_CACHE_KEY))


def _failed(operation: str, exc: Exception, *, outage_only: bool = False) -> SearchEngineError:
    """Wrap a failure, rebuild the client, and mark Algolia down for DOWN_SECONDS: on any
    failure of a search; with `outage_only` (writes), only when Algolia itself failed (no
    answer, timeout, 5xx), not when it refused one request (4xx, e.g. a record too large)."""
    _forget_clients()
    status = getattr(exc, "status_code", None)
    if not outage_only or not (isinstance(status, int) and 400 <= status < 500):
        cache.set(DOWN_CACHE_KEY, True, DOWN_SECONDS)
    return SearchEngineError(f"Algolia {operation} failed: {type(exc).__name__}: {exc}")


def _multi_query(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """POST /1/indexes/*/queries with the search key; the results as plain dicts, in order.

    The raw JSON is read (not the SDK's response models) because a multi-query mixes hit and
    facet-value results, which the models can only tell apart by guessing."""
    try:
        response = _client(admin=False).search_with_http_info({"requests": requests})
        results = json.loads(response.raw_data)["results"]
        if len(results) != len(requests):
            raise ValueError(f"{len(results)} results for {len(requests)} queries")
        return results
    except Exception as exc:
        raise _failed("search", exc) from exc


# --- Records ---------------------------------------------------------------------------------


def _category_paths() -> dict[int, tuple[list[int], list[str]]]:
    """Category id -> (ids from the root down to it, their names), from the cached tree."""
    nodes = {node["id"]: node for node in category_tree()}
    paths: dict[int, tuple[list[int], list[str]]] = {}
    for category_id in nodes:
        ids: list[int] = []
        current = nodes.get(category_id)
        while current is not None and current["id"] not in ids:
            ids.insert(0, current["id"])
            current = nodes.get(current["parent_id"])
        paths[category_id] = (ids, [nodes[i]["name"] for i in ids])
    return paths


def _for_sale_with_record_data() -> QuerySet[Listing]:
    return (
        Listing.objects.for_sale()
        .select_related("seller")
        .prefetch_related(
            Prefetch("images", queryset=ListingImage.objects.order_by("position", "id"))
        )
    )


def listing_record(listing: Listing, paths: dict[int, tuple[list[int], list[str]]]) -> dict:
    """The record Algolia stores for a listing for sale (`paths`: from _category_paths())."""
    category_ids, category_names = paths.get(listing.category_id, ([listing.category_id], []))
    images = list(listing.images.all())
    return {
        "objectID": str(listing.pk),
        "title": listing.title,
        "brand": listing.brand,
        "brand_key": listing.brand.casefold(),
        "description": listing.description[:DESCRIPTION_CHARS],
        "category_ids": category_ids,
        "category_names": category_names,
        "size": listing.size,
        "size_key": listing.size.casefold(),
        "condition": listing.condition,
        # A number only for Algolia's numeric filters and sorts (see the module docstring).
        "price": float(str(listing.price)),
        "price_display": str(listing.price),
        "currency": listing.currency,
        "published_at": int(listing.published_at.timestamp()) if listing.published_at else 0,
        "url": listing.get_absolute_url(),
        "thumbnail_url": images[0].thumb_url if images else "",
        "seller": listing.seller.username,
    }


def records_for_sale(*, batch_size: int | None = None) -> Iterator[list[dict]]:
    """Every listing for sale as records, `batch_size` (BATCH_SIZE) at a time, by keyset over
    the primary key (no OFFSET): a constant number of queries per batch."""
    batch_size = batch_size or BATCH_SIZE
    paths = _category_paths()
    last = 0
    while True:
        rows = list(_for_sale_with_record_data().filter(pk__gt=last).order_by("pk")[:batch_size])
        if not rows:
            return
        yield [listing_record(listing, paths) for listing in rows]
        last = rows[-1].pk


# --- Settings and bulk indexing --------------------------------------------------------------


def index_settings() -> dict[str, Any]:
    """The main index's settings (replicas get the same plus their own ranking)."""
    return {
        "searchableAttributes": ["title", "brand", "category_names", "description"],
        "attributesForFaceting": [
            "searchable(brand)",
            "category_ids",
            "size",
            "condition",
            "filterOnly(brand_key)",
            "filterOnly(size_key)",
        ],
        "customRanking": ["desc(published_at)"],
        "typoTolerance": True,
        "ignorePlurals": True,
        "removeStopWords": False,
        "paginationLimitedTo": PAGINATION_LIMIT,
        "attributesToHighlight": [],
    }


def configure_index() -> None:
    """Apply index_settings() to the main index (creating it and its replicas) and each
    replica's ranking, waiting for Algolia to apply them. Raises SearchEngineError."""
    client = _client(admin=True)
    main = index_name()
    try:
        replicas = [replica_name(sort) for sort in REPLICA_RANKING]
        task = client.set_settings(main, {**index_settings(), "replicas": replicas})
        client.wait_for_task(main, task.task_id)
        for sort, ranking in REPLICA_RANKING.items():
            replica = replica_name(sort)
            task = client.set_settings(replica, {**index_settings(), "ranking": ranking})
            client.wait_for_task(replica, task.task_id)
    except Exception as exc:
        raise _failed("configure", exc) from exc


def reindex_all(*, progress: Callable[[int], None] = lambda done: None) -> int:
    """Replace every record with the listings for sale now, atomically: the SDK's
    replace_all_objects fills a temporary index (copying the settings) and moves it over the
    main one, so records of listings no longer for sale disappear and searches never see a
    half-built index. `progress(done)` is called after each batch. Returns the count.

    Run configure_index() first (a fresh index needs its settings). Raises SearchEngineError.
    """
    done = 0

    def records() -> Iterator[dict]:
        nonlocal done
        for batch in records_for_sale():
            yield from batch
            done += len(batch)
            progress(done)

    try:
        _client(admin=True).replace_all_objects(
            index_name(),
            records(),
            batch_size=BATCH_SIZE,
            request_options={"timeouts": {"write": REINDEX_WRITE_TIMEOUT_MS}},
        )
    except Exception as exc:
        raise _failed("reindex", exc) from exc
    return done


# --- The backend -----------------------------------------------------------------------------


def _escape(value: str) -> str:
    # Algolia reads a leading "-" in a facet filter as negation.
    return f"\\{value}" if value.startswith("-") else value


def _filters(filters: ListingFilters, *, without: str = "") -> dict[str, Any]:
    """facetFilters / numericFilters for `filters`, leaving out the facet `without`."""
    facet_filters = []
    if filters.category is not None and without != "category":
        facet_filters.append(f"category_ids:{filters.category.pk}")
    for name in ("size", "brand", "condition"):
        value = getattr(filters, name)
        if value and name != without:
            value = value if name == "condition" else value.casefold()
            facet_filters.append(f"{FILTER_ATTRIBUTES[name]}:{_escape(value)}")
    numeric = []
    if filters.min_price is not None:
        numeric.append(f"price>={float(str(filters.min_price))}")
    if filters.max_price is not None:
        numeric.append(f"price<={float(str(filters.max_price))}")
    return {"facetFilters": facet_filters, "numericFilters": numeric}


def _page_of(cursor: str, per_page: int) -> int:
    """The page a cursor names; anything that isn't a reachable page number is page 0."""
    last_page = max(0, math.ceil(PAGINATION_LIMIT / max(per_page, 1)) - 1)
    if not cursor.isdigit() or len(cursor) > 6 or cursor != str(int(cursor)):
        return 0
    page = int(cursor)
    return page if page <= last_page else 0


def _counts(result: dict, attribute: str) -> dict[str, int]:
    counts = (result.get("facets") or {}).get(attribute) or {}
    return {str(value): int(count) for value, count in counts.items()}


def _category_facet(filters: ListingFilters, counts: dict[str, int]) -> Facet:
    """The children of the chosen category (top-level categories without one), with counts."""
    parent_id = filters.category.pk if filters.category is not None else None
    values = [
        FacetValue(value=node["slug"], label=node["name"], count=counts[str(node["id"])])
        for node in category_tree()
        if node["parent_id"] == parent_id and counts.get(str(node["id"]))
    ]
    return Facet(name="category", values=tuple(values))


def _value_facet(name: str, selected: str, counts: dict[str, int], approximate: bool) -> Facet:
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))
    chosen = selected.casefold()
    values = [
        FacetValue(value=v, label=v, count=n, selected=bool(chosen) and v.casefold() == chosen)
        for v, n in ordered
        if v
    ]
    return Facet(name=name, values=tuple(values), approximate=approximate)


def _condition_facet(selected: str, counts: dict[str, int], approximate: bool) -> Facet:
    values = [
        FacetValue(value=value, label=str(label), count=counts[value], selected=value == selected)
        for value, label in ListingCondition.choices
        if counts.get(value)
    ]
    return Facet(name="condition", values=tuple(values), approximate=approximate)


class AlgoliaSearchBackend(SearchBackend):
    """Search answered by Algolia; `fallback` (the database backend) answers whenever Algolia
    fails or was failing a moment ago."""

    name = "algolia"

    def __init__(self, *, fallback: SearchBackend) -> None:
        self.fallback = fallback

    def search(self, filters: ListingFilters, *, cursor: str = "", per_page: int) -> SearchPage:
        """The page of listings for sale matching `filters`, with disjunctive facets: one
        multi-query holds the hits (and the facets nobody filters on) plus, for each facet
        with a selection, a query without that selection, so each facet's counts ignore its
        own choice. The fallback answers on any failure."""
        if not algolia_down():
            try:
                return self._search(filters, cursor=cursor, per_page=per_page)
            except SearchEngineError as exc:
                logger.warning("search: %s; answering from the database", exc)
        return self.fallback.search(filters, cursor=cursor, per_page=per_page)

    def _search(self, filters: ListingFilters, *, cursor: str, per_page: int) -> SearchPage:
        page = _page_of(cursor, per_page)
        sort = filters.sort if filters.sort in REPLICA_RANKING else "relevance"
        selected = [name for name in ("size", "brand", "condition") if getattr(filters, name)]
        main = {
            "indexName": replica_name(sort) if sort != "relevance" else index_name(),
            "query": filters.q,
            "page": page,
            "hitsPerPage": per_page,
            "attributesToRetrieve": ["objectID"],
            "facets": [FACET_ATTRIBUTES[n] for n in FACET_ATTRIBUTES if n not in selected],
            "maxValuesPerFacet": BRAND_FACET_VALUES,
            **_filters(filters),
        }
        requests = [main]
        for name in selected:
            requests.append(
                {
                    "indexName": index_name(),
                    "query": filters.q,
                    "hitsPerPage": 0,
                    "page": 0,
                    "facets": [FACET_ATTRIBUTES[name]],
                    "maxValuesPerFacet": BRAND_FACET_VALUES,
                    "analytics": False,
                    **_filters(filters, without=name),
                }
            )
        results = _multi_query(requests)
        try:
            own = dict(zip(selected, results[1:], strict=True))
            return self._page(filters, page, per_page, results[0], own)
        except (KeyError, TypeError, ValueError) as exc:
            raise _failed("search (unexpected response)", exc) from exc

    def _page(
        self, filters: ListingFilters, page: int, per_page: int, hits: dict, own: dict[str, dict]
    ) -> SearchPage:
        nb_pages = min(int(hits["nbPages"]), math.ceil(PAGINATION_LIMIT / max(per_page, 1)))
        ids = tuple(int(h["objectID"]) for h in hits["hits"] if str(h["objectID"]).isdigit())
        facets = [_category_facet(filters, _counts(hits, "category_ids"))]
        for name in ("size", "brand"):
            source = own.get(name, hits)
            approximate = not source.get("exhaustiveFacetsCount", True)
            counts = _counts(source, FACET_ATTRIBUTES[name])
            facets.append(_value_facet(name, getattr(filters, name), counts, approximate))
        source = own.get("condition", hits)
        facets.append(
            _condition_facet(
                filters.condition,
                _counts(source, "condition"),
                not source.get("exhaustiveFacetsCount", True),
            )
        )
        return SearchPage(
            ids=ids,
            total=int(hits["nbHits"]),
            total_is_lower_bound=not hits.get("exhaustiveNbHits", True),
            facets=tuple(facets),
            next_cursor=str(page + 1) if page + 1 < nb_pages else "",
            previous_cursor=str(page - 1) if page > 0 else "",
            backend=self.name,
        )

    def suggest(self, q: str, *, limit: int) -> tuple[Suggestion, ...]:
        """Up to `limit` listings (Algolia's typo-tolerant search), then up to `limit` brands
        (a facet-value search on brand, in the same request), then up to `limit` categories
        whose name contains `q` (the cached tree). The fallback answers on any failure."""
        if not algolia_down():
            try:
                return self._suggest(q, limit=limit)
            except SearchEngineError as exc:
                logger.warning("search: %s; suggesting from the database", exc)
        return self.fallback.suggest(q, limit=limit)

    def _suggest(self, q: str, *, limit: int) -> tuple[Suggestion, ...]:
        listings, brands = _multi_query(
            [
                {
                    "indexName": index_name(),
                    "query": q,
                    "hitsPerPage": limit,
                    "attributesToRetrieve": SUGGEST_LISTING_ATTRIBUTES,
                },
                {
                    "indexName": index_name(),
                    "type": "facet",
                    "facet": "brand",
                    "facetQuery": q,
                    "maxFacetHits": limit,
                    "analytics": False,
                },
            ]
        )
        try:
            suggestions = [_listing_suggestion(hit) for hit in listings["hits"]]
            browse = reverse("marketplace:browse")
            suggestions += [
                Suggestion(
                    kind="brand",
                    label=hit["value"],
                    url=f"{browse}?{urlencode({'brand': hit['value']})}",
                )
                for hit in brands["facetHits"][:limit]
            ]
        except (KeyError, TypeError, InvalidOperation) as exc:
            raise _failed("suggest (unexpected response)", exc) from exc
        return (*suggestions, *_category_suggestions(q, limit))

    def index_listings(self, listing_ids: list[int]) -> None:
        """Save the record of each listing for sale and delete the others' (objectID = pk),
        in batch requests of up to BATCH_SIZE. Raises SearchEngineError, at once while Algolia
        is marked down (no seller waits on a known outage; search_reindex catches up)."""
        ids = sorted({int(pk) for pk in listing_ids})
        if ids and algolia_down():
            raise SearchEngineError("Algolia is marked down after a failure; not indexing now")
        paths = _category_paths()
        client = _client(admin=True)
        for chunk in batched(ids, BATCH_SIZE):
            listings = {row.pk: row for row in _for_sale_with_record_data().filter(pk__in=chunk)}
            requests = [
                {"action": "updateObject", "body": listing_record(listings[pk], paths)}
                if pk in listings
                else {"action": "deleteObject", "body": {"objectID": str(pk)}}
                for pk in chunk
            ]
            try:
                client.batch(index_name(), {"requests": requests})
            except Exception as exc:
                raise _failed("indexing", exc, outage_only=True) from exc


def _listing_suggestion(hit: dict) -> Suggestion:
    return Suggestion(
        kind="listing",
        label=hit["title"],
        url=hit["url"],
        price=Decimal(hit["price_display"]),
        currency=hit.get("currency", ""),
        thumbnail_url=hit.get("thumbnail_url", ""),
    )


def _category_suggestions(q: str, limit: int) -> list[Suggestion]:
    wanted = q.strip().casefold()
    if not wanted:
        return []
    found = []
    for slug, label in category_slug_choices():
        if wanted in label.rsplit(" › ", 1)[-1].casefold():
            url = reverse("marketplace:category", kwargs={"slug": slug})
            found.append(Suggestion(kind="category", label=label, url=url))
    return found[:limit]
