"""The search seam: what the catalog asks a search engine and what it gets back.

Views and selectors speak only these dataclasses; each backend (PostgreSQL full text, the
simple SQLite fallback, Algolia) turns them into its own queries. Nothing here imports a
vendor SDK or touches the database.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from marketplace.models import Category

# "relevance" only means something with a query; without one the browse default is "newest".
SORTS = ("relevance", "newest", "price_asc", "price_desc")


@dataclass(frozen=True)
class ListingFilters:
    """What a shopper asked for (already validated by BrowseForm): the query, the filters
    and the sort. Every backend receives the same dataclass."""

    q: str = ""
    category: "Category | None" = None
    size: str = ""
    brand: str = ""
    condition: str = ""
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    sort: str = "newest"


@dataclass(frozen=True)
class FacetValue:
    """One choice of a facet: `value` goes in the URL (?size=M), `count` matches with it."""

    value: str
    label: str
    count: int
    selected: bool = False


@dataclass(frozen=True)
class Facet:
    """A filter's choices with counts for the current query and the other filters.

    `approximate` says the counts were estimated (from a bounded sample of a very large
    result), so the page shows them as "about".
    """

    name: str  # "category" | "size" | "brand" | "condition" | "price"
    values: tuple[FacetValue, ...]
    approximate: bool = False


@dataclass(frozen=True)
class SearchPage:
    """One page of results: listing ids in display order plus what the page shows around them.

    `total` is exact up to the backend's cap; `total_is_lower_bound` says "1 000+".
    Cursors are opaque strings for ?cursor=; "" means there is no such page.
    """

    ids: tuple[int, ...]
    total: int
    total_is_lower_bound: bool = False
    facets: tuple[Facet, ...] = ()
    next_cursor: str = ""
    previous_cursor: str = ""
    did_you_mean: str = ""
    backend: str = ""
    extra: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Suggestion:
    """A line under the search box: a listing, a brand or a category."""

    kind: str  # "listing" | "brand" | "category"
    label: str
    url: str
    price: Decimal | None = None
    currency: str = ""
    thumbnail_url: str = ""


class SearchBackend(Protocol):
    """A search engine for listings for sale."""

    name: str

    def search(self, filters: ListingFilters, *, cursor: str = "", per_page: int) -> SearchPage:
        """The page of listings for sale matching `filters` at `cursor`, with facets."""
        ...

    def suggest(self, q: str, *, limit: int) -> tuple[Suggestion, ...]:
        """Suggestions for a partly typed query: listings, then brands, then categories."""
        ...

    def index_listings(self, listing_ids: list[int]) -> None:
        """Bring these listings up to date in the index (add, update or remove each one
        according to whether it is for sale now). A no-op for database backends."""
        ...
