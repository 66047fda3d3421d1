"""Structured data and indexing hints in catalog pages' <head> (presentation only: the data
comes from marketplace.seo, the rule from marketplace.rules)."""

from django import template
from django.utils.safestring import SafeString

from core.jsonld import json_ld_script
from marketplace import seo
from marketplace.models import Category, Listing
from marketplace.rules import listing_is_indexable

register = template.Library()


@register.simple_tag(takes_context=True)
def listing_structured_data(context: template.Context, listing: Listing, images) -> SafeString:
    """Product (+ Offer) and BreadcrumbList blocks for a listing page."""
    absolute = context["request"].build_absolute_uri
    return json_ld_script(
        seo.listing_product(listing, images=images, absolute=absolute)
    ) + json_ld_script(seo.listing_breadcrumbs(listing, absolute=absolute))


@register.simple_tag(takes_context=True)
def category_structured_data(context: template.Context, category: Category) -> SafeString:
    """BreadcrumbList block for a category page: Home › Women › Tops."""
    absolute = context["request"].build_absolute_uri
    return json_ld_script(seo.breadcrumb_list(seo.category_crumbs(category), absolute=absolute))


@register.simple_tag(takes_context=True)
def absolute_url(context: template.Context, url: str) -> str:
    """`url` (a path, or already absolute on a CDN) as an absolute URL, for share previews."""
    return context["request"].build_absolute_uri(url) if url else ""


@register.filter
def indexable(listing: Listing) -> bool:
    """Search engines may index this listing's page (marketplace.rules.listing_is_indexable)."""
    return listing_is_indexable(listing)
