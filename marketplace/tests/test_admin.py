"""Admin pages of the catalog and the category-navigation cache."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.tests.factories import UserFactory
from marketplace import selectors
from marketplace.models import Category
from marketplace.tests.factories import CategoryFactory, ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_changelists_and_forms_render(admin_client):
    """Category, Listing (with photos inline, searchable) and Favourite admin pages load."""
    listing = ListingFactory(title="Searchable parka")
    ListingImageFactory(listing=listing)
    for name in ("category", "listing", "favourite"):
        assert admin_client.get(reverse(f"admin:marketplace_{name}_changelist")).status_code == 200
        assert admin_client.get(reverse(f"admin:marketplace_{name}_add")).status_code == 200
    response = admin_client.get(
        reverse("admin:marketplace_listing_changelist"), {"q": listing.seller.username}
    )
    assert "Searchable parka" in response.content.decode()
    response = admin_client.get(reverse("admin:marketplace_listing_change", args=[listing.pk]))
    assert response.status_code == 200
    assert "images-TOTAL_FORMS" in response.content.decode()


def test_admin_listing_filters_by_status_and_hidden(admin_client):
    """The status and is_hidden filters narrow the list."""
    ListingFactory(title="Hidden one", is_hidden=True)
    ListingFactory(title="Plain one")
    body = admin_client.get(
        reverse("admin:marketplace_listing_changelist"), {"is_hidden__exact": "1"}
    ).content.decode()
    assert "Hidden one" in body
    assert "Plain one" not in body


def test_category_changes_invalidate_the_cached_navigation():
    """Saving or deleting a category drops the cached nav, so the header shows the change."""
    CategoryFactory(name="Women", slug="women")
    assert [c["name"] for c in selectors.category_nav()] == ["Women"]
    assert cache.get(selectors.CATEGORY_TREE_CACHE_KEY) is not None
    men = CategoryFactory(name="Men", slug="men")
    assert cache.get(selectors.CATEGORY_TREE_CACHE_KEY) is None
    assert [c["name"] for c in selectors.category_nav()] == ["Men", "Women"]
    selectors.category_tree()
    men.delete()
    assert cache.get(selectors.CATEGORY_TREE_CACHE_KEY) is None
    assert [c["name"] for c in selectors.category_nav()] == ["Women"]
    assert Category.objects.count() == 1
