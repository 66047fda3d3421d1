"""Factories for the orders tests (independent of the catalog's own factories)."""

from decimal import Decimal

import factory

from accounts.models import Profile, User
from marketplace.models import Category, Listing
from orders.models import Address

PASSWORD = "pass12345!"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"shopper{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")

    @factory.post_generation
    def password(obj, create, extracted, **kwargs):
        obj.set_password(extracted or PASSWORD)
        if create:
            obj.save(update_fields=["password"])
            Profile.objects.get_or_create(user=obj)


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ("slug",)

    name = "Tops"
    slug = "tops"


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing

    seller = factory.SubFactory(UserFactory, is_seller=True)
    title = factory.Sequence(lambda n: f"Vintage jacket {n}")
    category = factory.SubFactory(CategoryFactory)
    condition = Listing.Condition.GOOD
    price = Decimal("20.00")
    shipping_price = Decimal("4.50")
    currency = "EUR"
    quantity = 1
    status = Listing.Status.ACTIVE


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    full_name = "Ada Lovelace"
    line1 = "12 Analytical Row"
    city = "London"
    postcode = "N1 9GU"
    country = "GB"
    phone = "+44 20 7946 0000"
