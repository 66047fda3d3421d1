"""Links of the browse/search page: what each facet value, chip and page link points to.

Presentation only: the search result (SearchPage) and the valid filters come in, lists of
{"label", "url", ...} go to the template. Every link drops ?cursor= (a new filter starts
at the first page) unless it is a page link.
"""

from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from marketplace.forms import BrowseForm
from marketplace.models import Category, Listing, category_url
from marketplace.search import Facet, SearchPage
from marketplace.search.facets import price_band
from marketplace.templatetags.catalog import SYMBOLS

FILTER_PARAMS = ("q", "category", "size", "brand", "condition", "min_price", "max_price", "sort")
FACET_TITLES = {
    "category": gettext_lazy("Category"),
    "size": gettext_lazy("Size"),
    "brand": gettext_lazy("Brand"),
    "condition": gettext_lazy("Condition"),
    "price": gettext_lazy("Price"),
}


def query_string(request: HttpRequest, *, drop: tuple[str, ...] = (), **values: str) -> str:
    """ "?…" of the current filters without `drop` and "cursor", with `values` set ("" for
    none: a bare "?", a link to the page without filters)."""
    params = {
        name: request.GET.get(name, "")
        for name in FILTER_PARAMS
        if name not in drop and request.GET.get(name)
    }
    params.update(values)
    params = {name: value for name, value in params.items() if value}
    return f"?{urlencode(params)}" if params else "?"


def active_filter_chips(request: HttpRequest, form: BrowseForm) -> list[dict]:
    """One removable chip per valid filter in use: label + the URL without it."""
    data = getattr(form, "cleaned_data", {})
    labels = {
        "q": _("“%s”"),
        "category": _("Category: %s"),
        "size": _("Size: %s"),
        "brand": _("Brand: %s"),
        "condition": _("Condition: %s"),
        "min_price": _("From %s"),
        "max_price": _("Up to %s"),
    }
    chips = []
    for name, label in labels.items():
        value = data.get(name)
        if value in (None, ""):
            continue
        shown = value
        if name == "condition":
            shown = Listing.Condition(value).label
        elif name == "category" and form.category_obj is not None:
            shown = form.category_obj.name
        chips.append({"label": label % shown, "url": query_string(request, drop=(name,))})
    return chips


def facet_links(
    request: HttpRequest, facets: tuple[Facet, ...], *, category: Category | None
) -> list[dict]:
    """Each facet as {"name", "title", "approximate", "values": [{"label", "count", "url",
    "selected"}]}; a value's URL adds it (or, when selected, removes it)."""
    shown = []
    for facet in facets:
        values = []
        for value in facet.values:
            url = _value_url(request, facet.name, value.value, value.selected, category)
            if url is None:
                continue
            values.append(
                {
                    "label": _price_label(value.value) if facet.name == "price" else value.label,
                    "count": value.count,
                    "url": url,
                    "selected": value.selected,
                }
            )
        if values:
            shown.append(
                {
                    "name": facet.name,
                    "title": FACET_TITLES.get(facet.name, facet.name),
                    "approximate": facet.approximate,
                    "values": values,
                }
            )
    return shown


def _price_label(value: str) -> str:
    """ "Under €10", "€10 to €25", "€100 and more" (the site's currency)."""
    band = price_band(value)
    if band is None:
        return value
    low, high = band

    def shown(amount: Decimal) -> str:  # whole amounts: the bands' edges are round
        symbol = SYMBOLS.get(settings.CURRENCY)
        return f"{symbol}{amount:.0f}" if symbol else f"{amount:.0f} {settings.CURRENCY}"

    if low is None:
        return _("Under %(price)s") % {"price": shown(high + Decimal("0.01"))}
    if high is None:
        return _("%(price)s and more") % {"price": shown(low)}
    return _("%(low)s to %(high)s") % {"low": shown(low), "high": shown(high + Decimal("0.01"))}


def _value_url(
    request: HttpRequest, name: str, value: str, selected: bool, category: Category | None
) -> str | None:
    if name == "category":
        # A child category: its own page, keeping the other filters.
        path = category_url(value)
        return path + query_string(request, drop=("category",))
    if name == "price":
        band = price_band(value)
        if band is None:
            return None
        if selected:
            return query_string(request, drop=("min_price", "max_price"))
        low, high = band
        return query_string(
            request,
            min_price=str(low) if low is not None else "",
            max_price=str(high) if high is not None else "",
        )
    if selected:
        return query_string(request, drop=(name,))
    return query_string(request, **{name: value})


def page_links(request: HttpRequest, results: SearchPage) -> dict:
    """{"next": url or "", "previous": url or ""} for the page's cursors."""
    base = query_string(request)
    joiner = "" if base == "?" else "&"

    def link(cursor: str) -> str:
        return f"{base}{joiner}{urlencode({'cursor': cursor})}" if cursor else ""

    return {"next": link(results.next_cursor), "previous": link(results.previous_cursor)}


def results_label(results: SearchPage) -> str:
    """ "1 000+ results", "124 results", "1 result"."""
    count = f"{results.total:,}".replace(",", "\u00a0")
    if results.total_is_lower_bound:
        return _("%(count)s+ results") % {"count": count}
    return ngettext("%(count)s result", "%(count)s results", results.total) % {"count": count}


def did_you_mean_url(request: HttpRequest, results: SearchPage) -> str:
    if not results.did_you_mean:
        return ""
    return query_string(request, q=results.did_you_mean)
