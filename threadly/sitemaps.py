"""sitemap.xml for search engines, paginated by Django (docs/seo.md).

It lists exactly the pages threadly.seo lets search engines index: the home and browse pages,
the help centre, every category, the listings marketplace.rules.listing_is_indexable allows
(visible and on sale or reserved; sold, draft, removed, hidden, deleted and banned sellers'
listings drop out) and the shops of active, not banned members with at least one of those.
The views are cached for an hour (threadly/urls.py), so a change shows within the hour.
"""

from datetime import datetime

from django.contrib.sitemaps import Sitemap
from django.db.models import Max, QuerySet
from django.urls import reverse

from accounts.models import User
from marketplace.models import Category, Listing
from threadly.help import PAGES, HelpPage


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
        return Listing.objects.indexable().only("id", "slug", "updated_at").order_by("id")

    def lastmod(self, listing: Listing) -> datetime:
        return listing.updated_at


class SellerSitemap(Sitemap):
    """Shops with something to show; lastmod = their latest listing change."""

    changefreq = "weekly"
    priority = 0.4
    limit = 5000

    def items(self) -> QuerySet[User]:
        return (
            User.objects.filter(
                is_active=True,
                is_banned=False,
                listings__in=Listing.objects.indexable().values("id"),
            )
            .annotate(last_listing_change=Max("listings__updated_at"))
            .only("id", "username")
            .order_by("id")
        )

    def lastmod(self, member: User) -> datetime:
        return member.last_listing_change


class HelpSitemap(Sitemap):
    changefreq = "monthly"
    priority = 0.3

    def items(self) -> list[HelpPage | None]:
        return [None, *PAGES]  # None: the help centre's index

    def location(self, page: HelpPage | None) -> str:
        if page is None:
            return reverse("help:index")
        return reverse("help:page", kwargs={"slug": page.slug})


SITEMAPS = {
    "static": StaticSitemap,
    "categories": CategorySitemap,
    "listings": ListingSitemap,
    "sellers": SellerSitemap,
    "help": HelpSitemap,
}
