"""Catalog pages. Thin: parse input with a form, call a service or selectors, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from core.http import safe_next_url
from core.page_cache import cacheable_view
from marketplace import browsing, page_cache, selectors, selectors_follows, services
from marketplace.exceptions import MarketplaceError
from marketplace.forms import (
    BrowseForm,
    ImagesAddForm,
    ImagesOrderForm,
    ListingCreateForm,
    ListingForm,
    SavedSearchForm,
)
from marketplace.listing_parts import listing_parts
from marketplace.models import Listing
from marketplace.search import get_backend
from marketplace.search.suggestions import search_suggestions


def _form_error(error: Exception) -> ValidationError | str:
    return error if isinstance(error, ValidationError) else str(error)


def _paginate(request: HttpRequest, items, per_page: int | None = None) -> Page:
    """Page `?page=` of `items`; a bad number gives page 1, a number past the end the last."""
    paginator = Paginator(items, per_page or settings.LISTINGS_PER_PAGE)
    return paginator.get_page(request.GET.get("page"))


@cacheable_view
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    response = render(
        request,
        "marketplace/home.html",
        {
            "new_in": selectors.listings_new_in(limit=12),
            "categories": selectors.category_nav(),
        },
    )
    return page_cache.catalogue_page(response)


def _browse(request: HttpRequest, *, category=None) -> HttpResponse:
    """The search results page: /browse/?q=… and /c/<slug>/?…, one template for both.

    Form -> ListingFilters -> the search backend (ids of one page, facets, cursors) -> the
    page's listings by id in a constant number of queries -> render.
    """
    form = BrowseForm(request.GET or None, category=category)
    if form.is_bound:
        form.is_valid()  # invalid fields are listed in form.errors and ignored
    filters = form.filters()
    results = get_backend().search(
        filters,
        cursor=request.GET.get("cursor", ""),
        per_page=settings.LISTINGS_PER_PAGE,
    )
    form.show_facets(results.facets)
    listings = selectors.listing_cards(results.ids)
    context = {
        "form": form,
        "filters": filters,
        "category": category,
        "results": results,
        "listings": listings,
        "results_label": browsing.results_label(results),
        "facets": browsing.facet_links(request, results.facets, category=category),
        "pages": browsing.page_links(request, results),
        "did_you_mean_url": browsing.did_you_mean_url(request, results),
        "chips": browsing.active_filter_chips(request, form),
        "clear_url": category.get_absolute_url() if category else reverse("marketplace:browse"),
        "popular_brands": selectors.brands_popular() if not listings else [],
        "popular_categories": selectors.category_nav() if not listings else [],
    }
    if request.htmx and not request.htmx.boosted:
        response = render(request, "marketplace/browse.html#results", context)
    else:
        response = render(request, "marketplace/browse.html", context)
    # The same URL answers with a fragment or a page: caches must keep them apart.
    patch_vary_headers(response, ("HX-Request",))
    return page_cache.catalogue_page(response)


@cacheable_view
@require_safe
def browse(request: HttpRequest) -> HttpResponse:
    return _browse(request)


@cacheable_view
@require_safe
def category(request: HttpRequest, slug: str) -> HttpResponse:
    return _browse(request, category=selectors.category_get(slug=slug))


@cacheable_view
@require_safe
def listing_detail(request: HttpRequest, pk: int, slug: str) -> HttpResponse:
    listing = selectors.listing_for_detail(listing_id=pk, viewer=request.user)
    if slug != listing.slug:
        return HttpResponseRedirect(listing.get_absolute_url(), status=301)
    services.listing_record_view(listing=listing, viewer=request.user)
    is_owner = request.user.is_authenticated and request.user.pk == listing.seller_id
    canonical_url = request.build_absolute_uri(listing.get_absolute_url())
    parts = listing_parts(
        request=request,
        listing=listing,
        seller_active_count=selectors.seller_active_listing_count(seller=listing.seller),
        canonical_url=canonical_url,
    )
    response = render(
        request,
        "marketplace/listing_detail.html",
        {
            "listing": listing,
            "parts": parts,
            "seller": listing.seller,
            "is_owner": is_owner,
            "actions": services.listing_actions(listing, request.user),
            "is_favourited": selectors.is_favourited(user=request.user, listing_id=listing.pk),
            "is_following": selectors_follows.is_following(
                viewer=request.user, seller_id=listing.seller_id
            ),
            "canonical_url": canonical_url,
        },
    )
    return page_cache.listing_page(response, listing_id=listing.pk, seller_id=listing.seller_id)


@cacheable_view
@require_safe
def seller(request: HttpRequest, username: str) -> HttpResponse:
    member = selectors_follows.seller_for_page(username=username, viewer=request.user)
    page = selectors.seller_listings_page(
        seller=member, cursor=request.GET.get("cursor", ""), per_page=settings.LISTINGS_PER_PAGE
    )
    response = render(
        request,
        "marketplace/seller.html",
        {
            "member": member,
            "page": page,
            "pages": page.links(request),
            "active_count": selectors.seller_active_listing_count(seller=member),
            # The handle is matched case-insensitively: one canonical spelling.
            "canonical_url": request.build_absolute_uri(member.get_absolute_url()),
        },
    )
    return page_cache.seller_page(response, seller_id=member.pk)


@login_required
def my_listings(request: HttpRequest) -> HttpResponse:
    page = selectors.my_listings_page(
        seller=request.user,
        cursor=request.GET.get("cursor", ""),
        per_page=settings.LISTINGS_PER_PAGE,
    )
    rows = [(listing, services.listing_actions(listing, request.user)) for listing in page]
    return render(
        request,
        "marketplace/my_listings.html",
        {"page": page, "pages": page.links(request), "rows": rows},
    )


@login_required
def favourites(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "marketplace/favourites.html",
        {"page": _paginate(request, selectors.favourites_of(user=request.user))},
    )


@login_required
def listing_create(request: HttpRequest) -> HttpResponse:
    form = ListingCreateForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        publish = request.POST.get("action") != "draft"
        try:
            listing = services.listing_create(
                seller=request.user,
                images=form.cleaned_data["images"],
                publish=publish,
                details=form.details(),
            )
        except (MarketplaceError, ValidationError) as error:
            form.add_error(None, _form_error(error))
        else:
            if publish:
                messages.success(request, _("Your item is on sale."))
                return redirect(listing.get_absolute_url())
            messages.success(request, _("Saved as a draft."))
            return redirect("marketplace:listing_edit", pk=listing.pk)
    return render(request, "marketplace/listing_form.html", {"form": form, "listing": None})


def _edit_context(request: HttpRequest, listing: Listing, **forms) -> dict:
    images = selectors.listing_images(listing=listing)
    order_form = forms.get("order_form") or ImagesOrderForm(images=images)
    return {
        "listing": listing,
        "actions": services.listing_actions(listing, request.user),
        "images": images,
        "form": forms.get("form")
        or ListingForm(held=listing.held_quantity, initial=ListingForm.initial_for(listing)),
        "add_form": forms.get("add_form") or ImagesAddForm(existing=len(images)),
        "order_form": order_form,
        "photo_rows": list(zip(images, order_form, strict=False)),
        "max_images": settings.LISTING_IMAGES_MAX,
    }


@login_required
def listing_edit(request: HttpRequest, pk: int) -> HttpResponse:
    listing = services.access_listing_for_seller(user=request.user, listing_id=pk)
    form = None
    if request.method == "POST":
        form = ListingForm(request.POST, held=listing.held_quantity)
        if form.is_valid():
            try:
                services.listing_update(
                    user=request.user, listing_id=listing.pk, details=form.details()
                )
            except MarketplaceError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Your changes are saved."))
                return redirect("marketplace:listing_edit", pk=listing.pk)
    context = _edit_context(request, listing, form=form)
    return render(request, "marketplace/listing_edit.html", context)


@login_required
@require_POST
def listing_images_add(request: HttpRequest, pk: int) -> HttpResponse:
    listing = services.access_listing_for_seller(user=request.user, listing_id=pk)
    existing = len(selectors.listing_images(listing=listing))
    add_form = ImagesAddForm(request.POST, request.FILES, existing=existing)
    if add_form.is_valid():
        try:
            services.listing_images_add(
                user=request.user, listing_id=listing.pk, images=add_form.cleaned_data["images"]
            )
        except (MarketplaceError, ValidationError) as error:
            add_form.add_error(None, _form_error(error))
        else:
            messages.success(request, _("Photos added."))
            return redirect("marketplace:listing_edit", pk=listing.pk)
    context = _edit_context(request, listing, add_form=add_form)
    return render(request, "marketplace/listing_edit.html", context)


@login_required
@require_POST
def listing_images_reorder(request: HttpRequest, pk: int) -> HttpResponse:
    listing = services.access_listing_for_seller(user=request.user, listing_id=pk)
    images = selectors.listing_images(listing=listing)
    order_form = ImagesOrderForm(request.POST, images=images)
    if order_form.is_valid():
        try:
            services.listing_images_reorder(
                user=request.user, listing_id=listing.pk, image_ids=order_form.ordered_ids()
            )
        except MarketplaceError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Photo order saved."))
        return redirect("marketplace:listing_edit", pk=listing.pk)
    context = _edit_context(request, listing, order_form=order_form)
    return render(request, "marketplace/listing_edit.html", context)


@login_required
@require_POST
def listing_image_remove(request: HttpRequest, pk: int, image_pk: int) -> HttpResponse:
    try:
        services.listing_image_remove(user=request.user, listing_id=pk, image_id=image_pk)
    except MarketplaceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Photo removed."))
    return redirect("marketplace:listing_edit", pk=pk)


LISTING_ACTIONS = {
    "publish": (services.listing_publish, _("Your item is on sale.")),
    "unpublish": (services.listing_unpublish, _("Your item is back in drafts.")),
    "mark_sold": (services.listing_mark_sold, _("Marked as sold.")),
    "delete": (services.listing_delete, _("Listing deleted.")),
}


@login_required
@require_POST
def listing_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """publish / unpublish / mark_sold / delete, from "My listings" or the edit page."""
    service, done = LISTING_ACTIONS[action]
    try:
        service(user=request.user, listing_id=pk)
    except MarketplaceError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done)
    return redirect(safe_next_url(request, reverse("marketplace:my_listings")))


@login_required
@require_POST
def favourite_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Save (favourite=1) or forget (favourite=0) a listing; htmx swaps the button."""
    save = request.POST.get("favourite", "1") == "1"
    try:
        if save:
            services.favourite_add(user=request.user, listing_id=pk)
        else:
            services.favourite_remove(user=request.user, listing_id=pk)
    except MarketplaceError as error:
        if request.htmx:
            return HttpResponse(str(error), status=409)
        messages.error(request, str(error))
    if request.htmx:
        return render(
            request,
            "marketplace/components.html#favourite_button",
            {"listing_pk": pk, "is_favourited": save, "next_url": request.POST.get("next", "")},
        )
    return redirect(safe_next_url(request, reverse("marketplace:favourites")))


SUGGEST_MIN_CHARS = 2
SUGGEST_MAX_CHARS = 100
SUGGEST_LIMIT = 8
SUGGEST_CACHE_SECONDS = 60


@require_safe
def search_suggest(request: HttpRequest) -> JsonResponse:
    """Suggestions for the header search box as the shopper types: listings, then brands,
    then categories, as JSON. The same for everyone (only items for sale), so the answer is
    cached for a minute and may be cached by the browser and any proxy."""
    q = " ".join(request.GET.get("q", "").split())[:SUGGEST_MAX_CHARS]
    suggestions = (
        search_suggestions(q=q, limit=SUGGEST_LIMIT) if len(q) >= SUGGEST_MIN_CHARS else []
    )
    response = JsonResponse({"query": q, "suggestions": suggestions})
    patch_cache_control(response, public=True, max_age=SUGGEST_CACHE_SECONDS)
    return response


def _saved_search_create(request: HttpRequest) -> HttpResponse:
    """Save the browse page's search (POSTed as its browse parameters plus `name`)."""
    back = safe_next_url(request, reverse("marketplace:browse"))
    if not request.user.is_authenticated:
        return redirect_to_login(back)
    form = SavedSearchForm(request.POST)
    saved_search, created, error = None, False, ""
    if not form.is_valid():
        error = " ".join(form.errors.get("name", [])) or _("Check the name and try again.")
    else:
        try:
            saved_search, created = services.saved_search_create(
                user=request.user, params=request.POST, name=form.cleaned_data["name"]
            )
        except MarketplaceError as exc:
            error = str(exc)
    if request.htmx:
        return render(
            request,
            "marketplace/_save_search.html#control",
            {"saved_search": saved_search, "created": created, "save_error": error},
        )
    if error:
        messages.error(request, error)
    elif created:
        messages.success(
            request,
            _("Search saved as “%(name)s”. We'll email you new items once a day.")
            % {"name": saved_search.name},
        )
    else:
        messages.info(
            request, _("You already saved this search as “%(name)s”.") % {"name": saved_search.name}
        )
    return redirect(back)


@require_http_methods(["GET", "HEAD", "POST"])
def saved_searches(request: HttpRequest) -> HttpResponse:
    """GET: the member's saved searches. POST: save the search of the browse page; htmx swaps
    the control to "Saved ✓", without JavaScript the shopper is sent back to the search."""
    if request.method == "POST":
        return _saved_search_create(request)
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return render(
        request,
        "marketplace/saved_searches.html",
        {"searches": selectors.saved_searches_of(user=request.user)},
    )


@login_required
@require_POST
def saved_search_delete(request: HttpRequest, pk: int) -> HttpResponse:
    search = services.saved_search_delete(user=request.user, saved_search_id=pk)
    messages.success(request, _("Deleted the saved search “%(name)s”.") % {"name": search.name})
    return redirect("marketplace:saved_searches")
