"""Facet counts from a bounded sample of the matches (database backends, pure Python).

The backends fetch the matches of the query and category *without* the facet filters
(size, brand, condition, price): at most SAMPLE_SIZE rows, freshest first. Each facet counts
the rows that pass every *other* filter (standard faceting: a facet's counts ignore its own
selection, so you can switch from M to L). When the sample holds every match the counts are
exact; otherwise they are scaled up to an estimate of the matches and marked approximate.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from marketplace.models import ListingCondition
from marketplace.search.base import Facet, FacetValue, ListingFilters

SAMPLE_SIZE = 300
BRANDS_SHOWN = 10
SIZES_SHOWN = 20
# (value for the URL, min_price, max_price, label): the bands partition prices exactly
# (prices have cents), so their counts add up to the total.
PRICE_BANDS = (
    ("-9.99", None, Decimal("9.99"), "Under 10"),
    ("10-24.99", Decimal("10"), Decimal("24.99"), "10 to 25"),
    ("25-49.99", Decimal("25"), Decimal("49.99"), "25 to 50"),
    ("50-99.99", Decimal("50"), Decimal("99.99"), "50 to 100"),
    ("100-", Decimal("100"), None, "100 and more"),
)


# The sample's columns (Row's fields, in order).
COLUMNS = ("pk", "published_at", "price", "category_id", "size", "brand", "condition")
SIZE, BRAND, CONDITION, PRICE = 1, 2, 4, 8
ALL = SIZE | BRAND | CONDITION | PRICE
FACET_BITS = {"size": SIZE, "brand": BRAND, "condition": CONDITION, "price": PRICE}


class Row(NamedTuple):
    pk: int
    published_at: datetime | None
    price: Decimal
    category_id: int
    size: str
    brand: str
    condition: str
    score: float = 0.0  # relevance, when the sample was fetched for a relevance sort


def passed(row: Row, filters: ListingFilters) -> int:
    """The facet filters `row` passes, as bits (the Python twin of
    filtering.listings_matching's size, brand, condition and price filters)."""
    bits = 0
    if not filters.size or row.size.lower() == filters.size.lower():
        bits |= SIZE
    if not filters.brand or row.brand.lower() == filters.brand.lower():
        bits |= BRAND
    if not filters.condition or row.condition == filters.condition:
        bits |= CONDITION
    if (filters.min_price is None or row.price >= filters.min_price) and (
        filters.max_price is None or row.price <= filters.max_price
    ):
        bits |= PRICE
    return bits


def matching(rows: Iterable[Row], filters: ListingFilters) -> list[Row]:
    """The rows that pass every facet filter."""
    return [row for row in rows if passed(row, filters) == ALL]


def build(
    rows: Sequence[Row],
    filters: ListingFilters,
    *,
    tree: list[dict],
    approximate: bool = False,
    scale: float = 1.0,
) -> tuple[Facet, ...]:
    """Facets category, size, brand, condition, price for `rows` (the sample).
    `approximate`: the sample is only part of the matches; counts are multiplied by `scale`
    (the estimated matches per sampled row) and rounded."""

    bits = [passed(row, filters) for row in rows]

    def rows_for(facet: str) -> list[Row]:
        """Rows passing every filter but the facet's own."""
        needed = ALL & ~FACET_BITS.get(facet, 0)
        return [row for row, got in zip(rows, bits, strict=True) if got & needed == needed]

    def shown(count: int) -> int:
        return _estimate(count, scale) if approximate else count

    facets = [
        _category_facet(rows_for("category"), filters, tree, shown),
        _text_facet("size", rows_for("size"), filters.size, SIZES_SHOWN, shown),
        _text_facet("brand", rows_for("brand"), filters.brand, BRANDS_SHOWN, shown),
        _condition_facet(rows_for("condition"), filters, shown),
        _price_facet(rows_for("price"), filters, shown),
    ]
    return tuple(Facet(name=f.name, values=f.values, approximate=approximate) for f in facets)


def _estimate(count: int, scale: float) -> int:
    """count * scale, to two significant digits (an estimate shouldn't look precise)."""
    if count == 0:
        return 0
    value = max(1, round(count * scale))
    digits = len(str(value))
    return round(value, 2 - digits) if digits > 2 else value


def _category_facet(rows, filters, tree, shown) -> Facet:
    """Counts per child of the current category (top-level categories on /browse/), each
    child counting its whole subtree."""
    parent_of = {node["id"]: node["parent_id"] for node in tree}
    current = filters.category.pk if filters.category is not None else None
    children = [node for node in tree if node["parent_id"] == current]
    child_ids = {node["id"] for node in children}
    branch: dict[int, int | None] = {}

    def child_of(category_id: int) -> int | None:
        if category_id not in branch:
            node, seen = category_id, set()
            while node is not None and node not in child_ids and node not in seen:
                seen.add(node)
                node = parent_of.get(node)
            branch[category_id] = node if node in child_ids else None
        return branch[category_id]

    counts = Counter(child_of(row.category_id) for row in rows)
    values = tuple(
        FacetValue(value=node["slug"], label=node["name"], count=shown(counts[node["id"]]))
        for node in children
        if counts[node["id"]]
    )
    return Facet(name="category", values=values)


def _text_facet(name: str, rows, selected: str, limit: int, shown) -> Facet:
    """Counts per case-insensitive value (label: its most common spelling), most first."""
    counts: Counter[str] = Counter()
    spellings: dict[str, Counter[str]] = {}
    for row in rows:
        raw = getattr(row, name)
        if not raw:
            continue
        key = raw.lower()
        counts[key] += 1
        if key not in spellings:
            spellings[key] = Counter()
        spellings[key][raw] += 1
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    values = [
        FacetValue(
            value=spellings[key].most_common(1)[0][0],
            label=spellings[key].most_common(1)[0][0],
            count=shown(count),
            selected=bool(selected) and key == selected.lower(),
        )
        for key, count in top
    ]
    if selected and not any(v.selected for v in values):
        values.append(
            FacetValue(
                value=selected,
                label=selected,
                count=shown(counts.get(selected.lower(), 0)),
                selected=True,
            )
        )
    return Facet(name=name, values=tuple(values))


def _condition_facet(rows, filters, shown) -> Facet:
    counts = Counter(row.condition for row in rows)
    values = tuple(
        FacetValue(
            value=value,
            label=str(label),
            count=shown(counts[value]),
            selected=value == filters.condition,
        )
        for value, label in ListingCondition.choices
        if counts[value] or value == filters.condition
    )
    return Facet(name="condition", values=values)


def _price_facet(rows, filters, shown) -> Facet:
    counts: Counter[int] = Counter()
    for row in rows:
        for band, (_value, low, high, _label) in enumerate(PRICE_BANDS):
            if (low is None or row.price >= low) and (high is None or row.price <= high):
                counts[band] += 1
                break  # the bands don't overlap
    values = []
    for band, (value, low, high, label) in enumerate(PRICE_BANDS):
        count = counts[band]
        selected = filters.min_price == low and filters.max_price == high
        if count or selected:
            values.append(
                FacetValue(value=value, label=label, count=shown(count), selected=selected)
            )
    return Facet(name="price", values=tuple(values))


def price_band(value: str) -> tuple[Decimal | None, Decimal | None] | None:
    """(min_price, max_price) of a PRICE_BANDS value, or None if it isn't one."""
    for band, low, high, _label in PRICE_BANDS:
        if band == value:
            return low, high
    return None
