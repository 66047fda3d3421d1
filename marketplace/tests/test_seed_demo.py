"""manage.py seed_demo: documented logins, a category tree, listings with photos; idempotent."""

import pytest
from django.contrib.auth import authenticate
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models import Count

from accounts.models import User
from marketplace.models import Category, Listing, ListingImage

pytestmark = pytest.mark.django_db


def snapshot() -> tuple:
    return (
        list(User.objects.order_by("pk").values_list("pk", "email", "password")),
        list(Category.objects.order_by("pk").values_list("pk", "slug", "parent_id")),
        list(Listing.objects.order_by("pk").values_list("pk", "title", "price", "status")),
        list(ListingImage.objects.order_by("pk").values_list("pk", "image", "position")),
    )


def test_seed_demo_creates_logins_categories_and_listings_with_photos(settings):
    """Default run: the documented accounts, a 2-3 level tree, ~40 listings for sale."""
    call_command("seed_demo", stdout=None)
    for email in [*(f"seller{n}@threadly.test" for n in range(1, 5)), "buyer@threadly.test"]:
        assert authenticate(email=email, username=email, password="threadly-demo") is not None
    admin = User.objects.get(email="admin@threadly.test")
    assert admin.is_superuser
    assert admin.is_staff
    assert User.objects.get(email="seller1@threadly.test").username == "mila.vintage"
    assert User.objects.get(email="seller1@threadly.test").profile.display_name
    assert Category.objects.filter(parent__parent__isnull=False).exists()  # three levels
    assert Listing.objects.for_sale().count() == 40
    image = ListingImage.objects.first()
    assert image.image.name.startswith("listings/demo/")
    assert default_storage.exists(image.image.name)
    assert all(default_storage.exists(v["name"]) for v in image.variants)
    assert not Listing.objects.filter(images__isnull=True).exists()


def test_seed_demo_twice_changes_nothing():
    """A second run leaves every row as it was."""
    call_command("seed_demo", listings=12)
    first = snapshot()
    call_command("seed_demo", listings=12)
    assert snapshot() == first


def test_seed_demo_scales_with_listings_and_shares_photo_files():
    """--listings 300 is quick and reuses the pool of demo photo files."""
    call_command("seed_demo", listings=300)
    assert Listing.objects.count() == 300
    names = set(ListingImage.objects.values_list("image", flat=True))
    assert len(names) <= 24
    assert ListingImage.objects.count() > 300


def test_seed_demo_spreads_a_benchmark_catalogue_over_many_sellers_unevenly():
    """--sellers 50: every listing has a seller with a profile; a few sellers have many items
    and most a handful, as on a real marketplace; a second run adds nobody."""
    call_command("seed_demo", listings=400, sellers=50)
    per_seller = sorted(
        Listing.objects.values("seller").annotate(n=Count("id")).values_list("n", flat=True),
        reverse=True,
    )
    assert len(per_seller) >= 30
    assert per_seller[0] >= 5 * per_seller[len(per_seller) // 2]
    sellers = User.objects.filter(listings__isnull=False).distinct()
    assert not sellers.filter(profile__isnull=True).exists()
    users = User.objects.count()
    call_command("seed_demo", listings=400, sellers=50)
    assert User.objects.count() == users
