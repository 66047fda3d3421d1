"""Which listings for sale match a query and filters: the one home of that rule for the
database backends and for `selectors.listings_search` (the saved-search digest), so the
page and the digest agree.

Text matching depends on the database: PostgreSQL full text (pg_sql) or, on SQLite, a
case-insensitive substring match per word (see `simple_text_match`).
"""

from django.db import connection
from django.db.models import Q, QuerySet, TextField, Value
from django.db.models.functions import Concat, Lower, Replace
from django.db.models.lookups import Exact

from marketplace.models import Listing
from marketplace.search import pg_sql
from marketplace.search.base import ListingFilters
from marketplace.search.text import (
    APOSTROPHES,
    has_words,
    lower_without_apostrophes,
    parse,
    prefix_last_word,
)

FACET_FILTERS = frozenset({"size", "brand", "condition", "price"})


def text_match(q: str) -> Q | None:
    """The condition "matches the query `q`" for this database; None when `q` has nothing
    to search for (only quotes, minus signs, punctuation: then everything matches). The
    search page's PostgreSQL backend matches the same rows with planner hints (pg_query)."""
    if not has_words(q):
        return None
    if connection.vendor == "postgresql":
        return Q(pg_sql.text_match_sql(q, prefix=prefix_last_word(q)))
    return simple_text_match(q)


def simple_text_match(q: str) -> Q | None:
    """SQLite: every word or "phrase" of `q` is a substring of the title, brand, category
    names or description (case-insensitive for ASCII, apostrophes ignored); -word excludes;
    `or` gives alternatives. No accent folding, no stemming, no ranking by itself."""
    groups = parse(q, normalise=lower_without_apostrophes)
    if not groups:
        return None
    condition = Q()
    for group in groups:
        both = Q()
        for term in group:
            found = Q(_search_text__contains=term.text)
            both &= ~found if term.negated else found
        condition |= both
    return condition


def lower_without_apostrophes_sql(text) -> Lower:
    """The SQL twin of text.lower_without_apostrophes for a column or expression."""
    for apostrophe in APOSTROPHES:
        text = Replace(text, Value(apostrophe), Value(""), output_field=TextField())
    return Lower(text)


def _search_text() -> Lower:
    text = Concat(
        "title",
        Value(" "),
        "brand",
        Value(" "),
        "category_names",
        Value(" "),
        "description",
        output_field=TextField(),
    )
    return lower_without_apostrophes_sql(text)


def listings_matching(
    filters: ListingFilters,
    *,
    text: Q | None,
    category_ids: list[int] | None,
    skip: frozenset[str] | set[str] = frozenset(),
) -> QuerySet[Listing]:
    """Listings for sale matching `text` (from text_match, or None for all), in
    `category_ids` (a category's subtree, or None for all) and the filters in `filters`
    except those named in `skip` (any of FACET_FILTERS).

    Size and brand compare LOWER(column) with LOWER(value), the expressions the facet indexes
    hold (listing_brand_size_condition, listing_size_condition, listing_condition_brand).
    """
    listings = Listing.objects.for_sale()
    if text is not None:
        # simple_text_match's column; an alias costs nothing where it isn't used.
        listings = listings.alias(_search_text=_search_text()).filter(text)
    if category_ids is not None:
        listings = listings.filter(category_id__in=category_ids)
    return listings.filter(facet_condition(filters, skip=skip))


def facet_condition(filters: ListingFilters, *, skip: frozenset[str] | set[str] = frozenset()) -> Q:
    """The facet filters of `filters` (size, brand, condition, price) but those in `skip`, as
    one condition (Q() when none applies)."""
    condition = Q()
    if filters.size and "size" not in skip:
        condition &= Q(Exact(Lower("size"), Lower(Value(filters.size))))
    if filters.brand and "brand" not in skip:
        condition &= Q(Exact(Lower("brand"), Lower(Value(filters.brand))))
    if filters.condition and "condition" not in skip:
        condition &= Q(condition=filters.condition)
    if "price" not in skip:
        if filters.min_price is not None:
            condition &= Q(price__gte=filters.min_price)
        if filters.max_price is not None:
            condition &= Q(price__lte=filters.max_price)
    return condition
