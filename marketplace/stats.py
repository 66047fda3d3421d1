"""Catalog figures for the dashboards (reads only; ops' staff dashboard and the seller's)."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, Sum

from accounts.models import User
from marketplace.models import Favourite, Listing

TOP_LISTINGS = 10


@dataclass(frozen=True)
class CatalogActivity:
    new_listings: int
    favourites: int


@dataclass(frozen=True)
class SellerCatalog:
    listings: int
    active: int
    views: int
    favourites: int
    top_listings: list[tuple[str, int]]  # (title, views), most viewed first


def catalog_activity(*, since: datetime) -> CatalogActivity:
    """Listings created and favourites given since `since`."""
    return CatalogActivity(
        new_listings=Listing.objects.filter(created_at__gte=since).count(),
        favourites=Favourite.objects.filter(created_at__gte=since).count(),
    )


def seller_catalog(*, seller: User) -> SellerCatalog:
    """One seller's listings (not deleted), their views and favourites, all time."""
    listings = Listing.objects.filter(seller=seller, deleted_at__isnull=True)
    totals = listings.aggregate(
        n=Count("id"),
        active=Count("id", filter=Q(status=Listing.Status.ACTIVE)),
        views=Sum("view_count"),
    )
    top = listings.order_by("-view_count", "-id").values_list("title", "view_count")
    return SellerCatalog(
        listings=totals["n"] or 0,
        active=totals["active"] or 0,
        views=totals["views"] or 0,
        favourites=Favourite.objects.filter(listing__seller=seller).count(),
        top_listings=list(top[:TOP_LISTINGS]),
    )
