"""A seller editing a listing while units are in a buyer's checkout never inflates stock:
the quantity is locked until the held units are paid or released."""

from dataclasses import replace
from decimal import Decimal

import pytest
from django.urls import reverse

from marketplace.exceptions import ListingStateError
from marketplace.models import Listing
from marketplace.services import ListingDetails, listing_update
from orders.services.payment import checkout_mark_failed, checkout_mark_paid
from orders.tests.factories import ListingFactory, UserFactory
from orders.tests.helpers import start_checkout

pytestmark = pytest.mark.django_db


def edit(listing: Listing, **changes) -> Listing:
    details = replace(ListingDetails.of(listing), **changes)
    return listing_update(user=listing.seller, listing_id=listing.pk, details=details)


def stock(listing: Listing) -> tuple[int, int, str]:
    listing.refresh_from_db()
    return listing.quantity, listing.held_quantity, listing.status


def test_quantity_is_locked_while_units_are_held_and_release_restores_it():
    """3 units, 1 in a checkout: raising the quantity is refused, other edits are saved, and
    the expired checkout gives back exactly the held unit (3, not 3 + the raise)."""
    listing = ListingFactory(quantity=3)
    checkout = start_checkout(UserFactory(), [listing])
    assert stock(listing) == (2, 1, Listing.Status.ACTIVE)
    with pytest.raises(ListingStateError, match="1 unit is in a buyer's checkout"):
        edit(listing, quantity=5)
    edit(listing, price=Decimal("12.00"))
    checkout_mark_failed(checkout_id=checkout.pk, note="Payment page expired")
    assert stock(listing) == (3, 0, Listing.Status.ACTIVE)
    assert listing.price == Decimal("12.00")
    edit(listing, quantity=5)
    assert stock(listing) == (5, 0, Listing.Status.ACTIVE)


def test_sold_out_reserved_listing_cannot_be_edited_and_release_does_not_inflate():
    """The last unit in a checkout: the edit is refused with a clear message; after the
    decline the listing is back on sale with its one unit."""
    listing = ListingFactory(quantity=1)
    checkout = start_checkout(UserFactory(), [listing])
    assert stock(listing) == (0, 1, Listing.Status.RESERVED)
    with pytest.raises(ListingStateError, match="Someone is buying this item right now"):
        edit(listing, quantity=2)
    checkout_mark_failed(checkout_id=checkout.pk, note="Declined")
    assert stock(listing) == (1, 0, Listing.Status.ACTIVE)


def test_paid_units_stop_being_held_so_the_quantity_can_change_again():
    """Once the checkout is paid the units are sold, not held: the seller may set a new
    quantity of units on sale."""
    listing = ListingFactory(quantity=3)
    checkout = start_checkout(UserFactory(), [listing])
    checkout_mark_paid(checkout_id=checkout.pk, payment_intent_ref=checkout.gateway_ref)
    assert stock(listing) == (2, 0, Listing.Status.ACTIVE)
    edit(listing, quantity=4)
    assert stock(listing) == (4, 0, Listing.Status.ACTIVE)


def test_edit_page_explains_held_units_and_refuses_a_quantity_change(client):
    """The edit form says how many units are held, and posting a new quantity shows the
    error and changes nothing."""
    listing = ListingFactory(quantity=3)
    start_checkout(UserFactory(), [listing])
    client.force_login(listing.seller)
    url = reverse("marketplace:listing_edit", args=[listing.pk])
    page = client.get(url)
    assert "1 unit is in a buyer&#x27;s checkout right now" in page.content.decode()
    data = {
        "title": listing.title,
        "category": listing.category_id,
        "condition": listing.condition,
        "price": "10.00",
        "shipping_price": "0.00",
        "quantity": 7,
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "the quantity can&#x27;t be changed" in response.content.decode()
    assert stock(listing) == (2, 1, Listing.Status.ACTIVE)
