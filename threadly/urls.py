from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import include, path
from django.views.decorators.cache import cache_page

from core import pwa
from threadly import help as help_centre
from threadly.sitemaps import SITEMAPS


def robots_txt(request: HttpRequest) -> HttpResponse:
    body = render_to_string("robots.txt", {"site_url": settings.SITE_URL})
    return HttpResponse(body, content_type="text/plain; charset=utf-8")


# A database outage raised outside a view still gets the 503 page, not the 500 (core.outage).
handler500 = "core.outage.server_error"

help_patterns = [
    path("", help_centre.help_index, name="index"),
    path("<slug:slug>/", help_centre.help_page, name="page"),
]

admin.site.site_header = "Threadly admin"
admin.site.site_title = "Threadly admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("robots.txt", robots_txt),
    # The installable app (core.pwa): the worker at the root so its scope is the whole site.
    path("manifest.webmanifest", pwa.manifest, name="pwa_manifest"),
    path("sw.js", pwa.service_worker, name="pwa_service_worker"),
    path("offline/", pwa.offline, name="pwa_offline"),
    path(
        "sitemap.xml",
        cache_page(3600)(sitemap_views.index),
        {"sitemaps": SITEMAPS, "sitemap_url_name": "sitemap-section"},
    ),
    path(
        "sitemap-<section>.xml",
        cache_page(3600)(sitemap_views.sitemap),
        {"sitemaps": SITEMAPS},
        name="sitemap-section",
    ),
    path("help/", include((help_patterns, "help"))),
    # Django tries these in order, and each include that doesn't match costs a Resolver404:
    # the health probes, then the catalogue (most of the traffic), then the rest. No path of
    # one of them matches a route of another (tests/test_urls.py).
    path("", include("ops.urls")),
    path("", include("marketplace.urls")),
    path("", include("accounts.urls")),
    path("", include("orders.urls")),
    path("", include("messaging.urls")),
    path("", include("messaging.realtime.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
