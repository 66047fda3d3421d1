"""Small catalog builders and readers shared by the search tests."""

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from marketplace.search import ListingFilters, SearchPage
from marketplace.tests.factories import ListingFactory

NOW = timezone.now()


def item(title: str, *, minutes_ago: int = 0, **fields):
    """A listing for sale published `minutes_ago` (defaults: no brand, a bland description)."""
    fields.setdefault("brand", "")
    fields.setdefault("description", "Good as new.")
    fields.setdefault("published_at", NOW - timedelta(minutes=minutes_ago))
    if "price" in fields:
        fields["price"] = Decimal(str(fields["price"]))
    return ListingFactory(title=title, **fields)


def search(backend, per_page: int = 24, cursor: str = "", **filters) -> SearchPage:
    return backend.search(ListingFilters(**filters), cursor=cursor, per_page=per_page)


def ids(backend, **filters) -> list[int]:
    return list(search(backend, **filters).ids)


def every_page(backend, *, per_page: int, **filters) -> list[int]:
    """Ids of all pages, following next cursors (bounded, in case of a loop)."""
    found, cursor = [], ""
    for _ in range(100):
        page = search(backend, per_page=per_page, cursor=cursor, **filters)
        found.extend(page.ids)
        cursor = page.next_cursor
        if not cursor:
            return found
    raise AssertionError("pagination did not end")


def facet(page: SearchPage, name: str) -> dict[str, int]:
    """label -> count of one facet."""
    for candidate in page.facets:
        if candidate.name == name:
            return {value.label: value.count for value in candidate.values}
    raise KeyError(name)


def plan_nodes(plan) -> Iterator[dict]:
    """Every node of a JSON EXPLAIN plan, depth first."""
    if isinstance(plan, dict):
        yield plan
        for value in plan.values():
            yield from plan_nodes(value)
    elif isinstance(plan, list):
        for value in plan:
            yield from plan_nodes(value)


def plan_index_names(plan) -> set[str]:
    """Every index a JSON EXPLAIN plan mentions (index, index-only and bitmap scans)."""
    return {node["Index Name"] for node in plan_nodes(plan) if "Index Name" in node}
