"""The "Save this search" control of the browse page (marketplace/_save_search.html)."""

from django import template

from marketplace import saved_query
from marketplace.search.base import ListingFilters

register = template.Library()


@register.simple_tag(takes_context=True)
def save_search_control(context) -> dict | None:
    """What the control posts for the page's search: {"fields": [(name, value)],
    "default_name": str}; None when the page has no filter to save.

    Reads the page's validated `filters` (ListingFilters); without them, the known browse
    parameters of the URL (the service validates whatever is posted).
    """
    filters = context.get("filters")
    if isinstance(filters, ListingFilters):
        params = saved_query.params_from_filters(filters)
        names = {filters.category.slug: filters.category.name} if filters.category else {}
    else:
        request = context.get("request")
        query = request.GET if request is not None else {}
        params = {
            name: " ".join(query.get(name, "").split())
            for name in saved_query.FILTER_PARAMS
            if query.get(name, "").strip()
        }
        category = context.get("category")
        names = {}
        if category is not None and getattr(category, "slug", ""):
            params["category"] = category.slug
            names = {category.slug: category.name}
    if not params:
        return None
    ordered = [(name, params[name]) for name in saved_query.FILTER_PARAMS if name in params]
    return {
        "fields": ordered,
        "default_name": saved_query.default_name(params, category_names=names),
    }
