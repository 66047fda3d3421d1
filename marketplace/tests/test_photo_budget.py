"""Listing photos cost bounded time and memory: the request's pixel budget, checked from the
headers before any photo is decoded, in the form, the service and the page."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from PIL import ImageFile

from marketplace import services
from marketplace.forms import ImagesAddForm
from marketplace.models import Listing, ListingImage
from marketplace.tests.factories import ListingFactory, image_bytes
from marketplace.tests.test_views import listing_post_data

pytestmark = pytest.mark.django_db


def png_upload(name: str, size: tuple[int, int] = (800, 500)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(size=size, fmt="PNG"), "image/png")


@pytest.fixture
def budget_of_a_megapixel(settings):
    settings.IMAGE_REQUEST_PIXEL_BUDGET = 1_000_000


def test_add_photos_form_refuses_a_request_over_the_pixel_budget_before_decoding(
    budget_of_a_megapixel,
):
    """Three 0.4 MP photos against a 1 MP budget: one error naming the limit, nothing decoded."""
    files = [png_upload("a.png"), png_upload("b.png"), png_upload("c.png")]
    form = ImagesAddForm({}, MultiValueDict({"images": files}), existing=0)
    with mock.patch.object(ImageFile.ImageFile, "load") as load:
        assert not form.is_valid()
    load.assert_not_called()
    assert form.errors["images"] == [
        "These photos are too large together: at most 1 megapixels in one upload, and these "
        "have 2. Upload fewer at a time or smaller photos."
    ]


def test_add_photos_form_within_the_budget_processes_every_photo(budget_of_a_megapixel):
    """Two 0.4 MP photos fit a 1 MP budget and are re-encoded."""
    form = ImagesAddForm({}, MultiValueDict({"images": [png_upload("a.png"), png_upload("b.png")]}))
    assert form.is_valid(), form.errors
    assert [image.main.width for image in form.cleaned_data["images"]] == [800, 800]


def test_listing_images_add_refuses_uploads_over_the_budget_before_decoding(
    seller, budget_of_a_megapixel, media_files
):
    """The service, given raw uploads, applies the same budget: nothing decoded or stored."""
    listing = ListingFactory(seller=seller, with_image=True)
    before = media_files()
    files = [png_upload("a.png"), png_upload("b.png"), png_upload("c.png")]
    with (
        mock.patch.object(ImageFile.ImageFile, "load") as load,
        pytest.raises(ValidationError) as error,
    ):
        services.listing_images_add(user=seller, listing_id=listing.pk, images=files)
    load.assert_not_called()
    assert error.value.code == "request_too_many_pixels"
    assert ListingImage.objects.filter(listing=listing).count() == 1
    assert media_files() == before


def test_listing_create_page_shows_the_budget_error_and_saves_nothing(
    client, seller, category, budget_of_a_megapixel, media_files
):
    """Posting photos over the budget re-renders the form with the error; nothing is saved."""
    client.force_login(seller)
    data = listing_post_data(
        category, images=[png_upload("a.png"), png_upload("b.png"), png_upload("c.png")]
    )
    response = client.post(reverse("marketplace:listing_create"), data)
    assert response.status_code == 200
    assert "at most 1 megapixels in one upload" in response.context["form"].errors["images"][0]
    assert not Listing.objects.exists()
    assert media_files() == set()
