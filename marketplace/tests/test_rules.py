"""The catalog's one-row rules and their query forms agree on every kind of listing."""

import pytest
from django.utils import timezone

from accounts.tests.factories import UserFactory
from marketplace.models import Listing
from marketplace.rules import listing_is_for_sale, listing_is_visible, listing_sale_problem
from marketplace.tests.factories import ListingFactory

pytestmark = pytest.mark.django_db
S = Listing.Status


def every_kind_of_listing() -> list[Listing]:
    listings = [
        ListingFactory(status=status, quantity=quantity)
        for status in S.values
        for quantity in (0, 1, 3)
    ]
    listings += [
        ListingFactory(deleted_at=timezone.now()),
        ListingFactory(status=S.SOLD, deleted_at=timezone.now()),
        ListingFactory(is_hidden=True),
        ListingFactory(seller=UserFactory(is_banned=True)),
        ListingFactory(seller=UserFactory(is_active=False)),
    ]
    return list(Listing.objects.select_related("seller").filter(pk__in=[x.pk for x in listings]))


def test_for_sale_query_and_rule_agree():
    """Listing.objects.for_sale() holds exactly the listings listing_is_for_sale accepts."""
    listings = every_kind_of_listing()
    by_rule = {listing.pk for listing in listings if listing_is_for_sale(listing)}
    assert by_rule == set(Listing.objects.for_sale().values_list("pk", flat=True))
    assert len(by_rule) == 2  # active with 1 or 3 units


def test_visible_query_and_rule_agree():
    """Listing.objects.visible() holds exactly the listings listing_is_visible accepts."""
    listings = every_kind_of_listing()
    by_rule = {listing.pk for listing in listings if listing_is_visible(listing)}
    assert by_rule == set(Listing.objects.visible().values_list("pk", flat=True))
    assert len(by_rule) == 9  # active, reserved and sold, with 0, 1 or 3 units


@pytest.mark.parametrize(
    ("kwargs", "quantity", "problem"),
    [
        ({}, 1, None),
        ({"quantity": 2}, 3, "Only 2 left."),
        ({"status": S.SOLD}, 1, "Sorry, this item was just sold."),
        ({"status": S.RESERVED, "quantity": 0}, 1, "Sorry, this item was just sold."),
        ({"status": S.DRAFT}, 1, "This item is no longer available."),
        ({"is_hidden": True}, 1, "This item is no longer available."),
    ],
)
def test_sale_problem_is_a_message_for_the_buyer(kwargs, quantity, problem):
    """Why units can't be sold, in the words the cart and checkout show."""
    assert listing_sale_problem(ListingFactory(**kwargs), quantity=quantity) == problem
