"""The listing page reads its category path from the cached category tree (no joins)."""

import pytest
from django.core.cache import cache

from marketplace import selectors
from marketplace.tests.factories import CategoryFactory, ListingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tshirt():
    women = CategoryFactory(name="Women", slug="women")
    tops = CategoryFactory(name="Tops", slug="women-tops", parent=women)
    tees = CategoryFactory(name="T-shirts", slug="women-tees", parent=tops)
    return ListingFactory(title="Striped tee", category=tees)


def test_category_with_parents_builds_the_path_from_the_cached_tree(
    tshirt, django_assert_num_queries
):
    """The category and its parents up to the root, without a query once the tree is cached."""
    selectors.category_tree()
    with django_assert_num_queries(0):
        category = selectors.category_with_parents(tshirt.category_id)
        names = [category.name, category.parent.name, category.parent.parent.name]
        assert category.parent.parent.parent is None
    assert names == ["T-shirts", "Tops", "Women"]
    assert category.parent.get_absolute_url() == "/c/women-tops/"
    assert selectors.category_with_parents(10**9) is None


def test_listing_page_shows_breadcrumbs_and_structured_data_from_the_tree(client, tshirt):
    """Breadcrumb links and the BreadcrumbList name every level of the listing's category."""
    body = client.get(tshirt.get_absolute_url()).content.decode()
    assert '<a href="/c/women-tops/">Tops</a>' in body
    assert '<a href="/c/women-tees/">T-shirts</a>' in body
    for name in ("Women", "Tops", "T-shirts", "Striped tee"):
        assert f'"name": "{name}"' in body or f'"name":"{name}"' in body


def test_listing_page_loads_a_category_the_cached_tree_misses(client, tshirt):
    """A category added after the tree was cached (and not yet dropped) is read from the
    database: the page still shows its path."""
    cache.set(selectors.CATEGORY_TREE_CACHE_KEY, [], 3600)
    body = client.get(tshirt.get_absolute_url()).content.decode()
    assert '<a href="/c/women-tops/">Tops</a>' in body
    assert '<a href="/c/women-tees/">T-shirts</a>' in body
