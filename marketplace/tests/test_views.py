"""Catalog pages: what shoppers and sellers see and can do."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from accounts.tests.factories import UserFactory
from marketplace.models import Favourite, Listing, ListingImage
from marketplace.tests.conftest import jpeg_upload
from marketplace.tests.factories import CategoryFactory, ListingFactory, ListingImageFactory

pytestmark = pytest.mark.django_db


def listing_post_data(category, **overrides) -> dict:
    return {
        "title": "Linen shirt",
        "category": str(category.pk),
        "description": "Breezy.",
        "brand": "COS",
        "size": "L",
        "condition": Listing.Condition.GOOD,
        "colour": "White",
        "price": "19.50",
        "shipping_price": "3.00",
        "quantity": "1",
        **overrides,
    }


# --- Home, browse, category ----------------------------------------------------------------


def test_home_shows_new_in_and_categories(client, category):
    """The home page lists the latest items for sale and links top categories."""
    listing = ListingFactory(title="Corduroy trousers", category=category, with_image=True)
    ListingFactory(title="Secret draft", draft=True)
    body = client.get(reverse("marketplace:home")).content.decode()
    assert "Corduroy trousers" in body
    assert listing.get_absolute_url() in body
    assert "Secret draft" not in body
    assert category.get_absolute_url() in body


def test_browse_filters_by_query_brand_size_condition_and_price(client):
    """Each filter narrows the results; chips show what is active."""
    ListingFactory(title="Red dress", brand="Zara", size="S", price=Decimal("10"))
    ListingFactory(title="Blue dress", brand="Mango", size="M", price=Decimal("40"))
    ListingFactory(
        title="Green coat", brand="Zara", size="S", condition=Listing.Condition.FAIR, price=80
    )
    url = reverse("marketplace:browse")

    def titles(**params) -> list[str]:
        response = client.get(url, params)
        return sorted(listing.title for listing in response.context["listings"])

    assert titles(q="dress") == ["Blue dress", "Red dress"]
    assert titles(brand="zara") == ["Green coat", "Red dress"]
    assert titles(size="m") == ["Blue dress"]
    assert titles(condition="fair") == ["Green coat"]
    assert titles(min_price="20", max_price="50") == ["Blue dress"]
    response = client.get(url, {"brand": "Zara", "size": "S"})
    assert [chip["label"] for chip in response.context["chips"]] == ["Size: S", "Brand: Zara"]
    assert response.context["chips"][0]["url"] == "?brand=Zara"


def test_browse_sorts_by_price_and_newest(client):
    """sort=price_asc / price_desc / newest order the results."""
    cheap = ListingFactory(price=Decimal("5"))
    dear = ListingFactory(price=Decimal("90"))
    mid = ListingFactory(price=Decimal("30"))
    url = reverse("marketplace:browse")

    def order(sort: str) -> list[int]:
        return [item.pk for item in client.get(url, {"sort": sort}).context["listings"]]

    assert order("price_asc") == [cheap.pk, mid.pk, dear.pk]
    assert order("price_desc") == [dear.pk, mid.pk, cheap.pk]
    assert order("newest") == [mid.pk, dear.pk, cheap.pk]


def test_browse_bad_filter_values_are_reported_and_ignored(client):
    """Garbage in the query string gives a message, never a 500, and the rest still applies."""
    ListingFactory(brand="Zara")
    ListingFactory(brand="Mango")
    response = client.get(
        reverse("marketplace:browse"),
        {
            "min_price": "cheap",
            "sort": "random",
            "condition": "mint",
            "category": "no-such",
            "page": "x",
            "brand": "Zara",
        },
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"min_price", "sort", "condition", "category"}
    assert [item.brand for item in response.context["listings"]] == ["Zara"]


def test_browse_min_above_max_is_an_error(client):
    """A minimum price above the maximum is flagged and the maximum ignored."""
    ListingFactory(price=Decimal("50"))
    response = client.get(reverse("marketplace:browse"), {"min_price": "40", "max_price": "10"})
    assert "max_price" in response.context["form"].errors
    assert response.context["results"].total == 1


def test_browse_pages_by_cursor_links_without_javascript(client, settings):
    """Pages hold LISTINGS_PER_PAGE items; Next/Previous are plain links carrying a cursor."""
    settings.LISTINGS_PER_PAGE = 2
    listings = ListingFactory.create_batch(5)
    url = reverse("marketplace:browse")
    first = client.get(url, {"page": "99"})  # the old ?page= is ignored: first page
    assert [x.pk for x in first.context["listings"]] == [listings[4].pk, listings[3].pk]
    assert 'rel="next"' in first.content.decode()
    assert 'rel="prev"' not in first.content.decode()
    second = client.get(url + first.context["pages"]["next"])
    assert [x.pk for x in second.context["listings"]] == [listings[2].pk, listings[1].pk]
    back = client.get(url + second.context["pages"]["previous"])
    assert [x.pk for x in back.context["listings"]] == [listings[4].pk, listings[3].pk]
    third = client.get(url + second.context["pages"]["next"])
    assert [x.pk for x in third.context["listings"]] == [listings[0].pk]
    assert third.context["pages"]["next"] == ""


def test_browse_empty_state(client):
    """No results shows the empty state."""
    body = client.get(reverse("marketplace:browse"), {"q": "unicorn"}).content.decode()
    assert "No items match" in body


def test_category_page_includes_descendant_categories(client):
    """/c/<slug>/ shows items of the category and of every category below it."""
    women = CategoryFactory(name="Women", slug="women")
    tops = CategoryFactory(name="Tops", slug="tops", parent=women)
    tees = CategoryFactory(name="T-shirts", slug="t-shirts", parent=tops)
    men = CategoryFactory(name="Men", slug="men")
    ListingFactory(title="Tee", category=tees)
    ListingFactory(title="Blouse", category=tops)
    ListingFactory(title="Suit", category=men)
    response = client.get(reverse("marketplace:category", args=["women"]))
    assert sorted(x.title for x in response.context["listings"]) == ["Blouse", "Tee"]
    assert response.context["category"] == women
    assert client.get(reverse("marketplace:category", args=["nope"])).status_code == 404


def test_browse_htmx_request_renders_only_the_results(client):
    """An htmx request gets the results partial, not the whole page."""
    ListingFactory(title="Scarf")
    response = client.get(reverse("marketplace:browse"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "Scarf" in body
    assert "<html" not in body


# --- Listing detail ------------------------------------------------------------------------


def test_listing_detail_shows_the_item_with_og_tags_and_counts_a_view(client):
    """The detail page renders the item, Open Graph tags, canonical URL, and counts the view."""
    listing = ListingFactory(title="Suede boots", with_image=True)
    ListingImageFactory(listing=listing, position=5)
    response = client.get(listing.get_absolute_url())
    body = response.content.decode()
    assert response.status_code == 200
    assert "Suede boots" in body
    assert '<meta property="og:title" content="Suede boots">' in body
    assert f'<link rel="canonical" href="http://testserver{listing.get_absolute_url()}">' in body
    assert 'fetchpriority="high"' in body
    assert 'loading="lazy"' in body
    assert "€25.00" in body
    call_command("listing_views_flush", verbosity=0)
    listing.refresh_from_db()
    assert listing.view_count == 1


def test_listing_detail_does_not_count_the_sellers_own_views(client):
    """The seller looking at their listing doesn't inflate view_count."""
    listing = ListingFactory()
    client.force_login(listing.seller)
    client.get(listing.get_absolute_url())
    call_command("listing_views_flush", verbosity=0)
    listing.refresh_from_db()
    assert listing.view_count == 0


def test_listing_detail_wrong_slug_redirects_permanently(client):
    """A stale or wrong slug 301-redirects to the canonical URL."""
    listing = ListingFactory(title="Silk scarf")
    response = client.get(reverse("marketplace:listing", args=[listing.pk, "old-name"]))
    assert response.status_code == 301
    assert response["Location"] == listing.get_absolute_url()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"draft": True},
        {"status": Listing.Status.REMOVED},
        {"is_hidden": True},
        {"deleted_at": "2026-01-01T00:00:00Z"},
    ],
)
def test_unpublished_listings_are_404_to_others_but_shown_to_their_seller(client, kwargs):
    """Drafts, removed, hidden and deleted listings: 404 for others; the seller sees a banner."""
    listing = ListingFactory(**kwargs)
    assert client.get(listing.get_absolute_url()).status_code == 404
    client.force_login(UserFactory())
    assert client.get(listing.get_absolute_url()).status_code == 404
    client.force_login(listing.seller)
    response = client.get(listing.get_absolute_url())
    assert response.status_code == 200
    assert "only you can see it" in response.content.decode()


def test_listing_of_banned_seller_is_404(client):
    """A banned seller's listings disappear."""
    listing = ListingFactory(seller=UserFactory(is_banned=True))
    assert client.get(listing.get_absolute_url()).status_code == 404


def test_sold_listing_is_visible_without_a_buy_button(client):
    """A sold item stays viewable, marked sold, with no add-to-cart form."""
    listing = ListingFactory(sold=True)
    body = client.get(listing.get_absolute_url()).content.decode()
    assert "Sold" in body
    assert "Add to cart" not in body


# --- Favourites ----------------------------------------------------------------------------


def test_favourite_toggle_without_js_redirects_back(client, stranger):
    """A plain POST saves the item and redirects to `next`."""
    listing = ListingFactory()
    client.force_login(stranger)
    url = reverse("marketplace:favourite", args=[listing.pk])
    response = client.post(url, {"favourite": "1", "next": listing.get_absolute_url()})
    assert response.status_code == 302
    assert response["Location"] == listing.get_absolute_url()
    assert Favourite.objects.filter(user=stranger, listing=listing).exists()
    client.post(url, {"favourite": "0"})
    assert not Favourite.objects.exists()


def test_favourite_toggle_with_htmx_returns_the_button(client, stranger):
    """With htmx the response is the swapped button, now showing "Saved"."""
    listing = ListingFactory()
    client.force_login(stranger)
    response = client.post(
        reverse("marketplace:favourite", args=[listing.pk]),
        {"favourite": "1"},
        headers={"HX-Request": "true"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert 'aria-pressed="true"' in body
    assert "<html" not in body


def test_favourite_toggle_refuses_get_and_anonymous(client):
    """Only logged-in POSTs change favourites."""
    listing = ListingFactory()
    url = reverse("marketplace:favourite", args=[listing.pk])
    assert client.post(url, {"favourite": "1"}).status_code == 302  # to login
    assert not Favourite.objects.exists()
    client.force_login(UserFactory())
    assert client.get(url).status_code == 405


def test_favourite_toggle_ignores_an_external_next(client, stranger):
    """`next` pointing off-site falls back to the saved-items page."""
    listing = ListingFactory()
    client.force_login(stranger)
    response = client.post(
        reverse("marketplace:favourite", args=[listing.pk]),
        {"favourite": "1", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("marketplace:favourites")


def test_saved_items_page_lists_visible_favourites(client, stranger):
    """The saved items page shows what the shopper saved, minus items gone since."""
    kept = ListingFactory(title="Kept bag")
    gone = ListingFactory(title="Gone bag")
    Favourite.objects.create(user=stranger, listing=kept)
    Favourite.objects.create(user=stranger, listing=gone)
    gone.is_hidden = True
    gone.save(update_fields=["is_hidden"])
    client.force_login(stranger)
    body = client.get(reverse("marketplace:favourites")).content.decode()
    assert "Kept bag" in body
    assert "Gone bag" not in body


# --- Seller profile ------------------------------------------------------------------------


def test_seller_page_shows_profile_and_visible_listings(client):
    """/members/<username>/ shows the member and their visible listings only."""
    seller = UserFactory(username="mila.vintage")
    ListingFactory(seller=seller, title="Visible hat")
    ListingFactory(seller=seller, title="Draft hat", draft=True)
    response = client.get(reverse("marketplace:seller", args=["mila.vintage"]))
    body = response.content.decode()
    assert "@mila.vintage" in body
    assert "Visible hat" in body
    assert "Draft hat" not in body
    assert response.context["active_count"] == 1


def test_seller_page_of_unknown_or_banned_member_is_404(client):
    """Unknown and banned members have no public page."""
    UserFactory(username="banned.one", is_banned=True)
    assert client.get(reverse("marketplace:seller", args=["nobody"])).status_code == 404
    assert client.get(reverse("marketplace:seller", args=["banned.one"])).status_code == 404


# --- Seller tools --------------------------------------------------------------------------


def test_listing_create_page_needs_login(client):
    """Anonymous visitors are sent to log in."""
    response = client.get(reverse("marketplace:listing_create"))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def test_listing_create_publishes_with_photos(client, seller, category):
    """Posting the form with photos creates and publishes the listing."""
    client.force_login(seller)
    data = listing_post_data(category, images=[jpeg_upload("a.jpg"), jpeg_upload("b.jpg")])
    response = client.post(reverse("marketplace:listing_create"), data)
    listing = Listing.objects.get()
    assert response.status_code == 302
    assert response["Location"] == listing.get_absolute_url()
    assert listing.status == Listing.Status.ACTIVE
    assert listing.price == Decimal("19.50")
    assert listing.images.count() == 2


def test_listing_create_as_draft(client, seller, category):
    """ "Save as draft" keeps it unpublished and opens the edit page."""
    client.force_login(seller)
    data = listing_post_data(category, images=[jpeg_upload()], action="draft")
    response = client.post(reverse("marketplace:listing_create"), data)
    listing = Listing.objects.get()
    assert listing.status == Listing.Status.DRAFT
    assert response["Location"] == reverse("marketplace:listing_edit", args=[listing.pk])


def test_listing_create_names_the_bad_file_and_saves_nothing(client, seller, category, media_files):
    """A bad photo gives one clear error naming the file; nothing is stored."""
    client.force_login(seller)
    bad = SimpleUploadedFile("holiday.jpg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    data = listing_post_data(category, images=[jpeg_upload("good.jpg"), bad])
    response = client.post(reverse("marketplace:listing_create"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors["images"]
    assert len(errors) == 1
    assert "holiday.jpg" in errors[0]
    assert not Listing.objects.exists()
    assert media_files() == set()


def test_listing_create_requires_a_photo_and_a_valid_price(client, seller, category):
    """No photo and a bad price give field errors."""
    client.force_login(seller)
    response = client.post(
        reverse("marketplace:listing_create"), listing_post_data(category, price="0.10")
    )
    errors = response.context["form"].errors
    assert errors["images"] == ["Add at least one photo."]
    assert errors["price"] == ["The lowest price is 0.50."]
    response = client.post(
        reverse("marketplace:listing_create"),
        listing_post_data(category, price="12.345", images=[jpeg_upload()]),
    )
    assert response.context["form"].errors["price"] == ["Use at most 2 decimals, e.g. 12.50."]
    assert not Listing.objects.exists()


def test_listing_create_refuses_more_than_ten_photos(client, seller, category):
    """Eleven files are refused with a message."""
    client.force_login(seller)
    data = listing_post_data(category, images=[jpeg_upload(f"{n}.jpg") for n in range(11)])
    response = client.post(reverse("marketplace:listing_create"), data)
    assert "at most 10 photos" in response.context["form"].errors["images"][0]
    assert not Listing.objects.exists()


def test_listing_edit_saves_changes(client, category):
    """The seller edits the details of their listing."""
    listing = ListingFactory(with_image=True)
    client.force_login(listing.seller)
    url = reverse("marketplace:listing_edit", args=[listing.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, listing_post_data(category, title="Linen shirt, ironed"))
    assert response.status_code == 302
    listing.refresh_from_db()
    assert listing.title == "Linen shirt, ironed"
    assert listing.category == category


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("marketplace:listing_edit", []),
        ("marketplace:listing_action", ["publish"]),
        ("marketplace:listing_action", ["unpublish"]),
        ("marketplace:listing_action", ["mark_sold"]),
        ("marketplace:listing_action", ["delete"]),
        ("marketplace:listing_images_add", []),
        ("marketplace:listing_images_reorder", []),
    ],
)
def test_another_users_listing_is_404_for_every_seller_action(client, stranger, name, args):
    """Editing, publishing, deleting or changing photos of someone else's listing is a 404."""
    listing = ListingFactory(with_image=True)
    client.force_login(stranger)
    url = reverse(name, args=[listing.pk, *args])
    assert client.post(url, {"images": [jpeg_upload()]}).status_code == 404
    fresh = Listing.objects.get(pk=listing.pk)
    assert (fresh.status, fresh.deleted_at) == (Listing.Status.ACTIVE, None)
    assert fresh.images.count() == 1


def test_another_users_photo_cannot_be_removed(client, stranger):
    """Removing a photo of someone else's listing is a 404."""
    listing = ListingFactory(draft=True, with_image=True)
    client.force_login(stranger)
    image = listing.images.get()
    url = reverse("marketplace:listing_image_remove", args=[listing.pk, image.pk])
    assert client.post(url).status_code == 404
    assert ListingImage.objects.filter(pk=image.pk).exists()


def test_listing_actions_move_the_listing_through_its_life(client):
    """Unpublish, publish, mark sold, delete: each a POST that redirects to My listings."""
    listing = ListingFactory(with_image=True)
    client.force_login(listing.seller)
    for action, expected in [
        ("unpublish", Listing.Status.DRAFT),
        ("publish", Listing.Status.ACTIVE),
        ("mark_sold", Listing.Status.SOLD),
    ]:
        response = client.post(reverse("marketplace:listing_action", args=[listing.pk, action]))
        assert response["Location"] == reverse("marketplace:my_listings")
        assert Listing.objects.get(pk=listing.pk).status == expected
    client.post(reverse("marketplace:listing_action", args=[listing.pk, "delete"]))
    assert Listing.objects.get(pk=listing.pk).deleted_at is not None


def test_listing_action_shows_the_rule_that_blocked_it(client):
    """Publishing a draft without photos shows the reason as a message."""
    listing = ListingFactory(draft=True)
    client.force_login(listing.seller)
    response = client.post(
        reverse("marketplace:listing_action", args=[listing.pk, "publish"]), follow=True
    )
    assert "Add at least one photo" in response.content.decode()
    assert Listing.objects.get(pk=listing.pk).status == Listing.Status.DRAFT


def test_listing_action_needs_post(client):
    """GET on an action does nothing."""
    listing = ListingFactory()
    client.force_login(listing.seller)
    url = reverse("marketplace:listing_action", args=[listing.pk, "delete"])
    assert client.get(url).status_code == 405
    assert Listing.objects.get(pk=listing.pk).deleted_at is None


def test_edit_page_adds_reorders_and_removes_photos(client):
    """Photos can be added, put in a new order by choosing positions, and removed."""
    listing = ListingFactory(with_image=True)
    client.force_login(listing.seller)
    first = listing.images.get()
    response = client.post(
        reverse("marketplace:listing_images_add", args=[listing.pk]), {"images": [jpeg_upload()]}
    )
    assert response.status_code == 302
    second = listing.images.exclude(pk=first.pk).get()
    client.post(
        reverse("marketplace:listing_images_reorder", args=[listing.pk]),
        {f"position_{first.pk}": "2", f"position_{second.pk}": "1"},
    )
    assert list(listing.images.order_by("position").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]
    client.post(reverse("marketplace:listing_image_remove", args=[listing.pk, second.pk]))
    assert list(listing.images.values_list("pk", flat=True)) == [first.pk]
    assert listing.images.get().position == 0


def test_edit_page_add_photo_error_names_the_file(client):
    """A bad added photo is reported by name and nothing is added."""
    listing = ListingFactory(with_image=True)
    client.force_login(listing.seller)
    bad = SimpleUploadedFile("broken.png", b"\x89PNG\r\n\x1a\nnope")
    response = client.post(
        reverse("marketplace:listing_images_add", args=[listing.pk]), {"images": [bad]}
    )
    assert response.status_code == 200  # invalid forms are re-rendered with 200, as everywhere
    assert "broken.png" in response.content.decode()
    assert listing.images.count() == 1


def test_my_listings_shows_every_state_but_deleted(client, seller):
    """My listings shows drafts, active and sold items with their actions; not deleted ones."""
    ListingFactory(seller=seller, title="Draft one", draft=True)
    ListingFactory(seller=seller, title="Active one")
    ListingFactory(seller=seller, title="Sold one", sold=True)
    ListingFactory(seller=seller, title="Deleted one", deleted_at="2026-01-01T00:00:00Z")
    ListingFactory(title="Not mine")
    client.force_login(seller)
    body = client.get(reverse("marketplace:my_listings")).content.decode()
    for title in ("Draft one", "Active one", "Sold one"):
        assert title in body
    assert "Deleted one" not in body
    assert "Not mine" not in body
    assert "csrfmiddlewaretoken" in body
