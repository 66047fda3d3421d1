"""A saved search's filters as text: the known browse parameters, the one normalised query
string SavedSearch stores (and judges duplicates on), and a short summary for people.

Pure functions: no database, no forms. Validation is BrowseForm's job (the services pass its
ListingFilters here); this module only decides how valid filters are written down.
"""

from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils.translation import gettext as _

from marketplace.models import ListingCondition
from marketplace.search.base import ListingFilters
from marketplace.templatetags.catalog import money

# The browse parameters a saved search keeps, in the order its query string lists them.
# The sort and the page are how results are shown, not what is searched for.
FILTER_PARAMS = ("q", "category", "size", "brand", "condition", "min_price", "max_price")
SUMMARY_SEPARATOR = " · "
NAME_MAX_LENGTH = 80


def _words(value: str) -> str:
    return " ".join((value or "").split())


def _amount(value: Decimal | None) -> str:
    """Decimal("50.00") -> "50", Decimal("12.50") -> "12.5" (one spelling per amount)."""
    if value is None:
        return ""
    return format(value.normalize(), "f")


def _price(amount: str) -> str:
    """ "50" -> "€50", "12.5" -> "€12.50" (whole amounts without cents, as people say them)."""
    text = money(Decimal(amount))
    return text.removesuffix(".00").removesuffix(",00")


def params_from_filters(filters: ListingFilters) -> dict[str, str]:
    """The non-empty filters of `filters` (already validated) as normalised strings.

    Whitespace is collapsed; the query is lower-cased (every search backend matches it
    case-insensitively), so "Levis " and "levis" are the same saved search.
    """
    params = {
        "q": _words(filters.q).lower(),
        "category": filters.category.slug if filters.category is not None else "",
        "size": _words(filters.size),
        "brand": _words(filters.brand),
        "condition": filters.condition or "",
        "min_price": _amount(filters.min_price),
        "max_price": _amount(filters.max_price),
    }
    return {name: value for name, value in params.items() if value}


def query_string(params: Mapping[str, str]) -> str:
    """ "q=levis&size=M&max_price=50": the known, non-empty params in FILTER_PARAMS order."""
    return urlencode([(name, params[name]) for name in FILTER_PARAMS if params.get(name)])


def parse_query(query: str) -> dict[str, str]:
    """The known, non-empty params of a stored query string (the inverse of query_string)."""
    data = QueryDict(query)
    return {name: data[name] for name in FILTER_PARAMS if data.get(name)}


def summary(params: Mapping[str, str], *, category_names: Mapping[str, str]) -> str:
    """ "levis · Jeans · M · under €50": what a saved search filters on, for its default name
    and the list of saved searches. `category_names` maps slugs to names."""
    parts = []
    if params.get("q"):
        parts.append(params["q"])
    if params.get("category"):
        parts.append(category_names.get(params["category"], params["category"]))
    if params.get("brand"):
        parts.append(params["brand"])
    if params.get("size"):
        parts.append(params["size"])
    if params.get("condition") in ListingCondition.values:
        parts.append(str(ListingCondition(params["condition"]).label))
    low, high = params.get("min_price"), params.get("max_price")
    if low and high:
        parts.append(f"{_price(low)}–{_price(high)}")
    elif high:
        parts.append(_("under %(price)s") % {"price": _price(high)})
    elif low:
        parts.append(_("from %(price)s") % {"price": _price(low)})
    return SUMMARY_SEPARATOR.join(parts)


def default_name(params: Mapping[str, str], *, category_names: Mapping[str, str]) -> str:
    """The summary, cut to fit a saved search's name."""
    text = summary(params, category_names=category_names) or _("My search")
    if len(text) > NAME_MAX_LENGTH:
        text = text[: NAME_MAX_LENGTH - 1].rstrip() + "…"
    return text
