"""The admin, as a scanner with a staff login would see it."""

import pytest
from django.urls import reverse

from accounts.tests.factories import UserFactory
from marketplace.tests.factories import (
    ListingFactory,
)
from tests.robustness.world import XSS, assert_escaped, assert_no_crash

pytestmark = pytest.mark.django_db


# --- The admin, as a scanner with a staff login would see it --------------------------------
def _admin_changelists() -> list[str]:
    from django.contrib import admin

    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


def test_admin_requires_staff(world):
    """Anonymous visitors and plain members are sent to the admin login, never a changelist."""
    for role in ("anonymous", "stranger"):
        client = world.client(role)
        for url in _admin_changelists():
            response = client.get(url)
            assert response.status_code == 302, (role, url, response.status_code)
            assert response["Location"].startswith("/admin/login/")


ADMIN_HOSTILE_QUERIES = [
    {"q": "' OR 1=1 --"},
    {"q": XSS},
    {"q": "\x00"},
    {"q": "A" * 5000},
    {"p": "abc"},
    {"p": "-1"},
    {"o": "abc"},
    {"o": "99.-99"},
    {"status__exact": "<x>"},
    {"id__gt": "abc"},
    {"seller__id__exact": "NaN"},
    {"created_at__gte": "not-a-date"},
    {"_to_field": "password"},
]


def test_admin_changelists_survive_hostile_queries(world):
    """Every admin changelist with hostile search, ordering, paging and lookups: no 500."""
    client = world.client("staff")
    for query in ADMIN_HOSTILE_QUERIES:
        for url in _admin_changelists():
            response = client.get(url, query)
            assert_no_crash(response, f"admin {url} {query}")
            assert_escaped(response, XSS, url)


def test_admin_change_pages_with_bogus_ids_never_500(world):
    """Change / delete / history pages with ids that don't exist or aren't numbers: no 500."""
    from django.contrib import admin

    client = world.client("staff")
    for model in admin.site._registry:
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for object_id in ("999999", "abc", "%00", "-1", "99999999999999999999999"):
            for view in ("change", "delete", "history"):
                url = reverse(f"{info}_{view}", kwargs={"object_id": "0"}).replace(
                    "/0/", f"/{object_id}/"
                )
                response = client.get(url)
                assert_no_crash(response, f"admin {url}")


def test_sitemap_lists_only_listings_for_sale(world):
    """Drafts, hidden, deleted and banned sellers' listings never reach sitemap.xml."""
    from django.utils import timezone

    hidden = ListingFactory(seller=world.owner, title="Hidden", is_hidden=True)
    deleted = ListingFactory(seller=world.owner, title="Deleted", deleted_at=timezone.now())
    banned = ListingFactory(seller=UserFactory(is_seller=True, is_banned=True), title="Banned")
    response = world.client("anonymous").get("/sitemap-listings.xml")
    body = response.content.decode()
    assert response.status_code == 200
    assert world.listing.get_absolute_url() in body
    for listing in (world.draft, hidden, deleted, banned):
        assert f"/items/{listing.pk}-" not in body, listing.title
