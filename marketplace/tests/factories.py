"""Catalog factories; other apps import them (marketplace.tests.factories.ListingFactory)."""

import io
from decimal import Decimal

import factory
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from accounts.tests.factories import UserFactory
from marketplace.models import Category, Listing, ListingImage
from marketplace.selectors import category_path_names


def image_bytes(
    *, size: tuple[int, int] = (60, 80), colour: str = "teal", fmt: str = "JPEG", **save_kwargs
) -> bytes:
    """A small, valid image file of the given format."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt, **save_kwargs)
    return buffer.getvalue()


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ListingFactory(factory.django.DjangoModelFactory):
    """An active listing for sale (quantity 1), without photos unless `with_image=True`
    (or use ListingImageFactory)."""

    class Meta:
        model = Listing
        skip_postgeneration_save = True

    seller = factory.SubFactory(UserFactory, is_seller=True)
    title = factory.Sequence(lambda n: f"Vintage denim jacket {n}")
    category = factory.SubFactory(CategoryFactory)
    # What listing_create sets (the search weighs the category path's names).
    category_names = factory.LazyAttribute(lambda o: category_path_names(o.category.pk))
    condition = Listing.Condition.GOOD
    price = Decimal("25.00")
    shipping_price = Decimal("3.90")
    currency = "EUR"
    brand = "Levi's"
    size = "M"
    colour = "Blue"
    description = "Worn a few times, no holes."
    status = Listing.Status.ACTIVE
    published_at = factory.LazyFunction(timezone.now)

    class Params:
        draft = factory.Trait(status=Listing.Status.DRAFT, published_at=None)
        sold = factory.Trait(status=Listing.Status.SOLD)

    @factory.post_generation
    def with_image(obj, create, extracted, **kwargs):
        if create and extracted:
            ListingImageFactory(listing=obj)


class ListingImageFactory(factory.django.DjangoModelFactory):
    """A stored photo (a real small JPEG file, no renditions)."""

    class Meta:
        model = ListingImage

    listing = factory.SubFactory(ListingFactory)
    image = factory.LazyFunction(lambda: ContentFile(image_bytes(), name="photo.jpg"))
    position = factory.Sequence(lambda n: n)
    variants = factory.LazyFunction(list)
