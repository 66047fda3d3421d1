"""Factories for the orders tests: the members and listings of the accounts and catalog
factories, with the prices the money tests are written against."""

from decimal import Decimal

import factory

from accounts.tests.factories import TEST_PASSWORD as PASSWORD
from accounts.tests.factories import UserFactory
from marketplace.tests.factories import ListingFactory as CatalogListingFactory
from orders.models import Address

__all__ = ["PASSWORD", "AddressFactory", "ListingFactory", "UserFactory"]


class ListingFactory(CatalogListingFactory):
    price = Decimal("20.00")
    shipping_price = Decimal("4.50")


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
