"""sitemap.xml for search engines: categories and listings for sale, paginated by Django."""

from django.contrib.sitemaps import Sitemap
from django.db.models import QuerySet
from django.urls import reverse

from marketplace.models import Category, Listing


class StaticSitemap(Sitemap):
    changefreq = "daily"
    priority = 0.8

    def items(self) -> list[str]:
        return ["marketplace:home", "marketplace:browse"]

    def location(self, item: str) -> str:
        return reverse(item)


class CategorySitemap(Sitemap):
    changefreq = "daily"
    priority = 0.6

    def items(self) -> QuerySet[Category]:
        return Category.objects.only("slug").order_by("id")


class ListingSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.5
    limit = 5000

    def items(self) -> QuerySet[Listing]:
        return Listing.objects.for_sale().only("id", "slug", "updated_at").order_by("id")

    def lastmod(self, listing: Listing):
        return listing.updated_at


SITEMAPS = {"static": StaticSitemap, "categories": CategorySitemap, "listings": ListingSitemap}
